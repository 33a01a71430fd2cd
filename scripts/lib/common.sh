# shellcheck shell=bash
# Shared helpers for ./dev: logging, the two stacks (ports, folders), process management by pid file,
# port checks and waiting. Sourced by ./dev; expects ROOT to be set to the repository root.

STOP_TIMEOUT=${DEV_STOP_TIMEOUT:-10}    # seconds between TERM and KILL
READY_TIMEOUT=${DEV_READY_TIMEOUT:-120} # seconds a service may take to answer /readyz with 200
STARTED=()                              # names started by this invocation, in start order
FG_PID=                                 # long foreground job (build, test), killed on interrupt

# --- logging ---------------------------------------------------------------------------------------

if [[ -t 2 ]]; then
    _C_BOLD=$'\e[1m' _C_RED=$'\e[31m' _C_YELLOW=$'\e[33m' _C_BLUE=$'\e[34m' _C_OFF=$'\e[0m'
else
    _C_BOLD='' _C_RED='' _C_YELLOW='' _C_BLUE='' _C_OFF=''
fi

log() { printf '%s==>%s %s\n' "$_C_BLUE" "$_C_OFF" "$*" >&2; }
warn() { printf '%swarning:%s %s\n' "$_C_YELLOW" "$_C_OFF" "$*" >&2; }
die() {
    printf '%serror:%s %s\n' "$_C_RED" "$_C_OFF" "$*" >&2
    exit 1
}

# Print the last lines of a log file, indented, to stderr.
log_tail() { # FILE [LINES]
    local file=$1 lines=${2:-30}
    if [[ -s $file ]]; then
        printf '%s--- last %s lines of %s ---%s\n' "$_C_BOLD" "$lines" "$file" "$_C_OFF" >&2
        tail -n "$lines" "$file" | sed 's/^/    /' >&2
        printf '%s---%s\n' "$_C_BOLD" "$_C_OFF" >&2
    else
        printf '    (%s is empty or missing)\n' "$file" >&2
    fi
}

# --- stacks ----------------------------------------------------------------------------------------

# stack_init dev|test|it: set the globals that name the stack's folders and ports (docs/RUNTIME.md).
stack_init() {
    case ${1:-} in
    dev | test | it) ;;
    *) die "unknown stack '${1:-}': expected 'dev', 'test' or 'it'" ;;
    esac
    STACK=$1
    DATA_DIR=$ROOT/.data/$STACK
    PID_DIR=$DATA_DIR/pids
    LOG_DIR=$DATA_DIR/logs
    RMQ_NODE=ls-$STACK@localhost
    local o=0 # offset of the stack's ports
    case $STACK in
    test)
        o=10000
        PUBLIC_URL=http://127.0.0.1:18080
        ;;
    it)
        # servers only, for developers' crate tests while ./dev test runs (docs/RUNTIME.md)
        o=20000
        PUBLIC_URL=http://127.0.0.1:28080
        ;;
    *) PUBLIC_URL=http://localhost:8080 ;;
    esac
    PORT_EDGE=$((8080 + o))
    PORT_SOURCE=$((8000 + o))
    PORT_GATEWAY=$((8100 + o))
    PORT_GATEWAY_2=$((8101 + o))
    PORT_AUTH=$((8110 + o))
    PORT_CHAT=$((8120 + o))
    PORT_BROADCASTS=$((8130 + o))
    PORT_RELAY=$((8140 + o))
    PORT_RELAY_SOURCE=$((8141 + o))
    PORT_RELAY_2=$((8142 + o))
    PORT_RELAY_2_SOURCE=$((8143 + o))
    PORT_MAILER=$((8150 + o))
    # the servers' ports differ by 100 between the stacks, not 10000
    o=$((o / 100))
    PORT_PG=$((25432 + o))
    PORT_REDIS=$((26379 + o))
    PORT_AMQP=$((25672 + o))
    PORT_AMQP_DIST=$((25673 + o))
    PORT_SMTP=$((1025 + o))
    PORT_MAILWEB=$((1080 + o))
    PORT_OTLP=$((4317 + o)) # the test stacks' OTLP receiver (otlp_sink)
    if declare -F services_init >/dev/null; then services_init; fi
}

# The shared settings every service reads (LIVESTREAMER_*), one NAME=VALUE per line.
stack_shared_env() {
    cat <<EOF
LIVESTREAMER_DATABASE_URL=postgres://livestreamer:livestreamer@127.0.0.1:$PORT_PG/livestreamer
LIVESTREAMER_REDIS_URL=redis://127.0.0.1:$PORT_REDIS/
LIVESTREAMER_AMQP_URL=amqp://guest:guest@127.0.0.1:$PORT_AMQP/%2f
LIVESTREAMER_SMTP_HOST=127.0.0.1
LIVESTREAMER_SMTP_PORT=$PORT_SMTP
LIVESTREAMER_PUBLIC_URL=$PUBLIC_URL
LIVESTREAMER_AUTH_URL=http://127.0.0.1:$PORT_AUTH
LIVESTREAMER_CHAT_URL=http://127.0.0.1:$PORT_CHAT
LIVESTREAMER_BROADCASTS_URL=http://127.0.0.1:$PORT_BROADCASTS
EOF
}

# Each service's listen address (<PREFIX>_LISTEN), one NAME=VALUE per line.
stack_listen_env() {
    cat <<EOF
GATEWAY_LISTEN=127.0.0.1:$PORT_GATEWAY
AUTH_LISTEN=127.0.0.1:$PORT_AUTH
CHAT_LISTEN=127.0.0.1:$PORT_CHAT
BROADCASTS_LISTEN=127.0.0.1:$PORT_BROADCASTS
RELAY_LISTEN=127.0.0.1:$PORT_RELAY
RELAY_SOURCE_LISTEN=127.0.0.1:$PORT_RELAY_SOURCE
MAILER_LISTEN=127.0.0.1:$PORT_MAILER
EOF
}

# What tests read to reach the running stack from outside (e2e/), one NAME=VALUE per line.
stack_e2e_env() {
    cat <<EOF
E2E_BASE_URL=http://127.0.0.1:$PORT_EDGE
E2E_SOURCE_ADDR=127.0.0.1:$PORT_SOURCE
E2E_MAILDEV_URL=http://127.0.0.1:$PORT_MAILWEB
E2E_GATEWAY_URLS=$(gateway_urls)
E2E_RELAY_URLS=$(relay_urls)
EOF
    if [[ $STACK != dev ]]; then
        printf 'E2E_SUPERADMIN_USERNAME=%s\nE2E_SUPERADMIN_PASSWORD=%s\n' "$TEST_SUPERADMIN_USERNAME" "$TEST_SUPERADMIN_PASSWORD"
        printf 'E2E_OTLP_SINK_URL=http://127.0.0.1:%s\n' "$PORT_OTLP"
    fi
}

# gateway_urls: the gateway replicas' own addresses, comma-separated (for tests that pin a replica).
gateway_urls() {
    if [[ $STACK == dev ]]; then
        printf 'http://127.0.0.1:%s' "$PORT_GATEWAY"
    else
        printf 'http://127.0.0.1:%s,http://127.0.0.1:%s' "$PORT_GATEWAY" "$PORT_GATEWAY_2"
    fi
}

# relay_urls: the stream-relay replicas' own HTTP addresses, comma-separated (for tests that pin a
# replica).
relay_urls() {
    if [[ $STACK == dev ]]; then
        printf 'http://127.0.0.1:%s' "$PORT_RELAY"
    else
        printf 'http://127.0.0.1:%s,http://127.0.0.1:%s' "$PORT_RELAY" "$PORT_RELAY_2"
    fi
}

# The superadmin that auth creates at its first start: fixed for the test stacks (the e2e suite signs
# in with it); on the dev stack only when AUTH_SUPERADMIN_* are set in ./dev up's environment.
TEST_SUPERADMIN_USERNAME=superadmin
TEST_SUPERADMIN_PASSWORD='test stack superadmin'
stack_superadmin_env() {
    if [[ $STACK != dev ]]; then
        printf 'AUTH_SUPERADMIN_USERNAME=%s\n' "$TEST_SUPERADMIN_USERNAME"
        printf 'AUTH_SUPERADMIN_EMAIL=%s\n' "superadmin@livestreamer.test"
        printf 'AUTH_SUPERADMIN_PASSWORD=%s\n' "$TEST_SUPERADMIN_PASSWORD"
    else
        local name
        for name in AUTH_SUPERADMIN_USERNAME AUTH_SUPERADMIN_EMAIL AUTH_SUPERADMIN_PASSWORD; do
            if [[ -n ${!name:-} ]]; then printf '%s=%s\n' "$name" "${!name}"; fi
        done
    fi
}

# --- processes -------------------------------------------------------------------------------------
# Every background process is started in a session of its own (setsid: a Ctrl-C in the terminal
# reaches only ./dev, which then stops its processes in order) and recorded in $PID_DIR/NAME.pid:
# line 1 the pid, line 2 its start time (field 22 of /proc/PID/stat), so that a pid reused by an
# unrelated process after a crash or reboot is never signalled.

# The runner's pid file and lock are machine-wide (a stack's ports are): a ./dev test of another
# checkout waits for this one instead of failing on its ports.
pid_file() {
    if [[ $1 == runner ]]; then
        printf '/tmp/livestreamer-%s-runner.pid' "$STACK"
    else
        printf '%s/%s.pid' "$PID_DIR" "$1"
    fi
}

_write_pid_file() { # FILE PID STARTTIME (atomically: readers never see half a file)
    printf '%s\n%s\n' "$2" "$3" >"$1.tmp.$$"
    mv -f "$1.tmp.$$" "$1"
}

# Fields of /proc/PID/stat from field 3 (state) on: the command name (field 2) may hold spaces.
_proc_stat_fields() { # PID
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    printf '%s\n' "${stat##*) }"
}

proc_starttime() { # PID
    local -a f
    read -r -a f <<<"$(_proc_stat_fields "$1")" || true
    [[ -n ${f[19]:-} ]] || return 1
    printf '%s\n' "${f[19]}"
}

# pid_alive PID [STARTTIME]: the process exists, is not a zombie and (if given) started at STARTTIME.
pid_alive() {
    local pid=${1:-} want=${2:-}
    local -a f
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    read -r -a f <<<"$(_proc_stat_fields "$pid")" || true
    [[ -n ${f[0]:-} && ${f[0]} != Z && ${f[0]} != X ]] || return 1
    [[ -z $want || ${f[19]:-} == "$want" ]]
}

# proc_running NAME: print the pid of the managed process NAME if it runs; else remove a stale pid
# file and fail.
proc_running() {
    local f pid='' start=''
    f=$(pid_file "$1")
    [[ -f $f ]] || return 1
    { read -r pid && read -r start; } <"$f" || true
    if pid_alive "$pid" "$start"; then
        printf '%s\n' "$pid"
        return 0
    fi
    rm -f "$f"
    return 1
}

# proc_start NAME CMD...: start CMD in the background, output to $LOG_DIR/NAME.log (the previous
# log is kept as NAME.log.1), pid in $PID_DIR/NAME.pid.
proc_start() {
    local name=$1 pidf log pid start i
    shift
    pidf=$(pid_file "$name")
    log=$LOG_DIR/$name.log
    mkdir -p "$PID_DIR" "$LOG_DIR"
    rm -f "$pidf" "$pidf.tmp"
    [[ -f $log ]] && mv -f "$log" "$log.1"
    # Passwords in URLs (user:password@host) are masked: logs hold no secret.
    printf '=== %s: ./dev starts %s:%s\n' "$(date '+%F %T')" "$name" "$(printf ' %q' "$@")" |
        sed -E 's#(://[^:/@ ]+:)[^@ ]+@#\1***@#g' >"$log"
    # The wrapper closes inherited descriptors (lock files of ./dev), writes its own pid, then execs the
    # command: the pid is the command's, whatever forks setsid had to do.
    # shellcheck disable=SC2016
    setsid bash -c 'for fd in /proc/$$/fd/*; do fd=${fd##*/}; if ((fd > 2)); then eval "exec $fd>&-"; fi; done
        echo "$$" >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$pidf" "$@" </dev/null >>"$log" 2>&1 &
    disown "$!" # no "Killed" job notices from bash: these processes are tracked by pid file
    for ((i = 0; i < 200; i++)); do
        [[ -s $pidf ]] && break
        sleep 0.05
    done
    [[ -s $pidf ]] || {
        log_tail "$log"
        die "could not start $name"
    }
    read -r pid <"$pidf"
    if ! start=$(proc_starttime "$pid"); then
        log_tail "$log"
        die "$name exited as soon as it started"
    fi
    _write_pid_file "$pidf" "$pid" "$start"
    STARTED+=("$name")
}

# proc_stop NAME [SIGNAL [group]]: send SIGNAL (default TERM) to NAME (to its whole process group
# with 'group'), wait up to $STOP_TIMEOUT seconds, then KILL its process group. No-op if NAME does
# not run.
proc_stop() {
    local name=$1 sig=${2:-TERM} group=${3:-} f pid start='' pgid i
    f=$(pid_file "$name")
    pid=$(proc_running "$name") || return 0
    { read -r _ && read -r start; } <"$f" || true
    log "stopping $STACK/$name (pid $pid)"
    if [[ -n $group && $(_proc_pgid "$pid") == "$pid" ]]; then
        kill -s "$sig" -- "-$pid" 2>/dev/null || true
    else
        kill -s "$sig" "$pid" 2>/dev/null || true
    fi
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
        pid_alive "$pid" "$start" || break
        sleep 0.1
    done
    if pid_alive "$pid" "$start"; then
        warn "$name (pid $pid) still runs ${STOP_TIMEOUT}s after SIG$sig: killing it"
        pgid=$(_proc_pgid "$pid")
        if [[ $pgid == "$pid" ]]; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            pid_alive "$pid" "$start" || break
            sleep 0.1
        done
    fi
    # Children left in its process group (the group id cannot be reused while they live).
    if _group_alive "$pid"; then
        kill -TERM -- "-$pid" 2>/dev/null || true
        for ((i = 0; i < 20; i++)); do
            _group_alive "$pid" || break
            sleep 0.1
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$f"
}

# _group_alive PGID: a live (not zombie) process is in process group PGID.
_group_alive() {
    local p
    for p in $(pgrep -g "$1" 2>/dev/null); do
        if pid_alive "$p"; then return 0; fi
    done
    return 1
}

_proc_pgid() { # PID
    local -a f
    read -r -a f <<<"$(_proc_stat_fields "$1")" || true
    printf '%s\n' "${f[2]:-}"
}

# run_fg DIR CMD...: run a long command (build, tests) in DIR so that an interrupt of ./dev stops it at
# once: it runs in a session of its own, and the trap of ./dev (kill_fg) kills its process group.
# Its pid is also kept in $PID_DIR/job.pid, so that ./dev down stops it after a crash of ./dev.
run_fg() {
    local dir=$1 rc=0 jobf
    shift
    # shellcheck disable=SC2016 # expanded by the inner sh
    setsid -w sh -c 'cd "$0" && exec "$@"' "$dir" "$@" &
    FG_PID=$!
    jobf=$(pid_file job)
    mkdir -p "$PID_DIR"
    _write_pid_file "$jobf" "$FG_PID" "$(proc_starttime "$FG_PID" || true)"
    wait "$FG_PID" || rc=$?
    FG_PID=
    rm -f "$jobf"
    return "$rc"
}

kill_fg() {
    [[ -n $FG_PID ]] || return 0
    if pid_alive "$FG_PID"; then
        kill -TERM -- "-$FG_PID" 2>/dev/null || kill -TERM "$FG_PID" 2>/dev/null || true
        local i
        for ((i = 0; i < 50; i++)); do
            pid_alive "$FG_PID" || break
            sleep 0.1
        done
        kill -KILL -- "-$FG_PID" 2>/dev/null || true
    fi
    FG_PID=
}

# --- the runner: the ./dev up or ./dev test shell that owns a stack ---------------------------------

# runner_claim: record this shell as the stack's runner; fail (printing the other pid) if one runs.
runner_claim() {
    local lock=/tmp/livestreamer-$STACK.lock queue=/tmp/livestreamer-$STACK.queue pid first=''
    mkdir -p "$PID_DIR"
    exec {_lock_fd}>"$lock"
    flock "$_lock_fd"
    # Waiters take turns in arrival order (flock alone lets a newcomer overtake): keep the live
    # waiters in the queue file, this one included, and let only the first claim a free stack.
    touch "$queue"
    grep -qx "$$" "$queue" || printf '%s\n' "$$" >>"$queue"
    local -a waiting=()
    while read -r pid; do
        if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then waiting+=("$pid"); fi
    done <"$queue"
    printf '%s\n' "${waiting[@]}" >"$queue"
    first=${waiting[0]}
    if pid=$(proc_running runner) || { pid=$first && [[ $first != "$$" ]]; }; then
        exec {_lock_fd}>&-
        printf '%s\n' "$pid"
        return 1
    fi
    grep -vx "$$" "$queue" >"$queue.tmp" || true
    mv -f "$queue.tmp" "$queue"
    _write_pid_file "$(pid_file runner)" "$$" "$(proc_starttime "$$")"
    exec {_lock_fd}>&-
}

runner_release() {
    local pid
    if pid=$(proc_running runner) && [[ $pid == "$$" ]]; then rm -f "$(pid_file runner)"; fi
}

# --- ports -----------------------------------------------------------------------------------------

# port_free PORT: nothing listens on TCP PORT (any address).
port_free() {
    if command -v ss >/dev/null 2>&1; then
        [[ -z $(ss -Htln "sport = :$1" 2>/dev/null) ]]
    else
        ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# require_port PORT WHAT: fail with a clear message if PORT is taken.
require_port() {
    local port=$1 what=$2 who=''
    port_free "$port" && return 0
    if command -v ss >/dev/null 2>&1; then
        who=$(ss -Htlnp "sport = :$port" 2>/dev/null |
            sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/\1 (pid \2)/p' | head -n 1)
    fi
    die "port $port (needed by $what of the $STACK stack) is already in use${who:+ by $who}." \
        "Stop whatever holds it (if it is a leftover of ./dev: ./dev down $STACK)."
}

# --- waiting ---------------------------------------------------------------------------------------

# wait_for NAME TIMEOUT WHAT CMD...: run CMD until it succeeds, while the managed process NAME stays
# alive; on its death or on timeout, fail with the tail of NAME's log.
wait_for() {
    local name=$1 timeout=$2 what=$3 deadline
    shift 3
    deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        if ! proc_running "$name" >/dev/null; then
            log_tail "$LOG_DIR/$name.log" 40
            die "$STACK/$name exited while waiting for $what (log: $LOG_DIR/$name.log)"
        fi
        if ((SECONDS >= deadline)); then
            log_tail "$LOG_DIR/$name.log" 40
            die "$STACK/$name: $what not reached after ${timeout}s (log: $LOG_DIR/$name.log)"
        fi
        sleep 0.25
    done
}

# http_status URL: print the HTTP status code of a GET (000 when nothing answers).
http_status() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$1" 2>/dev/null || true
}

http_ok() { [[ $(http_status "$1") == 200 ]]; }
