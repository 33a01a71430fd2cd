# shellcheck shell=bash
# RabbitMQ 3.10: one node per stack (ls-dev@localhost, ls-test@localhost), AMQP and Erlang
# distribution on 127.0.0.1 only, data and logs in $DATA_DIR/rabbitmq, its own HOME there (so the
# Erlang cookie of the node and of rabbitmqctl always match, and the two stacks never share one).
# The guest user (default) may connect from loopback. Both stacks share one epmd (port 4369),
# started here with a known pid and stopped only when no node is registered with it any more.

RABBITMQ_BIN=/usr/lib/rabbitmq/bin
export ERL_EPMD_ADDRESS=127.0.0.1

_rmq_dir() { printf '%s\n' "$DATA_DIR/rabbitmq"; }

# The environment of the node and of rabbitmqctl for this stack, as NAME=VALUE words for env(1).
_rmq_env() {
    local dir
    dir=$(_rmq_dir)
    printf '%s\n' \
        "HOME=$dir/home" \
        "RABBITMQ_NODENAME=$RMQ_NODE" \
        "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1" \
        "RABBITMQ_NODE_PORT=$PORT_AMQP" \
        "RABBITMQ_DIST_PORT=$PORT_AMQP_DIST" \
        "RABBITMQ_MNESIA_BASE=$dir/mnesia" \
        "RABBITMQ_LOG_BASE=$dir/log" \
        "RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf" \
        "RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config" \
        "RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins" \
        "RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf" \
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false" \
        "RABBITMQ_CTL_ERL_ARGS=-start_epmd false" \
        "ERL_EPMD_ADDRESS=127.0.0.1"
}

# rmqctl ARGS...: rabbitmqctl aimed at this stack's node, with this stack's cookie.
rmqctl() {
    local -a e
    mapfile -t e < <(_rmq_env)
    env -u RABBITMQ_NODENAME "${e[@]}" "$RABBITMQ_BIN/rabbitmqctl" -n "$RMQ_NODE" "$@"
}

# --- epmd, shared by both stacks ---------------------------------------------------------------------

# epmd's pid file and log are outside the stacks' folders: ./dev test wipes .data/test while
# ./dev up may use the same epmd. These run proc_* with the folders (and STARTED) swapped.
_epmd_start() {
    local PID_DIR=$ROOT/.data LOG_DIR=$ROOT/.data STACK=shared STARTED=()
    proc_start epmd epmd -address 127.0.0.1
}
_epmd_running_pid() {
    local PID_DIR=$ROOT/.data
    proc_running epmd
}
_epmd_stop() {
    local PID_DIR=$ROOT/.data STACK=shared
    proc_stop epmd TERM
}

_epmd_running() { epmd -names >/dev/null 2>&1; }

# epmd_ensure: make sure an epmd runs. Call with the epmd lock held (_epmd_lock).
epmd_ensure() {
    _epmd_running && return 0
    command -v epmd >/dev/null 2>&1 || die "epmd not found (it comes with rabbitmq-server's Erlang)"
    log "starting epmd (Erlang port mapper, shared by both stacks) on 127.0.0.1:4369"
    _epmd_start
    local i
    for ((i = 0; i < 50; i++)); do
        _epmd_running && return 0
        sleep 0.1
    done
    log_tail "$ROOT/.data/epmd.log"
    die "epmd did not start"
}

# _epmd_lock / _epmd_unlock: serialize epmd's start and stop with the start of the nodes, between
# concurrent ./dev runs (a node that is booting is not registered with epmd yet).
_epmd_lock() {
    mkdir -p "$ROOT/.data"
    exec {_EPMD_LOCK_FD}>"$ROOT/.data/.epmd.lock"
    flock "$_EPMD_LOCK_FD"
}
_epmd_unlock() { exec {_EPMD_LOCK_FD}>&-; }

# epmd_release: stop the epmd started by ./dev once no Erlang node is registered with it and no
# RabbitMQ of either stack of this checkout runs (or boots).
epmd_release() {
    local pid s
    [[ -d $ROOT/.data ]] || return 0
    _epmd_lock
    if pid=$(_epmd_running_pid); then
        local users=''
        users=$(epmd -names 2>/dev/null | sed -n 's/^name \([^ ]*\) .*/\1/p' | tr '\n' ' ')
        for s in dev test; do
            if PID_DIR=$ROOT/.data/$s/pids proc_running rabbitmq >/dev/null; then users+="$s/rabbitmq "; fi
        done
        if [[ -n $users ]]; then
            log "epmd (pid $pid) still serves: $users"
        else
            _epmd_stop
        fi
    fi
    _epmd_unlock
}

# --- the node --------------------------------------------------------------------------------------

rabbitmq_start() {
    local pid
    if pid=$(proc_running rabbitmq); then
        log "$STACK/rabbitmq already runs (pid $pid) on 127.0.0.1:$PORT_AMQP (node $RMQ_NODE)"
        return 0
    fi
    [[ -x $RABBITMQ_BIN/rabbitmq-server ]] || die "RabbitMQ not found in $RABBITMQ_BIN (apt-get install rabbitmq-server)"
    require_port "$PORT_AMQP" "RabbitMQ (AMQP)"
    require_port "$PORT_AMQP_DIST" "RabbitMQ (Erlang distribution)"
    if epmd -names 2>/dev/null | grep -q "^name ls-$STACK at "; then
        die "an Erlang node named $RMQ_NODE is registered with epmd but ./dev has no record of it:" \
            "a leftover RabbitMQ of the $STACK stack? (epmd -names; stop it by its pid)"
    fi
    local dir
    dir=$(_rmq_dir)
    mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
    chmod 700 "$dir/home"
    printf '[].\n' >"$dir/enabled_plugins" # no plugins: no management UI, no extra listeners
    printf '[].\n' >"$dir/advanced.config"
    : >"$dir/rabbitmq-env.conf" # instead of /etc/rabbitmq/rabbitmq-env.conf
    cat >"$dir/rabbitmq.conf" <<EOF
# written by ./dev (scripts/lib/rabbitmq.sh)
listeners.tcp.default = 127.0.0.1:$PORT_AMQP
listeners.ssl = none
loopback_users.guest = true
disk_free_limit.absolute = 50MB
log.console = true
log.console.level = info
log.file = false
EOF
    local -a e
    mapfile -t e < <(_rmq_env)
    _epmd_lock
    epmd_ensure
    log "starting $STACK/rabbitmq on 127.0.0.1:$PORT_AMQP (node $RMQ_NODE)"
    # The server script stays the parent of the Erlang VM and turns TERM into a clean stop.
    proc_start rabbitmq env -u RABBITMQ_NODENAME "${e[@]}" "$RABBITMQ_BIN/rabbitmq-server"
    _epmd_unlock
}

rabbitmq_wait() {
    wait_for rabbitmq 90 "RabbitMQ node $RMQ_NODE booted (rabbitmqctl await_startup)" \
        rmqctl await_startup --timeout 30
}

rabbitmq_stop() {
    proc_stop rabbitmq TERM
}
