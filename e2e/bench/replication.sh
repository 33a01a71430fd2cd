#!/usr/bin/env bash
# Benchmark of issue 4: the relay replicas' frames through Redis pub/sub and through a RabbitMQ exchange,
# side by side in one run, on the "it" stack's Redis and RabbitMQ (BENCHMARKS.md has the figures).
#
#   e2e/bench/replication.sh [ARGS]   # e.g. --broadcasts 1,10,50 --replicas 1,3 --seconds 20
#
# Starts the it stack if needed (and leaves it running), builds e2e's replication_bench in release,
# finds the pids of redis-server and RabbitMQ's beam.smp, and runs it; ARGS go to replication_bench
# (see its module doc). It uses keys under `bench:replication:` and the exchange `bench.replication`,
# and removes them.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"
./dev infra up it >/dev/null
eval "$(./dev env it)"
cargo build --release -q -p e2e --bin replication_bench

PIDS=.data/it/pids
REDIS_PID=$(head -n1 "$PIDS/redis.pid")
BEAM_PID=$(pgrep -P "$(head -n1 "$PIDS/rabbitmq.pid")" -x beam.smp | head -n1)
[[ -n $BEAM_PID ]] || { echo "no beam.smp under the it stack's rabbitmq" >&2; exit 1; }

exec target/release/replication_bench --redis "$LIVESTREAMER_REDIS_URL" --amqp "$LIVESTREAMER_AMQP_URL" \
    --redis-pid "$REDIS_PID" --rabbitmq-pid "$BEAM_PID" "$@"
