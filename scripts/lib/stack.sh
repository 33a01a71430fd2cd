# shellcheck shell=bash
# Whole-stack operations: the four servers ("infra"), stopping in order, leftovers, wiping, status.

INFRA=(postgres redis rabbitmq maildev)

# All managed names of a stack, in start order.
stack_names() { printf '%s\n' "${INFRA[@]}" "${SERVICES[@]}" nginx; }

# stop_named NAME: stop one managed process the way it likes to be stopped.
stop_named() {
    case $1 in
    postgres) postgres_stop ;;
    redis) redis_stop ;;
    rabbitmq) rabbitmq_stop ;;
    maildev) maildev_stop ;;
    nginx) nginx_stop ;;
    job) proc_stop job TERM group ;;
    *) proc_stop "$1" TERM ;;
    esac
}

infra_start() {
    mkdir -p "$DATA_DIR"
    chmod 755 "$ROOT/.data" "$DATA_DIR"
    # start all four, then wait for each: their start-up times overlap
    postgres_start
    redis_start
    rabbitmq_start
    maildev_start
    postgres_wait
    redis_wait
    rabbitmq_wait
    maildev_wait
}

infra_stop() {
    maildev_stop
    rabbitmq_stop
    redis_stop
    postgres_stop
    epmd_release
}

# stack_stop_all: everything of the stack that has a pid file, services before servers.
stack_stop_all() {
    stop_named job # a build or test run left by a ./dev that died
    nginx_stop
    services_stop
    infra_stop
}

# stack_any_running: some managed process of the stack runs.
stack_any_running() {
    local n
    for n in $(stack_names); do
        if proc_running "$n" >/dev/null; then return 0; fi
    done
    return 1
}

# cleanup_started: stop what this invocation started, newest first (the EXIT trap).
cleanup_started() {
    local i
    ((${#STARTED[@]})) || return 0
    log "stopping what this ./dev started in the $STACK stack"
    for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
        stop_named "${STARTED[i]}"
    done
    STARTED=()
    epmd_release
}

# stack_wipe: remove the stack's data (keeps this runner's pid file). Nothing may run.
stack_wipe() {
    local keep
    keep=$(pid_file runner)
    if [[ -d $DATA_DIR ]]; then
        log "wiping ${DATA_DIR#"$ROOT"/}"
        find "$DATA_DIR" -mindepth 1 -maxdepth 1 ! -name pids -exec rm -rf {} +
        find "$PID_DIR" -mindepth 1 ! -path "$keep" -exec rm -rf {} + 2>/dev/null || true
    fi
    rm -rf "/tmp/livestreamer-pg-$STACK-$(printf '%s' "$ROOT" | md5sum | cut -c1-8)"
    mkdir -p "$PID_DIR" "$LOG_DIR"
}

# preflight_ports NAME...: fail early (before a long build) if a port of a server that is not running
# yet is taken.
preflight_ports() {
    local n
    for n in "$@"; do
        proc_running "$n" >/dev/null && continue
        case $n in
        postgres) require_port "$PORT_PG" "PostgreSQL" ;;
        redis) require_port "$PORT_REDIS" "Redis" ;;
        rabbitmq)
            require_port "$PORT_AMQP" "RabbitMQ (AMQP)"
            require_port "$PORT_AMQP_DIST" "RabbitMQ (Erlang distribution)"
            ;;
        maildev)
            require_port "$PORT_SMTP" "maildev (SMTP)"
            require_port "$PORT_MAILWEB" "maildev (web inbox)"
            ;;
        nginx)
            require_port "$PORT_EDGE" "nginx (HTTP edge)"
            require_port "$PORT_SOURCE" "nginx (TCP pass-through for Icecast sources)"
            ;;
        stream-relay)
            require_port "$PORT_RELAY" "stream-relay"
            require_port "$PORT_RELAY_SOURCE" "stream-relay (Icecast source port)"
            ;;
        stream-relay-2)
            require_port "$PORT_RELAY_2" "stream-relay-2"
            require_port "$PORT_RELAY_2_SOURCE" "stream-relay-2 (Icecast source port)"
            ;;
        *) require_port "$(service_port "$n")" "$n" ;;
        esac
    done
}

# stack_status: one line per managed process.
stack_status() {
    local n pid runner
    printf '%s stack (%s):\n' "$STACK" "${DATA_DIR#"$ROOT"/}"
    if runner=$(proc_running runner); then
        printf '  %-20s pid %-8s %s\n' "./dev runner" "$runner" "$(tr '\0' ' ' <"/proc/$runner/cmdline" 2>/dev/null)"
    fi
    for n in $(stack_names); do
        if pid=$(proc_running "$n"); then
            printf '  %-20s pid %s\n' "$n" "$pid"
        else
            printf '  %-20s -\n' "$n"
        fi
    done
}

# The environment for tests and tools, as export lines.
stack_export_lines() {
    local line
    while IFS= read -r line; do
        printf "export %s='%s'\n" "${line%%=*}" "${line#*=}"
    done < <(stack_shared_env && stack_e2e_env)
}
