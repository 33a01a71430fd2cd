# shellcheck shell=bash
# Building: the Rust workspace with cargo, the web app with npm (clients/web, when it exists).

WEB_DIR=$ROOT/clients/web

_require_cargo() {
    [[ -f $ROOT/Cargo.toml ]] || die "no Cargo.toml at $ROOT: the Rust workspace is not there yet"
    command -v cargo >/dev/null 2>&1 || die "cargo not found on PATH (rustup's ~/.cargo/bin?)"
}

cargo_build_release() {
    _require_cargo
    log "cargo build --release --bins (target: $(cargo_target_dir))"
    run_fg "$ROOT" cargo build --release --bins || die "cargo build --release failed"
}

cargo_build_tests() {
    _require_cargo
    log "cargo build --workspace --bins --tests (target: $(cargo_target_dir))"
    run_fg "$ROOT" cargo build --workspace --bins --tests || die "cargo build --workspace --bins --tests failed"
}

web_present() { [[ -f $WEB_DIR/package.json ]]; }

web_build() {
    if ! web_present; then
        log "no clients/web/package.json: skipping the web app's build"
        return 0
    fi
    log "npm run build in clients/web"
    run_fg "$WEB_DIR" npm run build || die "the web app's build (npm run build in clients/web) failed"
}

web_test() {
    if ! web_present; then
        log "no clients/web/package.json: skipping the web app's unit tests"
        return 0
    fi
    log "npm test in clients/web"
    # CI=true keeps test runners (vitest, jest) from watching for changes
    run_fg "$WEB_DIR" env CI=true npm test || die "the web app's unit tests (npm test in clients/web) failed"
}

# web_e2e ENV_WORD...: the web app's browser suite (clients/web/e2e, playwright-core driving Debian's
# chromium) against the running stack; it ends with the line `N passed, N failed`.
web_e2e() {
    if ! web_present || [[ ! -f $WEB_DIR/e2e/run.mjs ]]; then
        log "no clients/web/e2e/run.mjs: skipping the web app's browser tests"
        return 0
    fi
    log "web app in Chromium (npm run e2e in clients/web; screenshots in clients/web/e2e-artifacts)"
    run_fg "$WEB_DIR" env "$@" LIVESTREAMER_SOURCE_BIN="$(cargo_target_dir)/debug/livestreamer-source" npm run --silent e2e
}
