# shellcheck shell=bash
# maildev 3 (npm, installed in scripts/tools): catches the mail the services send over SMTP and shows
# it in a web inbox with a REST API under /api (GET /api/email). Both ports on 127.0.0.1.

_maildev_bin() { printf '%s\n' "$ROOT/scripts/tools/node_modules/maildev/dist/bin/maildev.js"; }

maildev_start() {
    local pid
    if pid=$(proc_running maildev); then
        log "$STACK/maildev already runs (pid $pid): SMTP 127.0.0.1:$PORT_SMTP, inbox http://127.0.0.1:$PORT_MAILWEB"
        return 0
    fi
    local bin
    bin=$(_maildev_bin)
    [[ -f $bin ]] || die "maildev is not installed: run 'npm ci' in scripts/tools (./dev up does it)"
    require_port "$PORT_SMTP" "maildev (SMTP)"
    require_port "$PORT_MAILWEB" "maildev (web inbox)"
    local dir=$DATA_DIR/maildev
    mkdir -p "$dir/mail"
    log "starting $STACK/maildev: SMTP 127.0.0.1:$PORT_SMTP, inbox http://127.0.0.1:$PORT_MAILWEB"
    # Run from its own folder: maildev looks for config files in the working folder and its parents.
    # shellcheck disable=SC2016 # expanded by the inner sh
    proc_start maildev sh -c 'cd "$0" && exec "$@"' "$dir" node "$bin" \
        --smtp "$PORT_SMTP" --ip 127.0.0.1 --web "$PORT_MAILWEB" --web-ip 127.0.0.1 \
        --mail-directory "$dir/mail"
}

maildev_wait() {
    wait_for maildev 30 "maildev answering GET http://127.0.0.1:$PORT_MAILWEB/api/email" \
        http_ok "http://127.0.0.1:$PORT_MAILWEB/api/email"
}

maildev_stop() { proc_stop maildev TERM; }
