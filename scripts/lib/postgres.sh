# shellcheck shell=bash
# PostgreSQL: one server per stack, data in $DATA_DIR/postgres, run as the `postgres` user (initdb and
# postgres refuse root), TCP on 127.0.0.1 only with scram passwords, unix socket inside its folder.
# After start the role livestreamer/livestreamer (SUPERUSER: tests create a database each) and the
# database livestreamer exist.

pg_bindir() {
    local d best=''
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x $d/postgres ]] || continue
        # prefer 15 (the version of Debian 12), else the highest one installed
        if [[ $d == /usr/lib/postgresql/15/bin ]]; then
            best=$d
            break
        fi
        if [[ -z $best ]] || [[ $(printf '%s\n%s\n' "$best" "$d" | sort -V | tail -n 1) == "$d" ]]; then best=$d; fi
    done
    [[ -n $best ]] || die "PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)"
    printf '%s\n' "$best"
}

_pg_root() { printf '%s\n' "$DATA_DIR/postgres"; }

# The socket path must stay under the 107-byte limit of unix socket names.
_pg_socket_dir() {
    local dir
    dir=$(_pg_root)/socket
    if ((${#dir} + 20 > 100)); then
        dir=/tmp/livestreamer-pg-$STACK-$(printf '%s' "$ROOT" | md5sum | cut -c1-8)
    fi
    printf '%s\n' "$dir"
}

# Run a command as the postgres user, in a folder it may enter.
_as_postgres() {
    (cd "$(_pg_root)" && setpriv --reuid=postgres --regid=postgres --init-groups "$@")
}

# The postgres user must be able to walk down to the data folder: add o+x to the folders on the way
# that it cannot search (only the search bit: nothing becomes readable).
_pg_make_traversable() {
    local dir d=''
    dir=$(_pg_root)
    _pg_can_search "$dir" && return 0
    local -a parts
    IFS=/ read -r -a parts <<<"${dir#/}"
    local p
    for p in "${parts[@]}"; do
        d=$d/$p
        [[ $d == "$dir" ]] && break # its own folder: owned by postgres
        if ! _pg_can_search "$d"; then
            log "chmod o+x $d (so that the postgres user can reach ${dir#"$ROOT"/})"
            chmod o+x "$d"
        fi
    done
    _pg_can_search "$dir" || die "the postgres user cannot reach $dir: check the permissions of the folders above it"
}

_pg_can_search() { setpriv --reuid=postgres --regid=postgres --init-groups test -x "$1" 2>/dev/null; }

postgres_start() {
    local pid
    if pid=$(proc_running postgres); then
        log "$STACK/postgres already runs (pid $pid) on 127.0.0.1:$PORT_PG"
        return 0
    fi
    id postgres >/dev/null 2>&1 || die "no 'postgres' user: apt-get install postgresql"
    require_port "$PORT_PG" "PostgreSQL"
    local bin root data sock
    bin=$(pg_bindir)
    root=$(_pg_root)
    data=$root/data
    sock=$(_pg_socket_dir)
    mkdir -p "$root" "$sock"
    chown postgres:postgres "$root" "$sock"
    chmod 700 "$root"
    chmod 755 "$DATA_DIR" "$ROOT/.data"
    _pg_make_traversable
    if [[ ! -s $data/PG_VERSION ]]; then
        log "initdb $STACK/postgres"
        rm -rf "$data"
        _as_postgres "$bin/initdb" -D "$data" -U postgres -E UTF8 --no-locale \
            --auth-local=peer --auth-host=scram-sha-256 >"$root/initdb.log" 2>&1 || {
            log_tail "$root/initdb.log"
            die "initdb failed for $STACK/postgres"
        }
    fi
    # A postmaster.pid left by a killed server stops the next start when its pid is reused: ours
    # is known to be gone (proc_running said so), so remove it.
    rm -f "$data/postmaster.pid"
    local -a opts=(
        -c listen_addresses=127.0.0.1 -c port="$PORT_PG" -c unix_socket_directories="$sock"
        -c max_connections=300 -c logging_collector=off
    )
    if [[ $STACK == test ]]; then
        # throwaway data: trade durability for speed
        opts+=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
    fi
    log "starting $STACK/postgres on 127.0.0.1:$PORT_PG"
    PG_JUST_STARTED=1
    # shellcheck disable=SC2016 # expanded by the inner sh
    proc_start postgres sh -c 'cd "$0" && exec setpriv --reuid=postgres --regid=postgres --init-groups "$@"' \
        "$root" "$bin/postgres" -D "$data" "${opts[@]}"
}

_pg_admin_sql() { # SQL on stdin, as the postgres superuser over the unix socket
    _as_postgres "$(pg_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h "$(_pg_socket_dir)" -p "$PORT_PG" \
        -U postgres -d postgres
}

postgres_wait() {
    local bin
    bin=$(pg_bindir)
    wait_for postgres 60 "PostgreSQL accepting connections on 127.0.0.1:$PORT_PG" \
        "$bin/pg_isready" -q -h 127.0.0.1 -p "$PORT_PG"
    _pg_admin_sql <<'SQL' >"$DATA_DIR/postgres/bootstrap.log" 2>&1 || {
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'livestreamer') THEN
        CREATE ROLE livestreamer LOGIN SUPERUSER PASSWORD 'livestreamer';
    END IF;
END
$$;
SELECT 'CREATE DATABASE livestreamer OWNER livestreamer'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'livestreamer')\gexec
SQL
        log_tail "$DATA_DIR/postgres/bootstrap.log"
        die "could not create the livestreamer role and database in $STACK/postgres"
    }
    if [[ ${PG_JUST_STARTED:-} == 1 && $STACK == it ]]; then
        _pg_drop_test_databases
    fi
}

# Each crate test makes a database of its own (test-support's fresh_database, named t + 32 hex
# digits) and leaves it: on the it stack, which outlives test runs, they piled up to gigabytes. A
# server just started serves no test yet, so they all go then.
_pg_drop_test_databases() {
    _pg_admin_sql <<'SQL' >>"$DATA_DIR/postgres/bootstrap.log" 2>&1 ||
SELECT format('DROP DATABASE %I WITH (FORCE)', datname) FROM pg_database
WHERE datname ~ '^t[0-9a-f]{32}$'\gexec
SQL
        log "warning: could not drop the old test databases of $STACK/postgres (see $DATA_DIR/postgres/bootstrap.log)"
}

postgres_stop() {
    # SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to disconnect.
    proc_stop postgres INT
}
