# shellcheck shell=bash
# Installing what the stacks need when it is missing: Debian packages, Node.js, the npm tools of
# scripts/tools (maildev) and the web app's packages. Idempotent and quick when all is there.

# Servers and tools the stacks run, plus what the Rust build and the tests need from Debian.
APT_PACKAGES=(
    postgresql redis-server redis-tools rabbitmq-server nginx libnginx-mod-stream
    ffmpeg chromium chromium-driver libasound2-dev pkg-config
    curl iproute2 procps util-linux
)

_apt_missing() { # PACKAGE...: print the ones not installed
    local p
    for p in "$@"; do
        [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || printf '%s\n' "$p"
    done
}

# _as_root CMD...: run CMD as root (directly, or through sudo when there is one).
_as_root() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $*"
    fi
}

_APT_UPDATED=
apt_install() { # PACKAGE...: install the missing ones (apt-get update once per run)
    local -a missing
    mapfile -t missing < <(_apt_missing "$@")
    ((${#missing[@]})) || return 0
    command -v apt-get >/dev/null 2>&1 || die "missing packages (${missing[*]}) and no apt-get to install them"
    log "installing Debian packages: ${missing[*]}"
    # A policy-rc.d that says 101 keeps the packages from starting their system-wide servers
    # (a second PostgreSQL on 5432, RabbitMQ on 5672, ...): ./dev runs its own.
    local policy=/usr/sbin/policy-rc.d made_policy=
    if [[ ! -e $policy ]]; then
        _as_root sh -c "printf '#!/bin/sh\nexit 101\n' >$policy && chmod 755 $policy"
        made_policy=1
    fi
    local rc=0
    {
        if [[ -z $_APT_UPDATED ]]; then
            _as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
            _APT_UPDATED=1
        fi
        _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
    } || rc=$?
    if [[ -n $made_policy ]]; then _as_root rm -f "$policy"; fi
    ((rc == 0)) || die "apt-get failed (exit $rc) installing: ${missing[*]}"
}

install_node() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        apt_install nodejs npm
    fi
    local major
    major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
    ((major >= 20)) || warn "Node.js $(node --version 2>/dev/null || echo '?') is older than 20: maildev 3 and the web app expect 20 or later"
}

# npm_install_dir DIR: `npm ci` in DIR unless its node_modules is newer than its lock file.
npm_install_dir() {
    local dir=$1
    [[ -f $dir/package.json ]] || return 0
    local stamp=$dir/node_modules/.package-lock.json
    if [[ -f $dir/package-lock.json ]]; then
        if [[ -f $stamp && $stamp -nt $dir/package-lock.json && $stamp -nt $dir/package.json ]]; then
            return 0
        fi
        log "npm ci in ${dir#"$ROOT"/}"
        run_fg "$dir" npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed in $dir"
    else
        warn "${dir#"$ROOT"/} has no package-lock.json: running npm install (commit the lock file it writes)"
        run_fg "$dir" npm install --no-audit --no-fund --loglevel=error || die "npm install failed in $dir"
    fi
}

# install_all: everything both stacks need. Serialized between concurrent ./dev runs.
install_all() {
    mkdir -p "$ROOT/.data"
    local fd
    exec {fd}>"$ROOT/.data/.install.lock"
    flock "$fd"
    apt_install "${APT_PACKAGES[@]}"
    install_node
    npm_install_dir "$ROOT/scripts/tools"
    npm_install_dir "$ROOT/clients/web"
    exec {fd}>&-
}

# install_infra: only what the four servers need (./dev infra up).
install_infra() {
    mkdir -p "$ROOT/.data"
    local fd
    exec {fd}>"$ROOT/.data/.install.lock"
    flock "$fd"
    apt_install postgresql redis-server redis-tools rabbitmq-server curl iproute2 procps util-linux
    install_node
    npm_install_dir "$ROOT/scripts/tools"
    exec {fd}>&-
}
