#!/usr/bin/env bash
# Benchmark of issue 7: GET /api/v1/broadcasts?time=past through nginx and the gateway, with the
# listing cache and without it, side by side in one run (BENCHMARKS.md has the figures).
#
#   e2e/bench/listings.sh            # DURATION=15s CONNECTIONS=32 RATE_CONNECTIONS=20 to change
#
# What it starts, and stops again on exit: release builds of broadcasts-archive and of two gateways
# (GATEWAY_LISTING_CACHE=true and =false) on ports 291xx, and one nginx with an edge port per gateway
# (29180 cached, 29181 uncached). It uses the "it" stack's PostgreSQL and Redis (`./dev infra up it`,
# started if needed and left running), a fresh database seeded with 300 past, visible broadcasts,
# and a Redis key prefix of its own. wrk (Debian package) is installed when missing.
#
# Two runs per side: at full speed (wrk's req/s and p99), and paced at about 2,000 req/s (each of
# RATE_CONNECTIONS connections waits 1000*RATE_CONNECTIONS/2000 ms between requests) for the p99 the
# issue targets.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-32}
RATE_CONNECTIONS=${RATE_CONNECTIONS:-20}
TARGET_RATE=2000
# shellcheck source=e2e/bench/lib.sh
source e2e/bench/lib.sh
bench_init bench

if ! command -v wrk >/dev/null; then
    log "installing wrk"
    apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
fi
bench_database bench

log "building release binaries of broadcasts-archive and gateway"
cargo build --release -q -p broadcasts-archive -p gateway
common_env=(LIVESTREAMER_DATABASE_URL="$DB_URL" LIVESTREAMER_REDIS_PREFIX="bench$$:" LIVESTREAMER_AMQP_EXCHANGE="bench$$"
    LIVESTREAMER_BROADCASTS_URL=http://127.0.0.1:29130 LIVESTREAMER_AUTH_URL=http://127.0.0.1:29110 RUST_LOG=warn)
start archive "${common_env[@]}" BROADCASTS_LISTEN=127.0.0.1:29130 "$BIN/broadcasts-archive"
start gw-cached "${common_env[@]}" GATEWAY_LISTEN=127.0.0.1:29100 GATEWAY_LISTING_CACHE=true "$BIN/gateway"
start gw-uncached "${common_env[@]}" GATEWAY_LISTEN=127.0.0.1:29101 GATEWAY_LISTING_CACHE=false "$BIN/gateway"

log "waiting for the schema"
for _ in $(seq 100); do
    if psql "$DB_URL" -qtAc "SELECT 1 FROM broadcasts.schema_migrations WHERE name = '0002_archive'" 2>/dev/null | grep -q 1; then break; fi
    sleep 0.2
done
psql "$DB_URL" -qc "
    INSERT INTO broadcasts.broadcasts (user_id, username, title, description, start_at, end_at,
        is_visible, ended_at, listener_peak_count, like_count, duration_sec)
    SELECT g, 'dj' || g, 'Archived set number ' || g, repeat('A long description. ', 20),
           now() - g * interval '1 hour' - interval '2 hours', now() - g * interval '1 hour' - interval '1 hour',
           true, now() - g * interval '1 hour' - interval '1 hour', g % 97, g % 13, 3600
    FROM generate_series(1, 300) g" >/dev/null

mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/tmp;
    proxy_temp_path $WORK/nginx/tmp;
    fastcgi_temp_path $WORK/nginx/tmp;
    uwsgi_temp_path $WORK/nginx/tmp;
    scgi_temp_path $WORK/nginx/tmp;
    upstream cached { server 127.0.0.1:29100; keepalive 64; }
    upstream uncached { server 127.0.0.1:29101; keepalive 64; }
    server { listen 127.0.0.1:29180; location /api/ { proxy_pass http://cached; proxy_http_version 1.1; proxy_set_header Connection ""; } }
    server { listen 127.0.0.1:29181; location /api/ { proxy_pass http://uncached; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
CONF
start nginx nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;'

PATH_Q='/api/v1/broadcasts?time=past'
for port in 29180 29181; do
    for _ in $(seq 100); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$PATH_Q") == 200 ]] && break
        sleep 0.2
    done
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$PATH_Q") == 200 ]] || { cat "$WORK"/*.log >&2; exit 1; }
done
[[ $(curl -s -D - -o /dev/null "http://127.0.0.1:29180$PATH_Q" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-cache"{print $2}') == hit ]] || log "warning: the cached side did not answer from the cache"

pace_ms=$((1000 * RATE_CONNECTIONS / TARGET_RATE))
printf 'function delay() return %d end\n' "$pace_ms" >"$WORK/pace.lua"

# run LABEL PORT CONNECTIONS [SCRIPT]: prints "req/s p99"
run() {
    local out
    out=$(wrk -t2 -c"$3" -d"$DURATION" --latency ${4:+-s "$4"} "http://127.0.0.1:$2$PATH_Q")
    printf '%s\n' "$out" >"$WORK/wrk-$1.txt"
    local rps p99 errors
    rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
    p99=$(awk '$1=="99%"{print $2}' <<<"$out")
    errors=$(awk '/Non-2xx/{print $5}' <<<"$out")
    printf '%s %s %s\n' "$rps" "$p99" "${errors:-0}"
}
log "warming up"
wrk -t1 -c4 -d3s "http://127.0.0.1:29180$PATH_Q" >/dev/null
wrk -t1 -c4 -d3s "http://127.0.0.1:29181$PATH_Q" >/dev/null
log "full speed, $CONNECTIONS connections, $DURATION each"
read -r c_rps c_p99 c_err < <(run cached-max 29180 "$CONNECTIONS")
read -r u_rps u_p99 u_err < <(run uncached-max 29181 "$CONNECTIONS")
log "paced at ~$TARGET_RATE req/s ($RATE_CONNECTIONS connections, ${pace_ms} ms apart)"
read -r cr_rps cr_p99 cr_err < <(run cached-paced 29180 "$RATE_CONNECTIONS" "$WORK/pace.lua")
read -r ur_rps ur_p99 ur_err < <(run uncached-paced 29181 "$RATE_CONNECTIONS" "$WORK/pace.lua")

cpu=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)
mem=$(free -g | awk '/^Mem:/{print $2 " GiB"}')
cat <<TABLE

Date: $(date -u +%Y-%m-%dT%H:%MZ). Machine: $(nproc) cores ($cpu), $mem RAM (free -g). 300 past broadcasts,
page of 20 (~$(curl -s "http://127.0.0.1:29180$PATH_Q" | wc -c) bytes). wrk -t2, $DURATION per run; everything (wrk, nginx, gateways,
broadcasts-archive, PostgreSQL, Redis) on this one machine.

| run | with cache: req/s | with cache: p99 | without cache: req/s | without cache: p99 |
| --- | ---: | ---: | ---: | ---: |
| full speed, $CONNECTIONS connections | $c_rps | $c_p99 | $u_rps | $u_p99 |
| paced at ~$TARGET_RATE req/s, $RATE_CONNECTIONS connections | $cr_rps | $cr_p99 | $ur_rps | $ur_p99 |

Non-2xx answers: cached $c_err / $cr_err, uncached $u_err / $ur_err.
TABLE
