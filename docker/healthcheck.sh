#!/bin/bash
# Container health check for the LiveStreamer service images, with no tool but bash.
#
#   healthcheck [PATH]        PATH defaults to /healthz (use /readyz for readiness)
#
# The port comes from HEALTHCHECK_PORT, else from the service's <PREFIX>_LISTEN
# (host:port), else from the service's default port; SERVICE is set by the image.
# Exit 0 when the service answers 200 within 5 s, 1 otherwise.
set -euo pipefail

path="${1:-/healthz}"

case "${SERVICE:-}" in
    gateway)            prefix=GATEWAY;    port=8100 ;;
    auth)               prefix=AUTH;       port=8110 ;;
    chat)               prefix=CHAT;       port=8120 ;;
    broadcasts-archive) prefix=BROADCASTS; port=8130 ;;
    stream-relay)       prefix=RELAY;      port=8140 ;;
    mailer)             prefix=MAILER;     port=8150 ;;
    *)                  prefix="";         port="" ;;
esac

if [[ -n "${prefix}" ]]; then
    listen_var="${prefix}_LISTEN"
    listen="${!listen_var:-}"
    if [[ -n "${listen}" ]]; then
        port="${listen##*:}"
    fi
fi
port="${HEALTHCHECK_PORT:-${port}}"
if [[ -z "${port}" ]]; then
    echo "healthcheck: no port (set SERVICE or HEALTHCHECK_PORT)" >&2
    exit 1
fi

if ! exec 3<>"/dev/tcp/127.0.0.1/${port}"; then
    echo "healthcheck: cannot connect to 127.0.0.1:${port}" >&2
    exit 1
fi
printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nUser-Agent: livestreamer-healthcheck\r\nConnection: close\r\n\r\n' \
    "${path}" "${port}" >&3
status=""
IFS= read -r -t 5 status <&3 || true
# Drain the (short) rest of the answer so the server sees an orderly close.
for _ in {1..64}; do
    IFS= read -r -t 1 _ <&3 || break
done
exec 3<&-
case "${status}" in
    "HTTP/1."?" 200"*) exit 0 ;;
esac
echo "healthcheck: ${path} on port ${port} answered '${status%$'\r'}'" >&2
exit 1
