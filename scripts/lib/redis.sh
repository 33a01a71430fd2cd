# shellcheck shell=bash
# Redis: one server per stack on 127.0.0.1, no persistence (sessions and counters are rebuilt).

redis_start() {
    local pid
    if pid=$(proc_running redis); then
        log "$STACK/redis already runs (pid $pid) on 127.0.0.1:$PORT_REDIS"
        return 0
    fi
    command -v redis-server >/dev/null 2>&1 || die "redis-server not found (apt-get install redis-server)"
    require_port "$PORT_REDIS" "Redis"
    local dir=$DATA_DIR/redis
    mkdir -p "$dir"
    log "starting $STACK/redis on 127.0.0.1:$PORT_REDIS"
    proc_start redis redis-server --port "$PORT_REDIS" --bind 127.0.0.1 --dir "$dir" \
        --save '' --appendonly no --daemonize no --logfile '' --databases 16
}

redis_wait() {
    wait_for redis 30 "Redis answering PING on 127.0.0.1:$PORT_REDIS" _redis_ping
}

_redis_ping() { [[ $(redis-cli -h 127.0.0.1 -p "$PORT_REDIS" ping 2>/dev/null) == PONG ]]; }

redis_stop() { proc_stop redis TERM; }
