#!/usr/bin/env bash
# Benchmark of issue 4: our stream relay beside Debian's icecast2, same listeners, same duration, in
# one run (BENCHMARKS.md has the figures).
#
#   e2e/bench/relay.sh LISTENERS SECONDS     # e.g. e2e/bench/relay.sh 5000 60; RATE=500 per second
#   RELAY_FAST_LISTENERS=false e2e/bench/relay.sh 5000 60   # every listener through hyper
#   SLOW_SHARE=0.05 e2e/bench/relay.sh 5000 60   # 5% of the listeners read at half speed, reported apart
#   SLOW_SHARE=0.05 SLOW_RCVBUF=16384 e2e/bench/relay.sh 5000 120   # ... with a small receive buffer each,
#       as over a slow link (over loopback the server's send buffer otherwise hides them for minutes)
#   SLOW_TWIN=1 SLOW_SHARE=0.05 e2e/bench/relay.sh 5000 120   # each server twice: without, then with them
#   REPLICA=1 e2e/bench/relay.sh 5000 60         # ours measured twice: direct, then through a replica
#   WRITE_EVERY="0 48 96" e2e/bench/relay.sh 5000 60   # ours once per RELAY_WRITE_EVERY_MS (fast path),
#       each on a relay of its own, beside icecast2
#   SOURCE_BLOCK=10 e2e/bench/relay.sh 5000 60   # the source writes 10 frames (3.75 KiB) at once every
#       240 ms, as libshout players such as ezstream do; default 1, a frame every 24 ms as ffmpeg
#   BASELINE=f619ef1 e2e/bench/relay.sh 15000 60   # the relay as of that revision too (built in a git
#       worktree), on a relay of its own: a change measured beside what it changed, in one run
#
# What it starts, and stops again on exit:
# - release builds of auth, broadcasts-archive and stream-relay on ports 292xx, on the "it" stack's
#   PostgreSQL, Redis and RabbitMQ (`./dev infra up it`, started if needed and left running), with a
#   fresh database, a Redis prefix of its own and the exchange `bench.relay`. auth creates a user (its
#   superadmin variables); the script gives it a stream key by writing the key's SHA-256 into
#   auth.stream_keys, as auth's rotation does (the gateway, whose only part would be that rotation,
#   stays out of the setup). The source then goes live through the relay's real Icecast source path
#   (`SOURCE /live/USER` on the source port, stream key checked by auth over gRPC, "go live now"
#   authorized by broadcasts-archive), so the relay runs as in production: recording to disk,
#   listener counts in Redis, stream.stats on RabbitMQ. Listeners GET /live/USER on the relay's HTTP
#   port directly (no nginx in front, as for Icecast).
# - with REPLICA=1, a second stream-relay (ports 29250/29251, same database, Redis prefix, exchange and
#   recordings folder: a replica as operations.md describes). After the direct run, ours is measured
#   again with the source on the first relay and the listeners on the second, which holds no source:
#   their audio goes source → relay A → Redis pub/sub → relay B's mirror → listeners. CPU and RSS of
#   that run are both relays' added up.
# - icecast2 (Debian's; installed when missing) as user icecast2 on 127.0.0.1:29300, mount /bench,
#   burst-size 65536, queue-size 524288, a client limit above LISTENERS, a source password.
#
# Then, for each server in turn (ours first): `relay-bench run` (e2e/relay-bench) streams a synthetic
# 128 kbit/s source for 5 s, connects LISTENERS listeners at RATE per second over several processes and
# loopback addresses (SLOW_SHARE of them reading at half the stream's rate), holds them SECONDS seconds,
# and reads the server's CPU time and RSS from /proc. Everything runs on this one machine; the table it
# prints compares the runs, each of ours against Icecast's.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"
LISTENERS=${1:?usage: e2e/bench/relay.sh LISTENERS SECONDS}
SECONDS_HELD=${2:?usage: e2e/bench/relay.sh LISTENERS SECONDS}
RATE=${RATE:-500}
SLOW_SHARE=${SLOW_SHARE:-0}
SLOW_RCVBUF=${SLOW_RCVBUF:-0}
REPLICA=${REPLICA:-0}
SLOW_TWIN=${SLOW_TWIN:-0}
SOURCE_BLOCK=${SOURCE_BLOCK:-1}
((LISTENERS > 0 && LISTENERS <= 40000)) || { echo "LISTENERS must be 1..40000" >&2; exit 2; }
((SECONDS_HELD > 0 && SECONDS_HELD <= 600)) || { echo "SECONDS must be 1..600" >&2; exit 2; }
((SOURCE_BLOCK >= 1 && SOURCE_BLOCK <= 64)) || { echo "SOURCE_BLOCK must be 1..64" >&2; exit 2; }
# shellcheck source=e2e/bench/lib.sh
source e2e/bench/lib.sh
bench_init relay-bench
chmod 755 "$WORK" # icecast2 runs as its own user
USERNAME=benchdj
PASSWORD='relay bench password'
ICE_PASSWORD=bench-source-$$

if ! command -v icecast2 >/dev/null; then
    log "installing icecast2"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq icecast2 >/dev/null
fi
bench_database bench_relay

if [[ -n ${BASELINE:-} ]]; then build_baseline stream-relay "$BASELINE"; fi
log "building release binaries of auth, broadcasts-archive, stream-relay and relay-bench"
cargo build --release -q -p auth -p broadcasts-archive -p stream-relay -p relay-bench

common_env=(LIVESTREAMER_DATABASE_URL="$DB_URL" LIVESTREAMER_REDIS_PREFIX="benchrelay$$:" LIVESTREAMER_AMQP_EXCHANGE=bench.relay
    LIVESTREAMER_AUTH_URL=http://127.0.0.1:29210 LIVESTREAMER_BROADCASTS_URL=http://127.0.0.1:29230
    RUST_LOG=warn)
start auth "${common_env[@]}" AUTH_LISTEN=127.0.0.1:29210 AUTH_SUPERADMIN_USERNAME=$USERNAME \
    AUTH_SUPERADMIN_EMAIL=$USERNAME@example.com AUTH_SUPERADMIN_PASSWORD="$PASSWORD" "$BIN/auth"
start archive "${common_env[@]}" BROADCASTS_LISTEN=127.0.0.1:29230 "$BIN/broadcasts-archive"
mkdir -p "$WORK/recordings"
relay_env=("${common_env[@]}" RELAY_RECORDINGS_DIR="$WORK/recordings" RELAY_BURST_BYTES=65536
    RELAY_QUEUE_BYTES=524288 RELAY_SOURCE_GRACE_MS=1000)
# One relay per write interval (WRITE_EVERY, fast path): the first on 29240/29241, the others on
# 29260/29261, 29262/29263, ... Every relay has a short grace (1 s), so that one run's broadcast has
# ended before the next run's source goes live.
read -r -a WRITE_EVERY_LIST <<<"${WRITE_EVERY:-}"
RELAY_PORTS=(29240)
if ((${#WRITE_EVERY_LIST[@]} > 0)); then
    relay_env+=(RELAY_FAST_LISTENERS=true RELAY_WRITE_EVERY_MS="${WRITE_EVERY_LIST[0]}")
    for ((i = 1; i < ${#WRITE_EVERY_LIST[@]}; i++)); do RELAY_PORTS+=($((29258 + 2 * i))); done
fi
start relay "${relay_env[@]}" RELAY_LISTEN=127.0.0.1:29240 RELAY_SOURCE_LISTEN=127.0.0.1:29241 "$BIN/stream-relay"
RELAY_PIDS=("$LAST_PID")
for ((i = 1; i < ${#RELAY_PORTS[@]}; i++)); do
    port=${RELAY_PORTS[$i]}
    start "relay-$i" "${relay_env[@]}" RELAY_WRITE_EVERY_MS="${WRITE_EVERY_LIST[$i]}" \
        RELAY_LISTEN=127.0.0.1:$port RELAY_SOURCE_LISTEN=127.0.0.1:$((port + 1)) "$BIN/stream-relay"
    RELAY_PIDS+=("$LAST_PID")
done
RELAY_LABELS=()
for ((i = 0; i < ${#RELAY_PIDS[@]}; i++)); do
    label=stream-relay
    [[ ${RELAY_FAST_LISTENERS:-true} == false ]] && label="stream-relay (hyper listeners)"
    ((${#WRITE_EVERY_LIST[@]} > 0)) && label="stream-relay (writes every ${WRITE_EVERY_LIST[$i]} ms)"
    RELAY_LABELS+=("$label")
done
RELAY_PID=${RELAY_PIDS[0]}
if [[ -n ${BASELINE:-} ]]; then
    start relay-baseline "${relay_env[@]}" RELAY_LISTEN=127.0.0.1:29270 RELAY_SOURCE_LISTEN=127.0.0.1:29271 \
        "$WORK/stream-relay-$BASELINE_REV"
    RELAY_PIDS+=("$LAST_PID")
    RELAY_PORTS+=(29270)
    RELAY_LABELS+=("stream-relay at $BASELINE_REV")
fi
if [[ $REPLICA == 1 ]]; then
    start relay-b "${relay_env[@]}" RELAY_LISTEN=127.0.0.1:29250 RELAY_SOURCE_LISTEN=127.0.0.1:29251 "$BIN/stream-relay"
    REPLICA_PID=$LAST_PID
    RELAY_PORTS+=(29250) # waited for below; measured apart, after the others
fi

log "giving $USERNAME a stream key"
KEY=bench-key-$$-$RANDOM$RANDOM
for _ in $(seq 150); do
    psql "$DB_URL" -qtAc "SELECT 1 FROM auth.users WHERE username = '$USERNAME'" 2>/dev/null | grep -q 1 && break
    sleep 0.2
done
psql "$DB_URL" -qc "INSERT INTO auth.stream_keys (user_id, key_hash)
    SELECT user_id, sha256(convert_to('$KEY', 'UTF8')) FROM auth.users WHERE username = '$USERNAME'" >/dev/null ||
    { tail -n 20 "$WORK"/*.log >&2; log "auth did not create $USERNAME"; exit 1; }
for port in "${RELAY_PORTS[@]}"; do
    for _ in $(seq 150); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/readyz) == 200 ]] && break
        sleep 0.2
    done
done

log "starting icecast2 (burst 64 KiB, queue 512 KiB) as user icecast2"
mkdir -p "$WORK/icecast/log"
chown -R icecast2:icecast "$WORK/icecast"
cat >"$WORK/icecast/icecast.xml" <<XML
<icecast>
    <location>bench</location>
    <admin>bench@localhost</admin>
    <limits>
        <clients>$((LISTENERS + 100))</clients>
        <sources>2</sources>
        <queue-size>524288</queue-size>
        <client-timeout>30</client-timeout>
        <header-timeout>15</header-timeout>
        <source-timeout>10</source-timeout>
        <burst-on-connect>1</burst-on-connect>
        <burst-size>65536</burst-size>
    </limits>
    <authentication>
        <source-password>$ICE_PASSWORD</source-password>
        <relay-password>$ICE_PASSWORD</relay-password>
        <admin-user>admin</admin-user>
        <admin-password>$ICE_PASSWORD</admin-password>
    </authentication>
    <hostname>127.0.0.1</hostname>
    <listen-socket>
        <port>29300</port>
        <bind-address>127.0.0.1</bind-address>
    </listen-socket>
    <fileserve>0</fileserve>
    <paths>
        <basedir>/usr/share/icecast2</basedir>
        <logdir>$WORK/icecast/log</logdir>
        <webroot>/usr/share/icecast2/web</webroot>
        <adminroot>/usr/share/icecast2/admin</adminroot>
    </paths>
    <logging>
        <accesslog>access.log</accesslog>
        <errorlog>error.log</errorlog>
        <loglevel>2</loglevel>
    </logging>
    <security><chroot>0</chroot></security>
</icecast>
XML
start icecast setpriv --reuid=icecast2 --regid=icecast --init-groups icecast2 -c "$WORK/icecast/icecast.xml"
ICECAST_PID=$LAST_PID
for _ in $(seq 100); do
    curl -s -o /dev/null http://127.0.0.1:29300/ && break
    sleep 0.1
done

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
bench=("$BIN/relay-bench" run --listeners "$LISTENERS" --seconds "$SECONDS_HELD" --rate "$RATE"
    --slow-rcvbuf "$SLOW_RCVBUF" --source-block "$SOURCE_BLOCK")
results=()
# measure LABEL OUT ARGS...: one run of relay-bench; with SLOW_TWIN=1 two, the first without the
# half-speed readers, so that what they do to everyone else is read within one server's pair.
measure() {
    local label=$1 out=$2
    shift 2
    if [[ $SLOW_TWIN == 1 ]]; then
        "${bench[@]}" --slow-share 0 --label "$label" --out "$out-steady.json" "$@"
        results+=("$out-steady.json")
        sleep 3 # the run's source has gone: its broadcast ends (grace 1 s) or its mount is freed
        label="$label, $SLOW_SHARE half-speed"
    fi
    "${bench[@]}" --slow-share "$SLOW_SHARE" --label "$label" --out "$out.json" "$@"
    results+=("$out.json")
}
ours=(--source-path "/live/$USERNAME" --source-auth "$USERNAME:$KEY" --listen-path "/live/$USERNAME")
for ((i = 0; i < ${#RELAY_PIDS[@]}; i++)); do
    port=${RELAY_PORTS[$i]}
    label=${RELAY_LABELS[$i]}
    log "our relay ($label): $LISTENERS listeners"
    ((i > 0)) && sleep 3
    measure "$label" "$WORK/relay-$i" --server-pid "${RELAY_PIDS[$i]}" "${ours[@]}" \
        --source 127.0.0.1:$((port + 1)) --listen 127.0.0.1:$port
done
if [[ $REPLICA == 1 ]]; then
    log "our relay through a replica: source on relay A, $LISTENERS listeners on relay B"
    sleep 3
    measure "${RELAY_LABELS[0]} via a replica" "$WORK/replica" --server-pid "$RELAY_PID" --server-pid "$REPLICA_PID" \
        "${ours[@]}" --source 127.0.0.1:29241 --listen 127.0.0.1:29250
fi
log "icecast2: $LISTENERS listeners"
measure "icecast2 $(icecast2 -v | awk '{print $2}')" "$WORK/icecast" --server-pid "$ICECAST_PID" \
    --source 127.0.0.1:29300 --source-path /bench --source-auth "source:$ICE_PASSWORD" \
    --listen 127.0.0.1:29300 --listen-path /bench

cpu=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)
mem=$(free -g | awk '/^Mem:/{print $2 " GiB"}')
cat <<HEAD

Date: $(date -u +%Y-%m-%dT%H:%MZ). Machine: $(nproc) cores ($cpu), $mem RAM (free -g); load before the
run: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg). Command: e2e/bench/relay.sh $LISTENERS $SECONDS_HELD
(RATE=$RATE SLOW_SHARE=$SLOW_SHARE SLOW_RCVBUF=$SLOW_RCVBUF SLOW_TWIN=$SLOW_TWIN SOURCE_BLOCK=$SOURCE_BLOCK REPLICA=$REPLICA WRITE_EVERY="${WRITE_EVERY:-}" BASELINE=${BASELINE_REV:-}).
Load generator, both servers and the platform's other servers on this one machine; the servers measured
one after the other.

HEAD
"$BIN/relay-bench" table "${results[@]}"
if [[ -n ${KEEP_RESULTS:-} ]]; then
    cp "${results[@]}" "$KEEP_RESULTS"/
fi
