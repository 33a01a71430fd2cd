# shellcheck shell=bash
# What the benchmark scripts share: a work folder, the processes they start (stopped on exit), a
# fresh database on the "it" stack's PostgreSQL (dropped on exit), and where the release binaries
# are. Sourced, with ROOT set and the working directory at the repository's root:
#
#   bench_init NAME        WORK (a fresh folder under /tmp) and PIDS; everything is undone on exit
#   bench_database PREFIX  starts the it stack if needed (and leaves it running); ADMIN_URL, DB_NAME,
#                          DB_URL (a database of this run's own) and the stack's LIVESTREAMER_* variables
#   start NAME ENV... CMD  runs CMD with ENV in the background, output in $WORK/NAME.log, pid in
#                          LAST_PID and $WORK/NAME.pid
#   BIN                    the folder of the release binaries (absolute, CARGO_TARGET_DIR respected)
#   build_baseline PKG REV builds the release binary PKG as of REV in a git worktree (same target
#                          folder), copies it to $WORK/PKG-SHORTREV, and sets BASELINE_REV (SHORTREV)

log() { printf '==> %s\n' "$*" >&2; }

bench_init() {
    WORK=$(mktemp -d "/tmp/ls-$1.XXXXXX")
    PIDS=()
    trap bench_cleanup EXIT
}

bench_cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n ${DB_NAME:-} ]]; then
        psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}

bench_database() {
    ./dev infra up it >&2
    eval "$(./dev env it)"
    ADMIN_URL=$LIVESTREAMER_DATABASE_URL
    DB_NAME=$1_$(date +%s)_$$
    psql "$ADMIN_URL" -qc "CREATE DATABASE $DB_NAME" >/dev/null
    # shellcheck disable=SC2034 # for the script that sources this
    DB_URL=${ADMIN_URL%/*}/$DB_NAME
}

start() {
    local name=$1
    shift
    env "$@" >"$WORK/$name.log" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
    printf '%s\n' "$LAST_PID" >"$WORK/$name.pid"
}

BIN=${CARGO_TARGET_DIR:-$ROOT/target}
[[ $BIN == /* ]] || BIN=$ROOT/$BIN
BIN=$BIN/release

build_baseline() {
    local package=$1
    git worktree prune # a run that failed while building left its worktree registered
    BASELINE_REV=$(git rev-parse --short "$2^{commit}")
    log "building $package as of $BASELINE_REV (in a worktree, same target folder)"
    git worktree add -q --detach "$WORK/baseline" "$BASELINE_REV"
    (cd "$WORK/baseline" && CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target} cargo build --release -q -p "$package")
    cp "$BIN/$package" "$WORK/$package-$BASELINE_REV"
    git worktree remove --force "$WORK/baseline"
}
