# shellcheck shell=bash
# nginx: the local edge. HTTP on 127.0.0.1:$PORT_EDGE (relay routes, gateway API and WebSocket, the
# web app's static build) and TCP pass-through 127.0.0.1:$PORT_SOURCE -> relay source port, for
# Icecast source clients (both round-robin over the relay replicas on the test stacks). Config rendered from scripts/nginx/nginx.conf.template into
# $DATA_DIR/nginx (the prefix: config, temp folders, pid, logs).

NGINX_STREAM_MODULE=${NGINX_STREAM_MODULE:-/usr/lib/nginx/modules/ngx_stream_module.so}

_nginx_prefix() { printf '%s\n' "$DATA_DIR/nginx"; }

_sed_escape() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

# nginx_render: write $DATA_DIR/nginx/nginx.conf for this stack's ports.
nginx_render() {
    local prefix conf nofile conns user_directive='' mime=/etc/nginx/mime.types
    prefix=$(_nginx_prefix)
    conf=$prefix/nginx.conf
    mkdir -p "$prefix/logs" "$prefix/tmp"
    [[ -f $NGINX_STREAM_MODULE ]] || die "$NGINX_STREAM_MODULE not found (apt-get install libnginx-mod-stream)"
    [[ -f $mime ]] || die "$mime not found (apt-get install nginx)"
    # As root, workers would run as 'nobody' and might not reach the checkout: keep them root locally.
    if ((EUID == 0)); then user_directive='user root root;'; fi
    nofile=$(ulimit -Hn)
    if [[ $nofile == unlimited ]] || ((nofile > 20000)); then nofile=20000; fi
    conns=$((nofile / 2 - 64))
    cp "$ROOT/scripts/nginx/relay-proxy.conf" "$prefix/relay-proxy.conf"
    sed -e "s|@PREFIX@|$(_sed_escape "$prefix")|g" \
        -e "s|@WEB_ROOT@|$(_sed_escape "$ROOT/clients/web/dist")|g" \
        -e "s|@MIME_TYPES@|$(_sed_escape "$mime")|g" \
        -e "s|@STREAM_MODULE@|$(_sed_escape "$NGINX_STREAM_MODULE")|g" \
        -e "s|@USER_DIRECTIVE@|$user_directive|g" \
        -e "s|@NOFILE@|$nofile|g" \
        -e "s|@WORKER_CONNECTIONS@|$conns|g" \
        -e "s|@EDGE_PORT@|$PORT_EDGE|g" \
        -e "s|@SOURCE_PORT@|$PORT_SOURCE|g" \
        -e "s|@GATEWAY_PORT@|$PORT_GATEWAY|g" \
        -e "s|@GATEWAY_2@|$(if [[ $STACK != dev ]]; then printf 'server 127.0.0.1:%s;' "$PORT_GATEWAY_2"; fi)|g" \
        -e "s|@RELAY_PORT@|$PORT_RELAY|g" \
        -e "s|@RELAY_SOURCE_PORT@|$PORT_RELAY_SOURCE|g" \
        -e "s|@RELAY_2@|$(if [[ $STACK != dev ]]; then printf 'server 127.0.0.1:%s;' "$PORT_RELAY_2"; fi)|g" \
        -e "s|@RELAY_2_SOURCE@|$(if [[ $STACK != dev ]]; then printf 'server 127.0.0.1:%s;' "$PORT_RELAY_2_SOURCE"; fi)|g" \
        "$ROOT/scripts/nginx/nginx.conf.template" >"$conf.tmp"
    if grep -n '@[A-Z_]*@' "$conf.tmp" >&2; then die "unrendered placeholders left in $conf.tmp"; fi
    mv "$conf.tmp" "$conf"
}

# nginx_check: render and test the config (nginx -t).
nginx_check() {
    nginx_render
    local prefix out
    prefix=$(_nginx_prefix)
    if ! out=$(nginx -t -q -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" -g 'daemon off;' 2>&1); then
        printf '%s\n' "$out" >&2
        die "nginx rejects $prefix/nginx.conf"
    fi
}

nginx_start() {
    local pid
    if pid=$(proc_running nginx); then
        log "$STACK/nginx already runs (pid $pid)"
        return 0
    fi
    command -v nginx >/dev/null 2>&1 || die "nginx not found (apt-get install nginx libnginx-mod-stream)"
    require_port "$PORT_EDGE" "nginx (HTTP edge)"
    require_port "$PORT_SOURCE" "nginx (TCP pass-through for Icecast sources)"
    nginx_check
    local prefix
    prefix=$(_nginx_prefix)
    log "starting $STACK/nginx: http://127.0.0.1:$PORT_EDGE, sources on 127.0.0.1:$PORT_SOURCE"
    proc_start nginx nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" -g 'daemon off;'
}

nginx_wait() {
    wait_for nginx 20 "nginx answering on http://127.0.0.1:$PORT_EDGE/" \
        http_ok "http://127.0.0.1:$PORT_EDGE/"
}

nginx_stop() { proc_stop nginx TERM; }
