#!/usr/bin/python3
"""Deployment tests: Kubernetes manifests, the Helm chart, the Dockerfile and the Grafana dashboard.

usage: deploy_checks.py setup | kustomize-sidecar | kustomize-sidecar-tls | kustomize-edge | helm | helm-tls
                        | dockerfile | grafana | forward-auth

Environment: CLAIMGATE_BINARY (the gateway binary; default build/claimgate) and DEPLOY_WORK_DIR
(the cache under the build tree for node_modules and the helmrender binary; default
build/tests/deploy). `setup` installs what is missing (Debian packages through
scripts/install-deps.sh, npm packages with `npm ci` from tests/deploy/npm) and builds helmrender;
the other commands assume it ran (ctest runs it first as a fixture).

What a schema cannot check is checked here, on the rendered objects: the config embedded in the
ConfigMap passes `claimgate --check-config` (with test certificates minted at the paths of the
certificate, key and CA files it names); container ports, probes, Service target ports,
NetworkPolicy ports and Prometheus annotations agree with the config's listeners (`listen` or
`listeners`) and admin port; every file the config names is provided by a read-only directory
mount (never subPath, which the kubelet never updates: rotated certificates would not arrive) of a
Secret or ConfigMap volume, private keys from Secrets only; TLS renders terminate TLS with the
expected Secret at /etc/claimgate/tls; every container is non-root, read-only, without
capabilities and with resources; the sidecar's app is on loopback only; the edge gateway's
upstreams accept traffic only from the gateway.
"""

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

try:
    import yaml
except ImportError:  # `setup` installs python3-yaml; every other command needs it
    yaml = None

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent / "integration"))
from harness import free_port  # noqa: E402  (ports outside the kernel's ephemeral range)
BINARY = Path(os.environ.get("CLAIMGATE_BINARY", ROOT / "build" / "claimgate"))
WORK = Path(os.environ.get("DEPLOY_WORK_DIR", ROOT / "build" / "tests" / "deploy"))
NODE_MODULES = WORK / "npm" / "node_modules"
HELMRENDER = WORK / "helmrender"

# Debian packages the deploy tests need (the same list goes into scripts/install-deps.sh).
# nodejs/npm only when no `npm` is on PATH: a NodeSource nodejs bundles npm and conflicts with
# Debian's npm package. kubectl is not a Debian 12 package; it comes with the machine image.
APT_PACKAGES = ["golang-go", "golang-github-masterminds-sprig-dev", "golang-k8s-sigs-yaml-dev", "python3-yaml",
                "python3-cryptography"]
NODE_PACKAGES = ["nodejs", "npm"]


class CheckFailed(Exception):
    pass


class Errors:
    """Collects failures so one run reports all of them."""

    def __init__(self):
        self.items = []

    def add(self, where, message):
        self.items.append(f"{where}: {message}")

    def check(self, condition, where, message):
        if not condition:
            self.add(where, message)
        return condition

    def raise_if_any(self, what):
        if self.items:
            raise CheckFailed(f"{what}: {len(self.items)} problem(s)\n  " + "\n  ".join(self.items))


def log(message):
    print(message, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


# ---------------------------------------------------------------------------------------------
# setup


def package_installed(name):
    r = run(["dpkg-query", "-W", "-f=${Status}", name])
    return r.returncode == 0 and "install ok installed" in r.stdout


def setup():
    if shutil.which("kubectl") is None:
        raise CheckFailed("kubectl is not on PATH (it comes with the machine image; there is no Debian 12 package)")
    missing = [p for p in APT_PACKAGES if not package_installed(p)]
    if shutil.which("npm") is None or shutil.which("node") is None:
        missing += [p for p in NODE_PACKAGES if not package_installed(p)]
    if missing:
        log(f"deploy tests: installing Debian packages {' '.join(missing)} with scripts/install-deps.sh")
        r = subprocess.run(["bash", str(ROOT / "scripts" / "install-deps.sh"), *missing])
        if r.returncode != 0:
            raise CheckFailed(f"could not install {' '.join(missing)}; run scripts/install-deps.sh as root")

    npm_dir = WORK / "npm"
    npm_dir.mkdir(parents=True, exist_ok=True)
    lock = (HERE / "npm" / "package-lock.json").read_bytes()
    stamp = npm_dir / ".installed-lock-sha256"
    digest = hashlib.sha256(lock).hexdigest()
    if not (NODE_MODULES / "kubernetes-models").is_dir() or not stamp.exists() or stamp.read_text() != digest:
        log(f"deploy tests: npm ci kubernetes-models and @kubernetes-models/prometheus-operator into {npm_dir} "
            "(pinned in tests/deploy/npm/package-lock.json; needs the npm registry once)")
        for name in ("package.json", "package-lock.json"):
            shutil.copy(HERE / "npm" / name, npm_dir / name)
        r = run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=npm_dir)
        if r.returncode != 0:
            raise CheckFailed(f"npm ci failed in {npm_dir}:\n{r.stdout}{r.stderr}")
        stamp.write_text(digest)
    else:
        log(f"deploy tests: npm packages already in {NODE_MODULES}")

    r = run(["bash", str(HERE / "build-helmrender.sh"), str(WORK)])
    if r.returncode != 0:
        raise CheckFailed(f"building helmrender failed:\n{r.stdout}{r.stderr}")
    log(f"deploy tests: built {HELMRENDER}")


# ---------------------------------------------------------------------------------------------
# rendering and schema validation


def load_docs(text, source):
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    for d in docs:
        if not isinstance(d, dict):
            raise CheckFailed(f"{source}: a document is not a mapping: {d!r}")
    return docs


def render_kustomize(directory):
    r = run(["kubectl", "kustomize", str(directory)])
    if r.returncode != 0:
        raise CheckFailed(f"kubectl kustomize {directory} failed:\n{r.stderr}")
    return load_docs(r.stdout, str(directory))


def render_helm(chart, *args, expect_failure=False):
    r = run([str(HELMRENDER), *args, str(chart)])
    if expect_failure:
        if r.returncode == 0:
            raise CheckFailed(f"helmrender {' '.join(args)} {chart} succeeded; expected a failure")
        return r.stderr
    if r.returncode != 0:
        raise CheckFailed(f"helmrender {' '.join(args)} {chart} failed:\n{r.stderr}")
    return load_docs(r.stdout, str(chart))


def validate_schemas(docs, source):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump([{"source": source, "object": d} for d in docs], f)
        path = f.name
    try:
        r = run(["node", str(HERE / "validate_k8s.mjs"), str(NODE_MODULES), path])
    finally:
        os.unlink(path)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        raise CheckFailed(f"{source}: schema validation failed\n{r.stdout}{r.stderr}")


# ---------------------------------------------------------------------------------------------
# semantic checks on rendered objects


def kind_of(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def name_of(obj):
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def selector_matches(selector, labels):
    """A LabelSelector (matchLabels + matchExpressions) against a label map."""
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def parse_address(text):
    host, _, port = str(text).rpartition(":")
    return host.strip("[]"), int(port)


def check_config(config_text, where, errors):
    """Runs --check-config on an embedded config; returns the parsed config or None."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(config_text)
        path = f.name
    try:
        r = run([str(BINARY), "--check-config", path])
    finally:
        os.unlink(path)
    if not errors.check(r.returncode == 0, where, f"claimgate --check-config failed:\n{r.stdout}{r.stderr}"):
        return None
    log(f"  {where}: claimgate --check-config OK")
    return yaml.safe_load(config_text)


def resolve_port(port, container):
    """A probe/targetPort (name or number) -> the container port number, or None."""
    for p in container.get("ports") or []:
        if port == p.get("name") or port == p.get("containerPort"):
            return p["containerPort"]
    return port if isinstance(port, int) else None


def check_security(container, pod_spec, where, errors):
    pod_sc = pod_spec.get("securityContext") or {}
    sc = container.get("securityContext") or {}
    non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
    errors.check(non_root is True, where, "runAsNonRoot must be true (pod or container)")
    uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
    errors.check(uid is None or uid != 0, where, "runAsUser must not be 0")
    errors.check(sc.get("readOnlyRootFilesystem") is True, where, "readOnlyRootFilesystem must be true")
    errors.check(sc.get("allowPrivilegeEscalation") is False, where, "allowPrivilegeEscalation must be false")
    errors.check("ALL" in ((sc.get("capabilities") or {}).get("drop") or []), where, "capabilities.drop must include ALL")
    res = container.get("resources") or {}
    for section in ("requests", "limits"):
        for r in ("cpu", "memory"):
            errors.check(r in (res.get(section) or {}), where, f"resources.{section}.{r} is missing")


def claimgate_config_of(container, pod_spec, docs, where, errors):
    """Follows --config PATH to the volume mount, the volume and the ConfigMap key; returns the text."""
    args = container.get("args") or []
    if not errors.check("--config" in args[:-1], where, "args must contain --config PATH"):
        return None
    path = args[args.index("--config") + 1]
    directory, key = path.rsplit("/", 1)
    mount = next((m for m in container.get("volumeMounts") or [] if m["mountPath"].rstrip("/") == directory), None)
    if not errors.check(mount is not None, where, f"no volumeMount at {directory} for --config {path}"):
        return None
    errors.check(mount.get("readOnly") is True, where, f"the config mount {directory} should be readOnly")
    volume = next((v for v in pod_spec.get("volumes") or [] if v["name"] == mount["name"]), None)
    if not errors.check(volume is not None and "configMap" in volume, where, f"volume {mount['name']} is not a configMap"):
        return None
    cm_name = volume["configMap"]["name"]
    cm = next((c for c in kind_of(docs, "ConfigMap") if c["metadata"]["name"] == cm_name), None)
    if not errors.check(cm is not None, where, f"ConfigMap {cm_name} is not among the rendered objects"):
        return None
    data = cm.get("data") or {}
    if not errors.check(key in data, where, f"ConfigMap {cm_name} has no key {key}"):
        return None
    return data[key]


# Config keys that name a certificate, key or CA file (listeners[].tls, upstreams.*) and the role of
# the file: what a test stand-in for it has to be.
TLS_FILE_KEYS = {"cert_file": "cert", "key_file": "key", "client_ca_file": "ca", "ca_file": "ca",
                 "client_cert_file": "cert", "client_key_file": "key"}
# Other files the config names; checked to be mounted, not made up for --check-config.
OTHER_FILE_KEYS = {"jwks_file": "jwks", "hmac_secret_file": "hmac"}


def config_files(config):
    """Every file the config names: [{path, role, pair, key}]. `pair` ties a certificate to its key
    (a certificates entry, an upstream's client certificate); `key` is the config location."""
    files = []

    def add(node, key, pair=None):
        for name, role in {**TLS_FILE_KEYS, **OTHER_FILE_KEYS}.items():
            value = (node or {}).get(name)
            if isinstance(value, str) and value:
                files.append({"path": value, "role": role, "pair": pair, "key": f"{key}.{name}"})

    for i, listener in enumerate(config.get("listeners") or []):
        tls = (listener or {}).get("tls") or {}
        for j, certificate in enumerate(tls.get("certificates") or []):
            add(certificate, f"listeners[{i}].tls.certificates[{j}]", pair=f"listener{i}-cert{j}")
        add({"client_ca_file": tls.get("client_ca_file")}, f"listeners[{i}].tls")
    for name, upstream in (config.get("upstreams") or {}).items():
        add(upstream, f"upstreams.{name}", pair=f"upstream-{name}")
    for i, provider in enumerate(config.get("providers") or []):
        add(provider, f"providers[{i}]")
    return files


def volume_files(volume, docs):
    """{relative path: "Secret" | "ConfigMap"} for the files a volume provides, or None when the
    manifests cannot tell (not a Secret/ConfigMap/projected volume, or a Secret/ConfigMap that is
    not among the rendered objects and whose volume lists no items)."""
    def source(kind, spec, name):
        if spec.get("items"):
            return {item["path"]: kind for item in spec["items"]}
        obj = next((o for o in kind_of(docs, kind) if o["metadata"]["name"] == name), None)
        if obj is None:
            return None
        keys = set(obj.get("data") or {}) | set(obj.get("stringData") or {}) | set(obj.get("binaryData") or {})
        return {key: kind for key in keys}

    if "configMap" in volume:
        return source("ConfigMap", volume["configMap"], volume["configMap"].get("name"))
    if "secret" in volume:
        return source("Secret", volume["secret"], volume["secret"].get("secretName"))
    if "projected" in volume:
        provided = {}
        for s in volume["projected"].get("sources") or []:
            if "configMap" in s:
                part = source("ConfigMap", s["configMap"], s["configMap"].get("name"))
            elif "secret" in s:
                part = source("Secret", s["secret"], s["secret"].get("name"))
            else:
                return None
            if part is None:
                return None
            provided.update(part)
        return provided
    return None


def check_mounted_files(config, container, pod_spec, docs, where, errors):
    """Every file the config names comes from a read-only directory mount (no subPath: the kubelet
    never updates a subPath mount, so a rotated certificate would not reach claimgate) of a volume
    that provides it; private keys from Secrets only. Returns config_files(config)."""
    mounts = container.get("volumeMounts") or []
    for m in mounts:
        errors.check(not m.get("subPath") and not m.get("subPathExpr"), where,
                     f"volumeMount {m['name']} at {m['mountPath']} uses subPath: the kubelet never updates a subPath "
                     "mount, so a rotated certificate or an edited config would not reach claimgate")
    files = config_files(config)
    for f in files:
        path = f["path"]
        label = f"{f['key']} {path}"
        inside = [m for m in mounts if path.startswith(m["mountPath"].rstrip("/") + "/")]
        if not errors.check(inside, where, f"{label} is under no volumeMount of the claimgate container"):
            continue
        mount = max(inside, key=lambda m: len(m["mountPath"].rstrip("/")))
        errors.check(mount.get("readOnly") is True, where, f"{label}: the mount {mount['mountPath']} should be readOnly")
        volume = next((v for v in pod_spec.get("volumes") or [] if v["name"] == mount["name"]), None)
        if not errors.check(volume is not None, where, f"{label}: no volume {mount['name']} in the pod"):
            continue
        relative = path[len(mount["mountPath"].rstrip("/")) + 1:]
        provided = volume_files(volume, docs)
        if not errors.check(provided is not None, where,
                            f"{label}: cannot tell whether volume {volume['name']} provides {relative}; list the keys in `items`"):
            continue
        if errors.check(relative in provided, where,
                        f"{label}: volume {volume['name']} at {mount['mountPath']} provides {sorted(provided)}, not {relative}"):
            if f["role"] == "key":
                errors.check(provided[relative] == "Secret", where,
                             f"{label}: a private key must come from a Secret, not a {provided[relative]}")
    return files


def check_config_in_pod(text, config, files, where, errors):
    """claimgate --check-config on the config as the pod would see it: the certificate, key and CA
    files it names are minted (tests/integration/certs.py) at the same paths under a temporary
    directory, and the config is checked with its paths pointing there."""
    tls_files = [f for f in files if f["role"] in ("cert", "key", "ca")]
    if not tls_files:
        check_config(text, where, errors)
        return
    from certs import Authority  # tests/integration; python3-cryptography
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "pod"
        minted = Path(tmp) / "minted"
        minted.mkdir()
        authority = Authority(str(minted))
        pairs = {}
        for f in tls_files:
            target = root / f["path"].lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            if f["role"] == "ca":
                shutil.copyfile(authority.ca_file, target)
                continue
            if f["pair"] not in pairs:
                name = f"{f['pair']}.claimgate.test"
                pairs[f["pair"]] = authority.issue(f["pair"], name, dns=[name], client=True)
            cert_file, key_file, _ = pairs[f["pair"]]
            shutil.copyfile(cert_file if f["role"] == "cert" else key_file, target)

        def rebase(node):
            if isinstance(node, dict):
                return {k: (str(root) + v if k in TLS_FILE_KEYS and isinstance(v, str) and v.startswith("/") else rebase(v))
                        for k, v in node.items()}
            if isinstance(node, list):
                return [rebase(v) for v in node]
            return node

        check_config(yaml.safe_dump(rebase(config), sort_keys=False), f"{where} (with minted certificates and keys)", errors)


def listeners_of(config, where, errors):
    """[(host, port, tls or None)]: `listeners`, or `listen` as one plain listener."""
    if "listeners" in config:
        errors.check("listen" not in config, where, "the config has both listen and listeners (a config error)")
        out = [(*parse_address(entry["address"]), entry.get("tls")) for entry in config["listeners"] or []]
        errors.check(out, where, "listeners is empty")
        return out
    if errors.check("listen" in config, where, "the config has neither listen nor listeners"):
        return [(*parse_address(config["listen"]), None)]
    return []


def claimgate_pods(docs):
    """(Deployment, pod spec, claimgate container) for every Deployment running a claimgate container."""
    for dep in kind_of(docs, "Deployment"):
        pod_spec = dep["spec"]["template"]["spec"]
        gw = next((c for c in pod_spec["containers"] if c["name"] == "claimgate"), None)
        if gw is not None:
            yield dep, pod_spec, gw


def check_workloads(docs, source, sidecar, edge=False):
    """The checks a schema cannot make, for every Deployment that runs a claimgate container."""
    errors = Errors()
    pods = list(claimgate_pods(docs))
    errors.check(pods, source, "no Deployment with a container named claimgate")
    for dep, pod_spec, gw in pods:
        where = f"{source} {name_of(dep)}"
        pod = dep["spec"]["template"]
        pod_labels = pod["metadata"].get("labels") or {}
        annotations = pod["metadata"].get("annotations") or {}
        errors.check(selector_matches(dep["spec"]["selector"], pod_labels), where, "selector does not match the pod labels")
        for c in pod_spec["containers"]:
            check_security(c, pod_spec, f"{where} container {c['name']}", errors)

        text = claimgate_config_of(gw, pod_spec, docs, where, errors)
        if text is None:
            continue
        config = yaml.safe_load(text)
        files = check_mounted_files(config, gw, pod_spec, docs, where, errors)
        check_config_in_pod(text, config, files, where, errors)  # the other checks go on if it fails
        listeners = listeners_of(config, where, errors)
        traffic = {port: tls for _, port, tls in listeners}  # listener port -> its tls section or None
        admin_host, admin = parse_address(config["admin"])
        for host, port, _ in listeners:
            errors.check(host == "0.0.0.0", where, f"listener {host}:{port} must bind 0.0.0.0 in a pod")
        errors.check(admin_host == "0.0.0.0", where, f"config admin must bind 0.0.0.0 in a pod, not {admin_host}")
        errors.check(len(traffic) == len(listeners) and admin not in traffic, where,
                     f"listener ports {[p for _, p, _ in listeners]} and admin port {admin} must all differ")

        ports = {p["containerPort"]: p.get("name") for p in gw.get("ports") or []}
        errors.check(set(ports) == set(traffic) | {admin}, where,
                     f"claimgate containerPorts {sorted(ports)} != config listener/admin ports {sorted(traffic)}/{admin}")
        for port, tls in traffic.items():
            if port in ports:
                expected = "https" if tls else "http"
                errors.check(ports[port] == expected, where,
                             f"containerPort {port} ({'TLS' if tls else 'plain'} listener) is named {ports[port]!r}, not {expected!r}")
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = (gw.get(probe) or {}).get("httpGet")
            if errors.check(get is not None, where, f"{probe}.httpGet is missing"):
                errors.check(get.get("path") == path, where, f"{probe} path {get.get('path')} != {path}")
                errors.check(resolve_port(get.get("port"), gw) == admin, where,
                             f"{probe} port {get.get('port')} is not the admin port {admin}")
                errors.check(get.get("scheme", "HTTP") == "HTTP", where, f"{probe} scheme must be HTTP: the admin listener is plain")

        # Prometheus: pod annotations and/or a ServiceMonitor must point at the admin port.
        monitors = kind_of(docs, "ServiceMonitor")
        if annotations.get("prometheus.io/scrape") == "true":
            errors.check(annotations.get("prometheus.io/port") == str(admin), where,
                         f"prometheus.io/port {annotations.get('prometheus.io/port')!r} != admin port {admin}")
            errors.check(annotations.get("prometheus.io/path", "/metrics") == "/metrics", where, "prometheus.io/path != /metrics")
        else:
            errors.check(monitors, where, "neither prometheus.io/* annotations nor a ServiceMonitor")

        services = [s for s in kind_of(docs, "Service") if selector_matches({"matchLabels": s["spec"].get("selector")}, pod_labels)]
        errors.check(services, where, "no Service selects this pod")
        all_container_ports = {p["containerPort"]: c["name"] for c in pod_spec["containers"] for p in c.get("ports") or []}
        reached = set()
        for s in services:
            for p in s["spec"]["ports"]:
                target = resolve_port(p.get("targetPort", p["port"]), gw)
                if not errors.check(target in traffic or target == admin, f"{source} {name_of(s)}",
                                    f"port {p.get('name')} targets {p.get('targetPort')}, not claimgate's {sorted(traffic)}/{admin}"):
                    continue
                if target in traffic:
                    reached.add(target)
                    expected = "https" if traffic[target] else "http"
                    errors.check(p.get("name") == expected, f"{source} {name_of(s)}",
                                 f"port {p['port']} targets the {'TLS' if traffic[target] else 'plain'} listener "
                                 f"{target}; name it {expected!r}, not {p.get('name')!r}")
        errors.check(reached == set(traffic), where, f"no Service port targets the listener port(s) {sorted(set(traffic) - reached)}")
        for m in monitors:
            for ep in m["spec"]["endpoints"]:
                svc_ports = [p for s in services if selector_matches(m["spec"]["selector"], s["metadata"].get("labels") or {})
                             for p in s["spec"]["ports"] if p.get("name") == ep.get("port")]
                errors.check(svc_ports and all(resolve_port(p.get("targetPort"), gw) == admin for p in svc_ports),
                             f"{source} {name_of(m)}", f"endpoint port {ep.get('port')} is not a Service port targeting admin {admin}")
                errors.check(ep.get("path", "/metrics") == "/metrics", f"{source} {name_of(m)}", "path != /metrics")

        policies = [n for n in kind_of(docs, "NetworkPolicy") if selector_matches(n["spec"]["podSelector"], pod_labels)]
        errors.check(policies, where, "no NetworkPolicy selects this pod")
        open_to_all = set()
        for n in policies:
            errors.check("Ingress" in (n["spec"].get("policyTypes") or []), f"{source} {name_of(n)}", "policyTypes lacks Ingress")
            for rule in n["spec"].get("ingress") or []:
                if not errors.check(rule.get("ports"), f"{source} {name_of(n)}", "an ingress rule without ports opens every port"):
                    continue
                for p in rule["ports"]:
                    port = resolve_port(p.get("port"), gw)
                    errors.check(port in traffic or port == admin, f"{source} {name_of(n)}", f"admits port {p.get('port')}, not a claimgate port")
                    if not rule.get("from"):
                        open_to_all.add(port)
        errors.check(set(traffic) <= open_to_all, where,
                     f"no NetworkPolicy admits the listener port(s) {sorted(set(traffic) - open_to_all)} from clients")
        errors.check(admin not in open_to_all, where, f"the admin port {admin} is open to everyone")

        upstream_urls = {name: u["url"] for name, u in (config.get("upstreams") or {}).items()}
        if sidecar:
            errors.check(len(pod_spec["containers"]) >= 2, where, "a sidecar pod needs the app container too")
            for c in pod_spec["containers"]:
                if c["name"] == "claimgate":
                    continue
                errors.check(not c.get("ports"), f"{where} container {c['name']}",
                             "the app declares ports; it must listen on 127.0.0.1 only, behind claimgate")
            for name, url in upstream_urls.items():
                m = re.match(r"https?://([^/:]+):(\d+)", url)
                errors.check(m and m.group(1) == "127.0.0.1", where, f"upstream {name} {url} is not on 127.0.0.1")
                if m:
                    app_args = " ".join(a for c in pod_spec["containers"] if c["name"] != "claimgate"
                                        for a in (c.get("args") or []) + (c.get("command") or []))
                    errors.check(f"127.0.0.1:{m.group(2)}" in app_args, where,
                                 f"no app container is started on 127.0.0.1:{m.group(2)} (upstream {name})")
            errors.check(not set(all_container_ports) - set(traffic) - {admin}, where, "only claimgate may declare ports")

        hpas = [h for h in kind_of(docs, "HorizontalPodAutoscaler")
                if h["spec"]["scaleTargetRef"]["kind"] == "Deployment" and h["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"]]
        if hpas:
            errors.check("replicas" not in dep["spec"], where, "spec.replicas is set although an HPA owns the count")
        pdbs = [p for p in kind_of(docs, "PodDisruptionBudget") if selector_matches(p["spec"]["selector"], pod_labels)]
        if edge:
            errors.check(hpas, where, "the edge gateway needs a HorizontalPodAutoscaler")
            errors.check(pdbs, where, "the edge gateway needs a PodDisruptionBudget")
            for h in hpas:
                errors.check(h["spec"]["minReplicas"] >= 2, f"{source} {name_of(h)}", "minReplicas < 2 loses availability")
            for name, url in upstream_urls.items():
                service = re.match(r"https?://([^/:.]+)", url).group(1)
                upstream_labels = {"app.kubernetes.io/name": service}
                guards = [n for n in kind_of(docs, "NetworkPolicy") if selector_matches(n["spec"]["podSelector"], upstream_labels)]
                ok = bool(guards)
                for n in guards:
                    for rule in n["spec"].get("ingress") or []:
                        sources = rule.get("from") or []
                        ok &= bool(sources) and all(
                            set(f) == {"podSelector"} and selector_matches(f["podSelector"], pod_labels)
                            and not selector_matches(f["podSelector"], upstream_labels) for f in sources)
                errors.check(ok, where, f"upstream {name} ({url}): no NetworkPolicy restricts pods "
                             f"app.kubernetes.io/name={service} to traffic from the gateway pods")
    errors.raise_if_any(source)
    log(f"  {source}: ports, probes, Services, NetworkPolicies, securityContext, mounted files and config agree")


TLS_DIR = "/etc/claimgate/tls"


def check_tls_termination(docs, source, secret, port, plain_port=None, sni_secrets=(), client_ca=None,
                          verify_client="required", min_version="1.2"):
    """What a TLS render must say: the first listener is TLS on 0.0.0.0:`port`, its default
    certificate is tls.crt/tls.key of the kubernetes.io/tls Secret `secret` mounted as a directory
    at /etc/claimgate/tls, SNI certificates come from their Secrets at /etc/claimgate/tls-sni/<name>,
    mTLS (client_ca = (kind, name)) from /etc/claimgate/client-ca/ca.crt; a plain listener only on
    `plain_port`; a Service port "https" in front of `port`."""
    errors = Errors()
    pods = list(claimgate_pods(docs))
    errors.check(pods, source, "no Deployment with a container named claimgate")
    for dep, pod_spec, gw in pods:
        where = f"{source} {name_of(dep)}"
        text = claimgate_config_of(gw, pod_spec, docs, where, Errors())
        if not errors.check(text is not None, where, "no config"):
            continue
        config = yaml.safe_load(text)
        listeners = config.get("listeners")
        if not errors.check(isinstance(listeners, list) and listeners and "listen" not in config, where,
                            "a TLS config needs `listeners:` (and no `listen:`)"):
            continue
        first = listeners[0]
        tls = first.get("tls") or {}
        errors.check(first.get("address") == f"0.0.0.0:{port}" and tls, where,
                     f"the first listener must be TLS on 0.0.0.0:{port}, not {first}")
        plain = [entry.get("address") for entry in listeners if not entry.get("tls")]
        errors.check(plain == ([f"0.0.0.0:{plain_port}"] if plain_port else []), where,
                     f"plain listeners {plain}, expected {[f'0.0.0.0:{plain_port}'] if plain_port else 'none'}")
        errors.check(len(listeners) == 1 + len(plain), where, "more than one TLS listener")
        wanted = [{"cert_file": f"{TLS_DIR}/tls.crt", "key_file": f"{TLS_DIR}/tls.key"}]
        wanted += [{"cert_file": f"/etc/claimgate/tls-sni/{s}/tls.crt", "key_file": f"/etc/claimgate/tls-sni/{s}/tls.key"}
                   for s in sni_secrets]
        errors.check(tls.get("certificates") == wanted, where, f"certificates {tls.get('certificates')} != {wanted}")
        errors.check(str(tls.get("min_version")) == min_version, where, f"min_version {tls.get('min_version')!r} != {min_version!r}")
        if client_ca:
            errors.check(tls.get("client_ca_file") == "/etc/claimgate/client-ca/ca.crt", where,
                         f"client_ca_file {tls.get('client_ca_file')!r} != /etc/claimgate/client-ca/ca.crt")
            errors.check(tls.get("verify_client") == verify_client, where, f"verify_client {tls.get('verify_client')!r} != {verify_client}")
        else:
            errors.check(not tls.get("client_ca_file") and "verify_client" not in tls, where, "mTLS is on; expected off")

        # Which Secret/ConfigMap sits at each mount (check_mounted_files checked the files exist).
        mounts = {m["mountPath"].rstrip("/"): m for m in gw.get("volumeMounts") or []}
        volumes = {v["name"]: v for v in pod_spec.get("volumes") or []}
        expected_sources = {TLS_DIR: ("secret", secret)}
        expected_sources.update({f"/etc/claimgate/tls-sni/{s}": ("secret", s) for s in sni_secrets})
        if client_ca:
            expected_sources["/etc/claimgate/client-ca"] = client_ca
        for path, (kind, name) in expected_sources.items():
            mount = mounts.get(path)
            if not errors.check(mount is not None, where, f"nothing is mounted at {path}"):
                continue
            errors.check(mount.get("readOnly") is True and not mount.get("subPath") and not mount.get("subPathExpr"),
                         where, f"{path} must be a read-only directory mount (no subPath), not {mount}")
            volume = volumes.get(mount["name"], {})
            got = (volume.get("secret") or {}).get("secretName") if kind == "secret" else (volume.get("configMap") or {}).get("name")
            errors.check(got == name, where, f"{path} is volume {volume}, expected {kind} {name}")

        services = [s for s in kind_of(docs, "Service")
                    if selector_matches({"matchLabels": s["spec"].get("selector")}, dep["spec"]["template"]["metadata"].get("labels") or {})]
        https = [p for s in services for p in s["spec"]["ports"] if p.get("name") == "https"]
        errors.check(https and all(resolve_port(p.get("targetPort"), gw) == port for p in https), where,
                     f"no Service port \"https\" targeting the TLS listener {port}")
        if not plain_port:
            errors.check(not [p for s in services for p in s["spec"]["ports"] if p.get("name") == "http"], where,
                         "a Service port \"http\" although there is no plain listener")
    errors.raise_if_any(source)
    log(f"  {source}: TLS on {port} from Secret {secret} mounted at {TLS_DIR} (no subPath)"
        + (f", SNI {list(sni_secrets)}" if sni_secrets else "") + (f", mTLS from {client_ca[0]} {client_ca[1]}" if client_ca else "")
        + (f", plain listener {plain_port}" if plain_port else ", no plain listener"))


# ---------------------------------------------------------------------------------------------
# commands


def cmd_kustomize(shape):
    """deploy/k8s/<shape>: sidecar (plain HTTP), sidecar-tls (the sidecar with its tls component),
    edge (TLS from the Secret claimgate-edge-tls)."""
    directory = ROOT / "deploy" / "k8s" / shape
    docs = render_kustomize(directory)
    log(f"kubectl kustomize {directory.relative_to(ROOT)}: {len(docs)} objects")
    validate_schemas(docs, f"k8s/{shape}")
    check_workloads(docs, f"k8s/{shape}", sidecar=shape.startswith("sidecar"), edge=shape == "edge")
    kinds = {d["kind"] for d in docs}
    want = {"Deployment", "Service", "ConfigMap", "NetworkPolicy"}
    if shape == "edge":
        want |= {"HorizontalPodAutoscaler", "PodDisruptionBudget"}
    if not want <= kinds:
        raise CheckFailed(f"k8s/{shape}: missing kinds {sorted(want - kinds)}")
    if shape == "edge":
        check_tls_termination(docs, "k8s/edge", secret="claimgate-edge-tls", port=8443)
    if shape == "sidecar-tls":
        check_tls_termination(docs, "k8s/sidecar-tls", secret="orders-tls", port=8443)
        # The component replaces the config: it must be the sidecar's own with listeners for listen.
        plain = yaml.safe_load((ROOT / "deploy" / "k8s" / "sidecar" / "claimgate.yaml").read_text())
        tls = yaml.safe_load((ROOT / "deploy" / "k8s" / "sidecar" / "tls" / "claimgate-tls.yaml").read_text())
        plain.pop("listen", None)
        tls.pop("listeners", None)
        if plain != tls:
            keys = sorted(k for k in set(plain) | set(tls) if plain.get(k) != tls.get(k))
            raise CheckFailed(f"deploy/k8s/sidecar/tls/claimgate-tls.yaml differs from ../claimgate.yaml in {keys}, "
                              "not only in listen/listeners")
        log("  k8s/sidecar-tls: the config is the sidecar's with listeners instead of listen")


def cmd_helm():
    chart = ROOT / "helm" / "claimgate"
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    values = yaml.safe_load((chart / "values.yaml").read_text())
    if values["image"]["tag"] != meta["appVersion"]:
        raise CheckFailed(f"values.yaml image.tag {values['image']['tag']} != Chart.yaml appVersion {meta['appVersion']}")

    docs = render_helm(chart)
    log(f"helm/claimgate with default values: {len(docs)} objects")
    validate_schemas(docs, "helm default")
    check_workloads(docs, "helm default", sidecar=False)

    edge_args = ["-f", str(HERE / "helm-edge-values.yaml"), "--set", "ports.http=8181", "--set", "ports.admin=9911",
                 "--release-name", "edge", "--namespace", "shop"]
    docs = render_helm(chart, *edge_args)
    log(f"helm/claimgate with helm-edge-values.yaml and ports 8181/9911: {len(docs)} objects")
    validate_schemas(docs, "helm edge")
    check_workloads(docs, "helm edge", sidecar=False, edge=True)
    kinds = sorted({d["kind"] for d in docs})
    want = ["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceMonitor"]
    if kinds != want:
        raise CheckFailed(f"helm edge: kinds {kinds} != {want}")
    config = yaml.safe_load(kind_of(docs, "ConfigMap")[0]["data"]["config.yaml"])
    if (config["listen"], config["admin"]) != ("0.0.0.0:8181", "0.0.0.0:9911"):
        raise CheckFailed(f"helm edge: --set ports did not reach the config: {config['listen']} {config['admin']}")

    docs = render_helm(HERE / "helm-sidecar-parent", "--release-name", "shop")
    log(f"tests/deploy/helm-sidecar-parent (claimgate as a sidecar in another chart): {len(docs)} objects")
    validate_schemas(docs, "helm sidecar")
    check_workloads(docs, "helm sidecar", sidecar=True)
    names = [name_of(d) for d in docs]
    if any(n.startswith(("Deployment/shop-claimgate", "Service/shop-claimgate")) for n in names):
        raise CheckFailed(f"helm sidecar: standalone=false still renders the gateway's own workload: {names}")

    stderr = render_helm(chart, "--set", "image.tag=", expect_failure=True)
    if "image.tag is required" not in stderr:
        raise CheckFailed(f"helm: an empty image.tag should fail with 'image.tag is required', got:\n{stderr}")
    log("  helm: an empty image.tag fails with 'image.tag is required'")


def cmd_helm_tls():
    """helm/claimgate with tls.*, upstreamCa and upstreamClientCert: the edge gateway with every TLS
    option, the TLS-only minimum, claimgate as a TLS sidecar in another chart, and the value
    combinations the chart must refuse. Reports every render's problems, not only the first."""
    chart = ROOT / "helm" / "claimgate"
    failures = []

    def attempt(what, check):
        try:
            check()
        except CheckFailed as e:
            failures.append(f"{what}: {e}")

    def refused(args, message):
        stderr = render_helm(chart, *args, expect_failure=True)
        if message not in stderr:
            raise CheckFailed(f"helm {' '.join(args)} should fail with {message!r}, got:\n{stderr}")
        log(f"  helm {' '.join(args)}: refused ({message})")

    def edge():
        args = ["-f", str(HERE / "helm-edge-tls-values.yaml"), "--set", "ports.https=8553", "--set", "ports.http=8181",
                "--release-name", "edge", "--namespace", "shop"]
        docs = render_helm(chart, *args)
        log(f"helm/claimgate with helm-edge-tls-values.yaml and ports 8553/8181: {len(docs)} objects")
        validate_schemas(docs, "helm edge TLS")
        check_workloads(docs, "helm edge TLS", sidecar=False, edge=True)
        check_tls_termination(docs, "helm edge TLS", secret="shop-tls", port=8553, plain_port=8181,
                              sni_secrets=["shop-api-tls"], client_ca=("configMap", "shop-client-ca"),
                              verify_client="optional", min_version="1.3")
        dep = kind_of(docs, "Deployment")[0]
        volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
        client_ca = volumes["claimgate-client-ca"]["configMap"]
        if client_ca.get("items") != [{"key": "ca-bundle.pem", "path": "ca.crt"}]:
            raise CheckFailed(f"helm edge TLS: tls.clientCa.key did not reach the volume's items: {client_ca}")
        config = yaml.safe_load(kind_of(docs, "ConfigMap")[0]["data"]["config.yaml"])
        orders = config["upstreams"]["orders"]
        if not orders["url"].startswith("https://") or orders["ca_file"] != "/etc/claimgate/upstream-ca/ca.crt":
            raise CheckFailed(f"helm edge TLS: upstream orders {orders}")
        for path, secret in (("/etc/claimgate/upstream-ca", "shop-internal-ca"), ("/etc/claimgate/upstream-client", "claimgate-upstream-client")):
            mount = next(m for m in dep["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] if m["mountPath"] == path)
            if volumes[mount["name"]].get("secret", {}).get("secretName") != secret:
                raise CheckFailed(f"helm edge TLS: {path} is {volumes[mount['name']]}, expected Secret {secret}")
        log("  helm edge TLS: the upstream CA and client certificate Secrets are mounted where the upstream's files point")

    def minimal():
        docs = render_helm(chart, "--set", "tls.enabled=true", "--set", "tls.secretName=gw-tls")
        log(f"helm/claimgate with tls.enabled=true tls.secretName=gw-tls: {len(docs)} objects")
        validate_schemas(docs, "helm TLS only")
        check_workloads(docs, "helm TLS only", sidecar=False)
        check_tls_termination(docs, "helm TLS only", secret="gw-tls", port=8443)
        policy = next(n for n in kind_of(docs, "NetworkPolicy"))
        admitted = sorted(p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"])
        if admitted != [8443, 9901]:
            raise CheckFailed(f"helm TLS only: the NetworkPolicy admits {admitted}, expected [8443, 9901]")

    def sidecar():
        docs = render_helm(HERE / "helm-sidecar-parent", "--release-name", "shop",
                           "--set", "claimgate.tls.enabled=true", "--set", "claimgate.tls.secretName=shop-tls")
        log(f"tests/deploy/helm-sidecar-parent with claimgate.tls: {len(docs)} objects")
        validate_schemas(docs, "helm sidecar TLS")
        check_workloads(docs, "helm sidecar TLS", sidecar=True)
        check_tls_termination(docs, "helm sidecar TLS", secret="shop-tls", port=8443)

    def refusals():
        tls = ["--set", "tls.enabled=true", "--set", "tls.secretName=gw-tls"]
        refused(["--set", "tls.enabled=true"], "tls.secretName is required")
        refused([*tls, "--set", "tls.minVersion=1.1"], 'tls.minVersion must be "1.2" or "1.3"')
        refused([*tls, "--set", "tls.clientCa.secretName=a", "--set", "tls.clientCa.configMapName=b"],
                "tls.clientCa: set secretName or configMapName, not both")
        refused([*tls, "--set", "tls.clientCa.secretName=a", "--set", "tls.clientCa.verifyClient=maybe"],
                "tls.clientCa.verifyClient must be required or optional")
        refused(["--set", "tls.clientCa.secretName=a"], "need tls.enabled: true")
        refused([*tls, "--set", "ports.https=9901"], "ports.https must differ")
        refused([*tls, "--set", "tls.plainListener=true", "--set", "ports.https=8080"], "ports.https must differ")
        refused(["--set", "upstreams.app.ca_file=/etc/claimgate/upstream-ca/ca.crt"],
                "upstreams.app.ca_file is under /etc/claimgate/upstream-ca/")
        refused(["--set", "upstreams.app.client_key_file=/etc/claimgate/upstream-client/tls.key"],
                "upstreams.app.client_cert_file/client_key_file are under /etc/claimgate/upstream-client/")

    attempt("refused values", refusals)
    attempt("helm edge TLS", edge)
    attempt("helm TLS only", minimal)
    attempt("helm sidecar TLS", sidecar)
    if failures:
        raise CheckFailed(f"{len(failures)} of 4 TLS render checks failed\n" + "\n".join(failures))


def dpkg_package(path):
    candidates = [path, os.path.realpath(path)]
    for p in list(candidates):
        if p.startswith("/lib"):
            candidates.append("/usr" + p)
        elif p.startswith("/usr/lib"):
            candidates.append(p[4:])
    for p in candidates:
        r = run(["dpkg", "-S", p])
        if r.returncode == 0:
            return r.stdout.split(":", 1)[0].strip()
    return None


def dockerfile_stages(text):
    joined = re.sub(r"\\\n", " ", text)
    stages = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append({"from": rest.strip(), "lines": []})
        elif stages:
            stages[-1]["lines"].append((instruction.upper(), rest.strip()))
    return stages


def apt_installs(stage):
    packages = set()
    for instruction, rest in stage["lines"]:
        if instruction != "RUN":
            continue
        for command in re.split(r"&&|;", rest):
            words = shlex.split(command)
            if "apt-get" in words and "install" in words:
                packages |= {w for w in words[words.index("install") + 1:] if not w.startswith("-")}
    return packages


def cmd_dockerfile():
    text = (ROOT / "Dockerfile").read_text()
    stages = dockerfile_stages(text)
    errors = Errors()
    errors.check(len(stages) >= 2, "Dockerfile", "expected a multi-stage build")
    build, runtime = stages[0], stages[-1]
    errors.check(re.fullmatch(r"debian:bookworm AS \w+", build["from"], re.I), "Dockerfile", f"build stage FROM {build['from']}")
    errors.check(runtime["from"] == "debian:bookworm-slim", "Dockerfile", f"runtime stage FROM {runtime['from']}")
    installed = apt_installs(runtime)

    r = run(["ldd", str(BINARY)])
    if r.returncode != 0:
        raise CheckFailed(f"ldd {BINARY} failed: {r.stderr}")
    needed = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\s*(\S+)\s+=>\s+(\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
        if not m or "vdso" in line:
            continue
        path = m.group(m.lastindex)
        errors.check(path != "not", "ldd", f"{m.group(1)} not found")
        package = dpkg_package(path)
        if errors.check(package is not None, "ldd", f"no Debian package owns {path}"):
            needed.setdefault(package, []).append(os.path.basename(path))
    in_base_image = {"libc6"}  # essential in every Debian image, including bookworm-slim
    for package, libs in sorted(needed.items()):
        ok = package in installed or package in in_base_image
        log(f"  {'ok  ' if ok else 'MISS'} {package:28} {' '.join(libs)}")
        errors.check(ok, "Dockerfile runtime stage", f"does not install {package} ({', '.join(libs)})")
    errors.check("ca-certificates" in installed, "Dockerfile runtime stage", "needs ca-certificates for HTTPS jwks_url")
    extra = installed - set(needed) - {"ca-certificates"}
    errors.check(not extra, "Dockerfile runtime stage", f"installs packages the binary does not need: {sorted(extra)}")

    users = [rest for i, rest in runtime["lines"] if i == "USER"]
    errors.check(users and users[-1].split(":")[0] not in ("0", "root"), "Dockerfile", f"runtime USER must be non-root: {users}")
    entry = " ".join(rest for i, rest in runtime["lines"] if i in ("ENTRYPOINT", "CMD"))
    errors.check("--config" in entry and "/etc/claimgate/config.yaml" in entry, "Dockerfile", "ENTRYPOINT/CMD must run --config /etc/claimgate/config.yaml")
    errors.check(any(i == "COPY" and rest.endswith("/etc/claimgate/config.yaml") for i, rest in runtime["lines"]),
                 "Dockerfile", "the runtime stage must COPY the example config to /etc/claimgate/config.yaml")

    # The image's config is config.example.yaml through the Dockerfile's sed: run the same sed here.
    m = re.search(r"sed((?:\s+-e\s+'[^']*')+)\s+config\.example\.yaml", text)
    if errors.check(m, "Dockerfile", "expected `sed -e '...' config.example.yaml` producing the image's config"):
        sed = run(["sed", *shlex.split(m.group(1)), str(ROOT / "config.example.yaml")])
        config = check_config(sed.stdout, "image config (config.example.yaml through the Dockerfile's sed)", errors)
        if config:
            listen, admin = parse_address(config["listen"]), parse_address(config["admin"])
            errors.check(listen[0] == "0.0.0.0" and admin[0] == "0.0.0.0", "image config", "must listen on 0.0.0.0")
            exposed = {int(p.split("/")[0]) for i, rest in runtime["lines"] if i == "EXPOSE" for p in rest.split()}
            errors.check(exposed == {listen[1], admin[1]}, "Dockerfile", f"EXPOSE {sorted(exposed)} != config ports {listen[1]}, {admin[1]}")

    ignore = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", "build", "build-*"):
        errors.check(entry in ignore, ".dockerignore", f"should exclude {entry}")
    errors.raise_if_any("Dockerfile")
    log("  Dockerfile: stages, runtime libraries, user, config and ports OK")


def cmd_forward_auth():
    """deploy/forward-auth: claimgate.yaml passes --check-config; nginx.conf passes `nginx -t` (when
    nginx is installed); the Traefik middleware and nginx point at claimgate's listen + /auth and
    pass on every default claim header."""
    directory = ROOT / "deploy" / "forward-auth"
    errors = Errors()
    config = check_config((directory / "claimgate.yaml").read_text(), "forward-auth/claimgate.yaml", errors)
    errors.raise_if_any("deploy/forward-auth")
    auth_url = f"http://{config['listen']}{config['forward_auth']['path']}"
    claim_headers = ["X-User-Id", "X-User-Tenant", "X-User-Workspace", "X-User-Roles", "X-User-Scopes"]

    traefik = yaml.safe_load((directory / "traefik-dynamic.yaml").read_text())
    fa = traefik["http"]["middlewares"]["claimgate"]["forwardAuth"]
    errors.check(fa["address"] == auth_url, "traefik-dynamic.yaml", f"address {fa['address']} != {auth_url}")
    errors.check(set(claim_headers) <= set(fa.get("authResponseHeaders") or []), "traefik-dynamic.yaml",
                 f"authResponseHeaders must include {claim_headers}")

    nginx_conf = (directory / "nginx.conf").read_text()
    errors.check(f"server {config['listen']};" in nginx_conf, "nginx.conf", f"upstream claimgate must be {config['listen']}")
    errors.check(f"proxy_pass http://claimgate{config['forward_auth']['path']};" in nginx_conf, "nginx.conf", "must proxy_pass to /auth")
    for h in claim_headers:
        errors.check(f"proxy_set_header {h} " in nginx_conf, "nginx.conf", f"must set {h} from the auth answer")
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if nginx:
        with tempfile.TemporaryDirectory() as prefix:
            os.mkdir(os.path.join(prefix, "logs"))
            r = run([nginx, "-t", "-q", "-p", prefix, "-c", str(directory / "nginx.conf")])
            errors.check(r.returncode == 0, "nginx.conf", f"nginx -t failed:\n{r.stderr}")
            if r.returncode == 0:
                log("  nginx -t: nginx.conf OK")
    else:
        log("  note: nginx is not installed; nginx.conf syntax not checked")
    errors.raise_if_any("deploy/forward-auth")


# ---------------------------------------------------------------------------------------------
# grafana


class EchoHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass




def http_get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def scrape_live_metrics(tmp):
    """Runs the gateway with a small config, makes requests that touch every family, scrapes /metrics."""
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    dead = free_port()  # nothing listens here: connect errors
    keys = tmp / "keys"
    r = run([str(BINARY), "keygen", "--alg", "EdDSA", "--out-dir", str(keys)])
    if r.returncode != 0:
        raise CheckFailed(f"claimgate keygen failed: {r.stderr}")
    listen, admin = free_port(), free_port()
    config = tmp / "gateway.yaml"
    config.write_text(f"""
listen: "127.0.0.1:{listen}"
admin: "127.0.0.1:{admin}"
threads: 1
log_level: error
upstreams:
  app: {{ url: "http://127.0.0.1:{upstream.server_address[1]}" }}
  dead: {{ url: "http://127.0.0.1:{dead}", connect_timeout_ms: 500 }}
providers:
  - name: local
    issuer: "https://issuer.test"
    audiences: ["test"]
    jwks_file: "{keys / 'jwks.json'}"
    algorithms: [EdDSA]
routes:
  - {{ name: public, match: {{ path_prefix: /public }}, upstream: app, auth: anonymous }}
  - {{ name: broken, match: {{ path_prefix: /broken }}, upstream: dead, auth: anonymous }}
  - {{ name: api, match: {{ path_prefix: /api }}, upstream: app, require: {{ scopes_any: [read] }} }}
""")
    def mint(scope):
        r = run([str(BINARY), "mint", "--key", str(keys / "private.jwk"), "--iss", "https://issuer.test",
                 "--aud", "test", "--scope", scope])
        if r.returncode != 0:
            raise CheckFailed(f"claimgate mint failed: {r.stderr}")
        return r.stdout.strip()
    good, other = mint("read"), mint("write")
    gateway = subprocess.Popen([str(BINARY), "--config", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if http_get(f"http://127.0.0.1:{admin}/readyz")[0] == 200:
                    break
            except OSError:
                pass
            if gateway.poll() is not None or time.monotonic() > deadline:
                raise CheckFailed(f"the gateway did not become ready:\n{gateway.stderr.read() if gateway.poll() is not None else ''}")
            time.sleep(0.1)
        base = f"http://127.0.0.1:{listen}"
        expected = [("/public/x", {}, 200), ("/broken/x", {}, 502), ("/api/x", {}, 401),
                    ("/api/x", {"Authorization": "Bearer not.a.token"}, 401),
                    ("/api/x", {"Authorization": f"Bearer {good}"}, 200), ("/api/x", {"Authorization": f"Bearer {good}"}, 200),
                    ("/api/x", {"Authorization": f"Bearer {other}"}, 403), ("/nowhere", {}, 404)]
        for path, headers, status in expected:
            got = http_get(base + path, headers)[0]
            if got != status:
                raise CheckFailed(f"GET {path}: {got}, expected {status}")
        return http_get(f"http://127.0.0.1:{admin}/metrics")[1]
    finally:
        gateway.terminate()
        try:
            gateway.wait(timeout=20)
        except subprocess.TimeoutExpired:
            gateway.kill()
            gateway.wait()
        upstream.shutdown()


def parse_exposition(text):
    """Prometheus text -> ({series name: family}, {series name: {label: set(values)}})."""
    types, series = {}, {}
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)", line)
        if m:
            family, kind = m.groups()
            names = [family] + ([family + s for s in ("_bucket", "_sum", "_count")] if kind == "histogram" else [])
            for n in names:
                types[n] = family
                series.setdefault(n, {})
            continue
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s", line)
        labels = series.setdefault(m.group(1), {})
        for k, v in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""):
            labels.setdefault(k, set()).add(v)
    return types, series


def sampled_without_labels(text):
    """Series names that have a sample line without labels (e.g. claimgate_active_connections)."""
    return set(re.findall(r"^([a-zA-Z_:][\w:]*)\s", text, re.M))


TARGET_LABELS = {"job", "instance", "namespace", "pod"}  # added by Prometheus at scrape time


def dashboard_queries(dashboard):
    queries = []
    def walk(panels):
        for p in panels:
            for t in p.get("targets") or []:
                queries.append((p.get("title"), t["expr"]))
            walk(p.get("panels") or [])
    walk(dashboard["panels"])
    for v in (dashboard.get("templating") or {}).get("list") or []:
        q = v.get("query")
        if v.get("type") == "query" and q:
            queries.append((f"variable {v['name']}", q["query"] if isinstance(q, dict) else q))
    return queries


def cmd_grafana():
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "claimgate.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        text = scrape_live_metrics(Path(tmp))
    types, series = parse_exposition(text)
    log(f"  scraped {len(set(types.values()))} metric families from the running gateway")
    errors = Errors()
    used = set()
    warnings = set()
    for title, expr in dashboard_queries(dashboard):
        where = f"panel {title!r}"
        names = [n for n in re.findall(r"\b(claimgate_\w+)", expr)]
        errors.check(names or title.startswith("variable"), where, f"queries no claimgate metric: {expr}")
        for name in dict.fromkeys(names):
            used.add(name)
            if not errors.check(name in types, where, f"{name} is not exported by the gateway"):
                continue
            labels = series.get(name, {})
            if not labels and name not in sampled_without_labels(text):
                warnings.add(f"WARNING: {name} had no samples after the test requests, so its labels in "
                             f"{title!r} are not checked")
                continue
            # Label matchers right after the metric name: {label="value", label=~"a|b", label!="x"}.
            matchers = " ".join(m.group(1) for m in re.finditer(re.escape(name) + r"\{([^}]*)\}", expr))
            for label, op, value in dict.fromkeys(re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"', matchers)):
                if label in TARGET_LABELS:
                    continue
                if not errors.check(label in labels, where, f"{name} has no label {label!r} (has {sorted(labels)})"):
                    continue
                if "$" in value or op in ("!=", "!~"):
                    continue
                for alternative in value.split("|") if op == "=~" else [value]:
                    errors.check(alternative in labels[label], where,
                                 f"{name}{{{label}}} never takes the value {alternative!r} (seen {sorted(labels[label])})")
        # Grouping labels: by (a, b) must exist on at least one metric of the expression.
        for group in re.findall(r"\bby\s*\(([^)]*)\)", expr):
            for label in [g.strip() for g in group.split(",") if g.strip()]:
                if any(not series.get(n) and n not in sampled_without_labels(text) for n in names):
                    continue  # warned above
                have = set().union(*(series.get(n, {}).keys() for n in names)) | TARGET_LABELS | {"le"}
                errors.check(label in have, where, f"groups by {label!r}, which none of {names} has")
    log(f"  the dashboard queries {len(used)} series names; all exported: {not errors.items}")
    for w in sorted(warnings):
        log(f"  {w}")
    missing = {types[n] for n in types} - {types[n] for n in used if n in types}
    if missing:
        log(f"  note: families without a panel: {sorted(missing)}")
    errors.raise_if_any("deploy/grafana/claimgate.json")


KUBE_COMMANDS = ("kustomize-sidecar", "kustomize-sidecar-tls", "kustomize-edge", "helm", "helm-tls")


def main(argv):
    commands = {
        "setup": setup,
        "kustomize-sidecar": lambda: cmd_kustomize("sidecar"),
        "kustomize-sidecar-tls": lambda: cmd_kustomize("sidecar-tls"),
        "kustomize-edge": lambda: cmd_kustomize("edge"),
        "helm": cmd_helm,
        "helm-tls": cmd_helm_tls,
        "dockerfile": cmd_dockerfile,
        "grafana": cmd_grafana,
        "forward-auth": cmd_forward_auth,
    }
    if len(argv) != 2 or argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] != "setup":
        if yaml is None:
            print("FAIL: python3-yaml is missing; run `deploy_checks.py setup` or scripts/install-deps.sh", file=sys.stderr)
            return 1
        for tool, hint in (("kubectl", "machine image"), ("node", "nodejs"), (str(HELMRENDER), "deploy.setup")):
            if argv[1] in KUBE_COMMANDS and shutil.which(tool) is None:
                print(f"FAIL: {tool} not found ({hint}); run `deploy_checks.py setup` first", file=sys.stderr)
                return 1
        if argv[1] in KUBE_COMMANDS and not (NODE_MODULES / "kubernetes-models").is_dir():
            print(f"FAIL: {NODE_MODULES}/kubernetes-models missing; run `deploy_checks.py setup` first", file=sys.stderr)
            return 1
        if not os.access(BINARY, os.X_OK):
            print(f"FAIL: {BINARY} is not an executable; set CLAIMGATE_BINARY", file=sys.stderr)
            return 1
    started = time.monotonic()
    try:
        commands[argv[1]]()
    except CheckFailed as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    log(f"PASS {argv[1]} ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
