#!/usr/bin/env bash
# Benchmark of issue 6: chat fan-out to N WebSocket clients in one room, LiveStreamer against a Node.js
# `ws` hub written the way the original did it, side by side in one run (BENCHMARKS.md has the figures).
#
#   e2e/bench/run-chat-bench.sh [CLIENTS] [RATE] [SECONDS]     # default 1000 10 30
#
# Environment: WS_VIA=direct (default: half the sockets on each gateway replica) or edge (through
# nginx); CONNECT_RATE (sockets opened per second, 500); PER_PROCESS (sockets per load-generator
# process, 2500); SOURCES (127.0.0.x source addresses, 4); SETTLE_MAX (s, 300); ONLY=ours|node;
# NODE_HUB_PRESENCE=full (the Node hub tells the room of every join, as the original) or list;
# FLOOR=1 also runs the floor hub (e2e/src/bin/floor_hub.rs, on 29491: one write per socket per message
# and nothing else, what a delivery costs at the least) in the same run, after the Node hub, with
# FLOOR_WRITERS writer threads (1); BASELINE=REV also runs two gateway replicas built as of REV (in a
# git worktree) on 29402 and 29403, as a hub of their own after ours: a change measured beside what it
# changed, in one run (their messages are posted through the same edge and current gateways, so only
# the fan-out differs).
#
# What it starts, and stops again on exit: release builds of auth, broadcasts-archive, chat, mailer and
# two gateway replicas on ports 294xx, an nginx edge on 29480 (REST, and /ws/ for WS_VIA=edge), and the
# Node hub (e2e/bench/node-hub, `npm ci` when needed) on 29490. It uses the "it" stack's PostgreSQL,
# Redis, RabbitMQ and maildev (`./dev infra up it`, started if needed and left running), a fresh
# database, a Redis key prefix, an exchange and a mail queue of its own, so it never touches the dev
# or test stacks that other work may be running. The load generator is `chat_bench` (e2e/src/bin).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"
CLIENTS=${1:-1000}
RATE=${2:-10}
DURATION=${3:-30}
WS_VIA=${WS_VIA:-direct}
CONNECT_RATE=${CONNECT_RATE:-500}
PER_PROCESS=${PER_PROCESS:-2500}
SOURCES=${SOURCES:-4}
SETTLE_MAX=${SETTLE_MAX:-300}
ONLY=${ONLY:-both}
FLOOR=${FLOOR:-0}
FLOOR_WRITERS=${FLOOR_WRITERS:-1}
# shellcheck source=e2e/bench/lib.sh
source e2e/bench/lib.sh
bench_init chat-bench
EDGE=http://127.0.0.1:29480
NODE_URL=http://127.0.0.1:29490

for port in 29400 29401 29402 29403 29410 29420 29430 29450 29480 29490 29491; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "port $port is taken: is another run-chat-bench.sh running?" >&2
        exit 1
    fi
done
command -v node >/dev/null || { echo "node is needed for the reference hub" >&2; exit 1; }
if [[ ! -d e2e/bench/node-hub/node_modules/ws ]]; then
    log "npm ci in e2e/bench/node-hub"
    (cd e2e/bench/node-hub && npm ci --no-audit --no-fund --silent)
fi

bench_database chatbench

if [[ -n ${BASELINE:-} ]]; then build_baseline gateway "$BASELINE"; fi
log "building release binaries (auth, broadcasts-archive, chat, mailer, gateway, chat_bench, floor_hub)"
cargo build --release -q -p auth -p broadcasts-archive -p chat -p mailer -p gateway
cargo build --release -q -p e2e --bin chat_bench --bin floor_hub
common_env=(LIVESTREAMER_DATABASE_URL="$DB_URL" LIVESTREAMER_REDIS_PREFIX="chatbench$$:"
    LIVESTREAMER_AMQP_EXCHANGE="chatbench$$" LIVESTREAMER_PUBLIC_URL="$EDGE"
    LIVESTREAMER_AUTH_URL=http://127.0.0.1:29410 LIVESTREAMER_CHAT_URL=http://127.0.0.1:29420
    LIVESTREAMER_BROADCASTS_URL=http://127.0.0.1:29430 RUST_LOG=warn)
start auth "${common_env[@]}" AUTH_LISTEN=127.0.0.1:29410 "$BIN/auth"
start broadcasts-archive "${common_env[@]}" BROADCASTS_LISTEN=127.0.0.1:29430 "$BIN/broadcasts-archive"
start chat "${common_env[@]}" CHAT_LISTEN=127.0.0.1:29420 "$BIN/chat"
start mailer "${common_env[@]}" MAILER_LISTEN=127.0.0.1:29450 MAILER_QUEUE="chatbench$$.mail" "$BIN/mailer"
start gateway "${common_env[@]}" GATEWAY_LISTEN=127.0.0.1:29400 "$BIN/gateway"
start gateway-2 "${common_env[@]}" GATEWAY_LISTEN=127.0.0.1:29401 "$BIN/gateway"
gateway_ports=(29400 29401)
baseline=()
if [[ -n ${BASELINE:-} ]]; then
    start gateway-base-1 "${common_env[@]}" GATEWAY_LISTEN=127.0.0.1:29402 "$WORK/gateway-$BASELINE_REV"
    start gateway-base-2 "${common_env[@]}" GATEWAY_LISTEN=127.0.0.1:29403 "$WORK/gateway-$BASELINE_REV"
    gateway_ports+=(29402 29403)
    # shellcheck disable=SC2054 # the commas are in the URL list, one argument
    baseline=(--baseline-name "LiveStreamer at $BASELINE_REV"
        --baseline-ws http://127.0.0.1:29402,http://127.0.0.1:29403
        --baseline-pids "$(cat "$WORK/gateway-base-1.pid"),$(cat "$WORK/gateway-base-2.pid")")
fi

mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
user_directive=
if ((EUID == 0)); then user_directive='user root root;'; fi
cat >"$WORK/nginx/nginx.conf" <<CONF
$user_directive
worker_processes 2;
worker_rlimit_nofile 20000;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 9900; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/tmp;
    proxy_temp_path $WORK/nginx/tmp;
    fastcgi_temp_path $WORK/nginx/tmp;
    uwsgi_temp_path $WORK/nginx/tmp;
    scgi_temp_path $WORK/nginx/tmp;
    map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
    upstream gateway { server 127.0.0.1:29400; server 127.0.0.1:29401; keepalive 64; }
    server {
        listen 127.0.0.1:29480 reuseport;
        location /api/ {
            proxy_pass http://gateway; proxy_http_version 1.1; proxy_set_header Connection "";
            proxy_set_header Host \$http_host; proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        }
        location /ws/ {
            proxy_pass http://gateway; proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade; proxy_set_header Connection \$connection_upgrade;
            proxy_set_header Host \$http_host; proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_buffering off; proxy_read_timeout 1h; proxy_send_timeout 1h;
        }
    }
}
CONF
start nginx nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;'
start node-hub NODE_HUB_PRESENCE="${NODE_HUB_PRESENCE:-full}" node e2e/bench/node-hub/server.js 29490

log "waiting for the services"
for port in 29410 29430 29420 29450 "${gateway_ports[@]}"; do
    for _ in $(seq 300); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz") == 200 ]] && break
        sleep 0.2
    done
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz") == 200 ]] ||
        { tail -n 20 "$WORK"/*.log >&2; echo "the service on $port is not ready" >&2; exit 1; }
done
for _ in $(seq 100); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$EDGE/api/v1/broadcasts") == 200 ]] && break
    sleep 0.2
done
for _ in $(seq 100); do
    curl -s -o /dev/null "$NODE_URL/" && break
    sleep 0.2
done
curl -s -o /dev/null "$NODE_URL/" || { cat "$WORK/node-hub.log" >&2; exit 1; }
floor=()
if [[ $FLOOR == 1 ]]; then
    start floor-hub "$BIN/floor_hub" 29491 "$FLOOR_WRITERS"
    for _ in $(seq 100); do
        curl -s -o /dev/null http://127.0.0.1:29491/ && break
        sleep 0.1
    done
    floor=(--floor http://127.0.0.1:29491 --floor-pid "$(cat "$WORK/floor-hub.pid")")
fi

# Processes whose CPU is shown beside the hubs': chat, auth, nginx's workers, the it stack's servers.
watch="chat=$(cat "$WORK/chat.pid"),auth=$(cat "$WORK/auth.pid")"
nginx_master=$(cat "$WORK/nginx.pid")
i=0
kids=()
read -r -a kids <"/proc/$nginx_master/task/$nginx_master/children" || true
for pid in "${kids[@]}"; do
    i=$((i + 1))
    watch+=",nginx-worker-$i=$pid"
done
for name in postgres redis rabbitmq; do
    f=.data/it/pids/$name.pid
    if [[ -f $f ]]; then watch+=",$name=$(head -n1 "$f")"; fi
done
ws=$EDGE
if [[ $WS_VIA == direct ]]; then ws=http://127.0.0.1:29400,http://127.0.0.1:29401; fi

cpu=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)
{
    printf 'Date: %s. Machine: %s cores (%s), %s GiB RAM (free -g), ulimit -n %s.\n' \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(nproc)" "$cpu" "$(free -g | awk '/^Mem:/{print $2}')" "$(ulimit -n)"
    printf 'Before: uptime %s\n' "$(uptime)"
    printf 'Sockets: %s (%s); Node hub presence: %s.\n' "$WS_VIA" "$ws" "${NODE_HUB_PRESENCE:-full}"
} | tee "$WORK/header.txt"
"$BIN/chat_bench" run --clients "$CLIENTS" --rate "$RATE" --seconds "$DURATION" \
    --edge "$EDGE" --maildev "$E2E_MAILDEV_URL" --ws "$ws" \
    --gateway-pids "$(cat "$WORK/gateway.pid"),$(cat "$WORK/gateway-2.pid")" \
    --node "$NODE_URL" --node-pid "$(cat "$WORK/node-hub.pid")" --watch "$watch" \
    --connect-rate "$CONNECT_RATE" --per-process "$PER_PROCESS" --sources "$SOURCES" \
    --settle-max "$SETTLE_MAX" --only "$ONLY" "${floor[@]}" "${baseline[@]}"
printf 'After: uptime %s\n' "$(uptime)"
for name in gateway gateway-2 gateway-base-1 gateway-base-2 chat node-hub; do
    if [[ -f $WORK/$name.log ]] && grep -qiE 'error|panic' "$WORK/$name.log"; then
        printf '\n%s logged errors (first lines):\n' "$name"
        grep -iE 'error|panic' "$WORK/$name.log" | head -n 5
    fi
done
# The floor hub logs the sockets it closed and the connections it could not serve.
if [[ $FLOOR == 1 && -s $WORK/floor-hub.log ]]; then
    printf '\nthe floor hub logged (first lines):\n'
    grep -v '^floor hub listening' "$WORK/floor-hub.log" | head -n 5 || true
fi
