# shellcheck shell=bash
# The six Rust services: started from the Cargo target folder with the environment of
# docs/RUNTIME.md, ready when GET http://127.0.0.1:<port>/readyz answers 200.

# In start order (auth first: the others ask it who is who); stopped in reverse order. The test
# stacks run a second gateway replica (gateway-2, the same binary on the next port) and a second
# relay replica (stream-relay-2, the next two ports, the same Redis, RabbitMQ and recordings folder)
# behind nginx, so every e2e run proves that WebSocket rooms, presence, chat and live audio work
# across replicas.
SERVICES=(auth broadcasts-archive chat mailer stream-relay gateway)
services_init() {
    SERVICES=(auth broadcasts-archive chat mailer stream-relay gateway)
    if [[ $STACK != dev ]]; then SERVICES+=(gateway-2 stream-relay-2); fi
    # and the OTLP receiver their services export spans to: started first, stopped last
    if [[ $STACK != dev ]]; then SERVICES=(otlp-sink "${SERVICES[@]}"); fi
}

# service_binary NAME: the binary a service runs (replicas share one).
service_binary() {
    case $1 in
    otlp-sink) printf '%s\n' otlp_sink ;; # e2e/src/bin/otlp_sink.rs
    *) printf '%s\n' "${1%-2}" ;;
    esac
}

# service_port NAME: the port that answers /readyz.
service_port() {
    case $1 in
    gateway) printf '%s\n' "$PORT_GATEWAY" ;;
    gateway-2) printf '%s\n' "$PORT_GATEWAY_2" ;;
    auth) printf '%s\n' "$PORT_AUTH" ;;
    chat) printf '%s\n' "$PORT_CHAT" ;;
    broadcasts-archive) printf '%s\n' "$PORT_BROADCASTS" ;;
    stream-relay) printf '%s\n' "$PORT_RELAY" ;;
    stream-relay-2) printf '%s\n' "$PORT_RELAY_2" ;;
    mailer) printf '%s\n' "$PORT_MAILER" ;;
    otlp-sink) printf '%s\n' "$PORT_OTLP" ;;
    *) die "unknown service $1" ;;
    esac
}

# cargo_target_dir: ${CARGO_TARGET_DIR:-target}, absolute (relative paths are relative to the root).
cargo_target_dir() {
    local t=${CARGO_TARGET_DIR:-target}
    [[ $t == /* ]] || t=$ROOT/$t
    printf '%s\n' "$t"
}

# services_check_binaries PROFILE: every service binary exists in the target folder.
services_check_binaries() {
    local dir s hint=cargo\ build\ --bins missing=()
    dir=$(cargo_target_dir)/$1
    if [[ $1 == release ]]; then hint='cargo build --release --bins'; fi
    for s in "${SERVICES[@]}"; do
        [[ -x $dir/$(service_binary "$s") ]] || missing+=("$s")
    done
    ((${#missing[@]} == 0)) || die "service binaries missing in $dir: ${missing[*]} (built by: $hint)"
}

# The environment every service gets, one NAME=VALUE per line.
services_env() {
    stack_shared_env
    stack_listen_env
    printf 'RELAY_RECORDINGS_DIR=%s\n' "$DATA_DIR/recordings"
    stack_superadmin_env
    if [[ $STACK != dev ]]; then
        # The test stacks trace every request into otlp_sink, in batches a fifth of a second apart
        # (e2e/tests/tracing.rs reads them back). The dev stack exports only where the caller's
        # environment sets OTEL_EXPORTER_OTLP_ENDPOINT.
        printf 'OTLP_SINK_LISTEN=127.0.0.1:%s\n' "$PORT_OTLP"
        printf 'OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%s\nOTEL_BSP_SCHEDULE_DELAY=200\n' "$PORT_OTLP"
    fi
    printf 'RUST_LOG=%s\n' "${RUST_LOG:-info}"
}

# services_start PROFILE: start the six binaries of target/PROFILE.
services_start() {
    local profile=$1 dir s pid
    dir=$(cargo_target_dir)/$profile
    services_check_binaries "$profile"
    local -a env_words
    mapfile -t env_words < <(services_env)
    for s in "${SERVICES[@]}"; do
        if pid=$(proc_running "$s"); then
            log "$STACK/$s already runs (pid $pid)"
            continue
        fi
        require_port "$(service_port "$s")" "$s"
        if [[ $s == stream-relay ]]; then require_port "$PORT_RELAY_SOURCE" "stream-relay (Icecast source port)"; fi
        if [[ $s == stream-relay-2 ]]; then require_port "$PORT_RELAY_2_SOURCE" "stream-relay-2 (Icecast source port)"; fi
        log "starting $STACK/$s on 127.0.0.1:$(service_port "$s")"
        local -a replica_env=()
        case $s in
        gateway-2) replica_env=("GATEWAY_LISTEN=127.0.0.1:$PORT_GATEWAY_2") ;;
        stream-relay-2) replica_env=("RELAY_LISTEN=127.0.0.1:$PORT_RELAY_2" "RELAY_SOURCE_LISTEN=127.0.0.1:$PORT_RELAY_2_SOURCE") ;;
        esac
        proc_start "$s" env "${env_words[@]}" "${replica_env[@]}" "$dir/$(service_binary "$s")"
    done
}

# services_wait: every service answers GET /readyz with 200 within $READY_TIMEOUT seconds (from now).
services_wait() {
    local deadline=$((SECONDS + READY_TIMEOUT)) s url code
    log "waiting for the services to be ready (GET /readyz, up to ${READY_TIMEOUT}s; DEV_READY_TIMEOUT to change)"
    for s in "${SERVICES[@]}"; do
        url=http://127.0.0.1:$(service_port "$s")/readyz
        while :; do
            code=$(http_status "$url")
            [[ $code == 200 ]] && break
            if ! proc_running "$s" >/dev/null; then
                log_tail "$LOG_DIR/$s.log" 40
                die "$STACK/$s exited before it was ready (log: $LOG_DIR/$s.log)"
            fi
            if ((SECONDS >= deadline)); then
                log_tail "$LOG_DIR/$s.log" 40
                local body
                body=$(curl -s --max-time 3 "$url" 2>/dev/null | head -c 600 || true)
                die "$STACK/$s is not ready after ${READY_TIMEOUT}s: GET $url answers ${code/#000/nothing}${body:+: $body}" \
                    "(log: $LOG_DIR/$s.log)"
            fi
            sleep 0.25
        done
        log "$STACK/$s is ready"
    done
}

services_stop() {
    local i
    for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
        proc_stop "${SERVICES[i]}" TERM
    done
}
