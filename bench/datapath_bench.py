#!/usr/bin/python3
"""The whole data-path table in one run: claimgate next to nginx and HAProxy.

Layout: every proxy under test runs alone on CPU 0 with one worker (claimgate `threads: 1`,
`access_log: false`; nginx one worker, upstream keepalive, access_log off; HAProxy nbthread 1).
The upstream nginx (static files and `return 200`), the Python upload sink and the load
generator (wrk, curl, or this script's own clients) share CPU 1. Rounds interleave the targets
(the order flips every round) so drift on a noisy machine hits all alike; tables show medians.
Everything binds 127.0.0.1; ports come from benchlib.free_port.

Sections (--only NAME[,NAME]):
  relay    body relay, downloads and uploads of 64 KiB, 1 MiB (wrk -c8, req/s), 64 MiB,
           256 MiB (one curl stream, MB/s), a chunked 64 MiB each way; proxy CPU s per GiB
  tiny     tiny responses, plain proxy: req/s (wrk -c64), proxy CPU us/request, p99
  cached   one repeated ES256 / EdDSA token (verified-token cache hits) vs claimgate plain
  fresh    N distinct tokens per algorithm (ES256, EdDSA, RS256; default 200,000), token cache at
           its default size (10,000 < N, LRU, so every request misses; checked on /metrics);
           ES256 vs HAProxy 2.6 jwt_verify; EdDSA/RS256 us/request vs plain + raw verify
  alloc    heap allocations per request after warm-up (LD_PRELOAD bench/alloc_count.c), plain
           and cached-token paths, counted with an exact-count keep-alive client
  idle     RSS per idle keep-alive connection at 1,000 and 10,000 connections (and nginx's)
  threads  claimgate threads: 1 (CPU 0) vs threads: 2 (CPUs 0,1) on tiny responses, with the
           load generator's own CPU share

Usage: bench/datapath_bench.py [--binary PATH] [--quick] [--only SECTIONS] [--rounds N]
                               [--duration S] [--tokens N] [--json FILE]
Tokens are minted once with python3-cryptography (independent of claimgate's code) in
parallel and cached in --token-cache (default /var/tmp/claimgate-bench-tokens/N), outside the
measured time. Needs nginx, wrk, haproxy, curl, cc, python3-cryptography.
"""
import argparse
import base64
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

import benchlib
from benchlib import (GiB, KiB, MiB, Target, brief, claimgate_config, free_port, haproxy_config, med, proc_cpu_s,
                      proc_rss_kib, raise_nofile, require_tools, start, start_nginx, wait_port)

HERE = os.path.dirname(os.path.abspath(__file__))
ISSUER = "https://bench.idp"
SECTIONS = ("relay", "tiny", "cached", "fresh", "alloc", "idle", "threads")


# ---------------------------------------------------------------------------------------------
# tokens


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_MINT = {}


def _mint_init(pems):
    from cryptography.hazmat.primitives import serialization
    for alg, pem in pems.items():
        _MINT[alg] = serialization.load_pem_private_key(pem, None)


def _mint_range(job):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    alg, start_i, stop_i, now = job
    key = _MINT[alg]
    kid = {"ES256": "es", "EdDSA": "ed", "RS256": "rs"}[alg]
    header = _b64(json.dumps({"alg": alg, "kid": kid, "typ": "JWT"}, separators=(",", ":")).encode())
    out = []
    for i in range(start_i, stop_i):
        claims = {"iss": ISSUER, "aud": "bench", "sub": "user:%d" % i, "tenant_id": "org_a", "roles": ["editor"],
                  "scopes": ["read:users", "write:posts"], "iat": now, "exp": now + 30 * 86400}
        signing_input = (header + "." + _b64(json.dumps(claims, separators=(",", ":")).encode())).encode()
        if alg == "ES256":
            r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        elif alg == "RS256":
            sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            sig = key.sign(signing_input)
        out.append(signing_input.decode() + "." + _b64(sig))
    return out


def ensure_tokens(cache_dir, count):
    """cache_dir/{jwks.json, es256.pem, es256.tokens, eddsa.tokens, rs256.tokens}: reused while the
    tokens are valid for at least two more days, else minted again (in parallel on both cores)."""
    meta_path = os.path.join(cache_dir, "meta.json")
    try:
        with open(meta_path) as f:
            meta = json.load(f)
        if meta["count"] == count and meta["exp"] - time.time() > 2 * 86400:
            return cache_dir, False
    except (OSError, ValueError, KeyError):
        pass
    import multiprocessing
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    os.makedirs(cache_dir, exist_ok=True)
    keys = {"ES256": ec.generate_private_key(ec.SECP256R1()), "EdDSA": ed25519.Ed25519PrivateKey.generate(),
            "RS256": rsa.generate_private_key(65537, 2048)}
    pems = {alg: k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()) for alg, k in keys.items()}
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
    jwks = {"keys": []}
    for alg, algo, kid in (("ES256", ECAlgorithm, "es"), ("EdDSA", OKPAlgorithm, "ed"), ("RS256", RSAAlgorithm, "rs")):
        jwk = json.loads(algo.to_jwk(keys[alg].public_key()))
        jwk.update({"kid": kid, "alg": alg, "use": "sig"})
        jwks["keys"].append(jwk)
    with open(os.path.join(cache_dir, "jwks.json"), "w") as f:
        json.dump(jwks, f)
    with open(os.path.join(cache_dir, "es256.pem"), "wb") as f:
        f.write(keys["ES256"].public_key().public_bytes(serialization.Encoding.PEM,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo))
    now = int(time.time())
    t0 = time.monotonic()
    step = 5000
    with multiprocessing.Pool(os.cpu_count() or 2, _mint_init, (pems,)) as pool:
        for alg in ("ES256", "EdDSA", "RS256"):
            jobs = [(alg, i, min(i + step, count), now) for i in range(0, count, step)]
            with open(os.path.join(cache_dir, alg.lower() + ".tokens"), "w") as f:
                for chunk in pool.imap(_mint_range, jobs):
                    f.write("\n".join(chunk) + "\n")
    with open(meta_path, "w") as f:
        json.dump({"count": count, "exp": now + 30 * 86400, "mint_s": time.monotonic() - t0}, f)
    return cache_dir, True


def first_token(cache_dir, alg):
    with open(os.path.join(cache_dir, alg.lower() + ".tokens")) as f:
        return f.readline().strip()


# ---------------------------------------------------------------------------------------------
# load generators


def run_curl(url, upload=None, chunked=False, cpu="1"):
    cmd = ["taskset", "-c", cpu, "curl", "-sS", "--max-time", "600", "-H", "Expect:", "-w",
           "\n%{http_code} %{size_download} %{size_upload} %{time_total}"]
    if upload:
        cmd += ["-T", upload, "-X", "POST", "-H", "Content-Type: application/octet-stream"]
        if chunked:
            cmd += ["-H", "Transfer-Encoding: chunked"]
    if not upload:
        cmd += ["-o", "/dev/null"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=660).stdout
    body, _, tail = out.rpartition("\n")
    code, down, up, total = tail.split()
    return {"code": int(code), "down": int(down), "up": int(up), "time_s": float(total), "body": body.strip()}


class KeepAliveClient:
    """Exactly counted requests on one keep-alive connection (for the allocation counter)."""

    def __init__(self, port, headers=()):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        extra = "".join("%s\r\n" % h for h in headers)
        self.request = ("GET / HTTP/1.1\r\nHost: bench\r\n%s\r\n" % extra).encode()
        self.buf = b""

    def one(self):
        self.sock.sendall(self.request)
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        length = int(m.group(1)) if m else 0
        while len(rest) < length:
            self.buf = rest
            self._fill()
            rest = self.buf
        self.buf = rest[length:]
        return status

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        self.buf += data

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------------------------------------
# configs


ANON_ROUTES = """  - match: { path_prefix: /up }
    upstream: sink
    auth: anonymous
  - match: { path_prefix: /chunked }
    upstream: sink
    auth: anonymous
  - match: { path_prefix: / }
    upstream: app
    auth: anonymous
"""
AUTH_ROUTES = """  - match: { path_prefix: / }
    upstream: app
    require: { scopes_all: ["read:users"] }
"""


def auth_providers(token_dir):
    # token_cache_entries left at its default (10,000 in total, LRU).
    return """providers:
  - name: bench
    issuer: "%s"
    audiences: [bench]
    jwks_file: %s
    algorithms: [EdDSA, ES256, RS256]
""" % (ISSUER, os.path.join(token_dir, "jwks.json"))


def nginx_proxy_body(port, app, sink):
    sink_up = "upstream sink { server 127.0.0.1:%d; keepalive 16; }" % sink if sink else ""
    sink_loc = """location /up { proxy_pass http://sink; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location /chunked { proxy_pass http://sink; proxy_http_version 1.1; proxy_set_header Connection ""; }""" \
        if sink else ""
    return """upstream app { server 127.0.0.1:%d; keepalive 64; }
  %s
  client_max_body_size 0;
  proxy_request_buffering off;
  proxy_max_temp_file_size 0;
  server { listen 127.0.0.1:%d;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; proxy_set_header X-Real-IP $remote_addr;
    %s
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; } }""" % (
        app, sink_up, port, sink_loc)


# ---------------------------------------------------------------------------------------------
# the bench


class Bench(benchlib.Bench):
    SECTIONS = SECTIONS

    def __init__(self, args):
        super().__init__(args, prefix="claimgate-datapath-")
        self.up = None

    # -- processes --
    def start_upstream(self):
        files = os.path.join(self.work, "files")
        os.makedirs(files)
        os.chmod(files, 0o755)
        for size in self.args.sizes + [64 * MiB]:
            path = os.path.join(files, str(size))
            if not os.path.exists(path):
                with open(path, "wb") as f:
                    if size <= MiB:
                        f.write(os.urandom(size))
                    else:
                        f.truncate(size)
                os.chmod(path, 0o644)
        self.files = files
        self.up = free_port()
        self.procs.add(start_nginx(os.path.join(self.work, "upstream"), """sendfile on; tcp_nopush on;
  server { listen 127.0.0.1:%d; client_max_body_size 0;
    location /f/ { alias %s/; }
    location / { return 200 "ok\\n"; } }""" % (self.up, files), 1, worker_connections=8192))
        wait_port(self.up)

    def start_sink(self):
        port = free_port()
        self.procs.add(start(["/usr/bin/python3", os.path.join(HERE, "bench_upstream.py"), str(port)], 1))
        wait_port(port)
        return port

    def start_claimgate(self, name, routes=ANON_ROUTES, threads=1, providers="", sink=None, cpu="0", env=None):
        port, admin = free_port(), free_port()
        ups = {"app": self.up}
        if sink:
            ups["sink"] = sink
        elif "upstream: sink" in routes:
            ups["sink"] = self.up  # sink routes unused in this section
        proc = self.launch_claimgate(name, claimgate_config(port, admin, ups, routes, threads, providers), admin,
                                     cpu=cpu, env=env, port=port)
        return proc, port, admin

    def start_nginx_proxy(self, name, sink=None, worker_connections=4096):
        port = free_port()
        master, worker = self.launch_nginx(name, nginx_proxy_body(port, self.up, sink), worker_connections=worker_connections)
        wait_port(port)
        return master, port, worker

    # -- sections --
    def section_relay(self):
        sink = self.start_sink()
        _, ng_port, ng_worker = self.start_nginx_proxy("relay-nginx", sink=sink)
        cg, cg_port, _ = self.start_claimgate("relay-claimgate", sink=sink)
        targets = [Target("nginx", ng_port, ng_worker), Target("claimgate", cg_port, cg.pid)]
        lua = {}
        for size in [s for s in self.args.sizes if s <= MiB]:
            path = os.path.join(self.work, "post%d.lua" % size)
            with open(path, "w") as f:
                f.write("""wrk.method = "POST"
wrk.body = string.rep("a", %d)
wrk.headers["Content-Type"] = "application/octet-stream"
local threads = {}
bad = 0
function setup(thread) table.insert(threads, thread) end
function response(status, headers, body)
  if status ~= 200 or body ~= "%d\\n" then bad = bad + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("bad") end
  io.write("bad_bodies=" .. n .. "\\n")
end
""" % (size, size))
            lua[size] = path
        rows = []
        for size in self.args.sizes:
            rows.append(("download", size, False))
            rows.append(("upload", size, False))
        if 64 * MiB in self.args.sizes or self.args.quick:
            rows.append(("download", 64 * MiB, True))
            rows.append(("upload", 64 * MiB, True))
        for t in targets:  # warm-up and a correctness check of both directions
            run_curl("http://127.0.0.1:%d/f/%d" % (t.port, self.args.sizes[0]))
            r = run_curl("http://127.0.0.1:%d/up" % t.port, upload=os.path.join(self.files, str(self.args.sizes[0])))
            if r["body"] != str(self.args.sizes[0]):
                raise RuntimeError("%s upload sink saw %r bytes, sent %d" % (t.name, r["body"], self.args.sizes[0]))

        def measure_row(direction, size, chunked):
            def measure(t):
                if size <= MiB and not chunked:
                    if direction == "download":
                        r = self.wrk(t, "/f/%d" % size, connections=8)
                        # wrk counts header bytes and the partly read responses in flight at the end,
                        # and prints the total with 3 significant digits.
                        low, high = r["requests"] * size, r["requests"] * (size + 1024) + 8 * size
                        if not (low * 0.99 <= r["bytes_read"] <= high * 1.01):  # wrk prints 3 digits
                            r["errors"] += 1
                            self.notes.append("relay %s download %d: %.0f bytes read for %d responses" % (
                                t.name, size, r["bytes_read"], r["requests"]))
                    else:
                        r = self.wrk(t, "/up", connections=8, script=lua[size])
                    r["bytes"] = r["requests"] * size
                    r["mbps"] = r["rps"] * size / 1e6
                    return r
                c0 = proc_cpu_s(t.cpu_pid)
                if direction == "download":
                    url = "http://127.0.0.1:%d/%s/%d" % (t.port, "chunked" if chunked else "f", size)
                    c = run_curl(url)
                    ok = c["code"] == 200 and c["down"] == size
                else:
                    c = run_curl("http://127.0.0.1:%d/up" % t.port, upload=os.path.join(self.files, str(size)),
                                 chunked=chunked)
                    ok = c["code"] == 200 and c["body"] == str(size)
                cpu = proc_cpu_s(t.cpu_pid) - c0
                return {"mbps": size / c["time_s"] / 1e6, "time_s": c["time_s"], "cpu_s": cpu, "bytes": size,
                        "errors": 0 if ok else 1}
            return measure

        out = {}
        # Rounds outside, rows inside: each round walks every row, targets flipped per round.
        samples = {row: {t.name: [] for t in targets} for row in rows}
        for r in range(self.args.rounds):
            for row in rows:
                if row[1] > 64 * MiB and r >= self.args.big_rounds:
                    continue
                m = measure_row(*row)
                for t in (targets if r % 2 == 0 else targets[::-1]):
                    s = m(t)
                    s["cpu_s_per_gib"] = s["cpu_s"] / s["bytes"] * GiB if s["bytes"] else float("nan")
                    samples[row][t.name].append(s)
                    if s.get("errors") or s.get("socket_errors"):
                        self.notes.append("relay %s %s: %d bad responses, %d socket errors in round %d" % (
                            row_name(row), t.name, s["errors"], s.get("socket_errors", 0), r + 1))
                    print("  [relay] round %d %-24s %-10s %s" % (r + 1, row_name(row), t.name, brief(s)), flush=True)
        for row in rows:
            out[row_name(row)] = {name: {k: med([s[k] for s in v]) for k in v[0] if isinstance(v[0][k], (int, float))}
                                  for name, v in samples[row].items()}
        self.results["relay"] = out
        for name, r in out.items():
            if "nginx" not in r or "claimgate" not in r:
                continue
            key = "rps" if "rps" in r["claimgate"] else "mbps"
            ratio = r["claimgate"][key] / r["nginx"][key]
            self.aim("relay", "%s: claimgate >= 0.9x nginx" % name, "%.2fx" % ratio, ratio >= 0.9)
            cg, ng = r["claimgate"]["cpu_s_per_gib"], r["nginx"]["cpu_s_per_gib"]
            self.aim("relay", "%s: proxy CPU per GiB <= nginx" % name, "%.2f vs %.2f s" % (cg, ng), cg <= ng)

    def section_tiny(self):
        _, ng_port, ng_worker = self.start_nginx_proxy("tiny-nginx")
        cg, cg_port, _ = self.start_claimgate("tiny-claimgate")
        targets = [Target("nginx", ng_port, ng_worker), Target("claimgate", cg_port, cg.pid)]
        self.warm(targets)
        res = self.rounds(targets, lambda t: self.wrk(t), "tiny")
        self.results["tiny"] = res
        ratio = res["claimgate"]["rps"] / res["nginx"]["rps"]
        self.aim("tiny", "claimgate req/s >= 1.0x nginx", "%.2fx (by CPU µs/req: %.2fx)" % (
            ratio, res["nginx"]["cpu_us_per_req"] / res["claimgate"]["cpu_us_per_req"]), ratio >= 1.0)
        self.aim("tiny", "claimgate p99 <= nginx p99", "%.3f vs %.3f ms" % (res["claimgate"]["p99_ms"], res["nginx"]["p99_ms"]),
                 res["claimgate"]["p99_ms"] <= res["nginx"]["p99_ms"])

    def token_dir(self):
        if not hasattr(self, "_token_dir"):
            d = self.args.token_cache or "/var/tmp/claimgate-bench-tokens/%d" % self.args.tokens
            t0 = time.monotonic()
            d, minted = ensure_tokens(d, self.args.tokens)
            if minted:
                print("  minted %d tokens per algorithm in %.0f s (cached in %s)" % (
                    self.args.tokens, time.monotonic() - t0, d), flush=True)
            self._token_dir = d
            for alg in ("es256", "eddsa", "rs256"):
                with open(os.path.join(self.work, alg + ".lua"), "w") as f:
                    f.write("""local tokens = {}
for line in io.lines("%s") do tokens[#tokens + 1] = line end
math.randomseed(os.time())
local i = math.random(#tokens)
request = function()
  i = i %% #tokens + 1
  return wrk.format("GET", "/", {["Authorization"] = "Bearer " .. tokens[i]})
end
""" % os.path.join(d, alg + ".tokens"))
        return self._token_dir

    def section_cached(self):
        d = self.token_dir()
        plain, plain_port, _ = self.start_claimgate("cached-plain")
        auth, auth_port, _ = self.start_claimgate("cached-auth", routes=AUTH_ROUTES, providers=auth_providers(d))
        targets = [Target("claimgate plain", plain_port, plain.pid),
                   Target("cg es256 cached", auth_port, auth.pid, headers=["Authorization: Bearer " + first_token(d, "ES256")]),
                   Target("cg eddsa cached", auth_port, auth.pid, headers=["Authorization: Bearer " + first_token(d, "EdDSA")])]
        self.warm(targets)
        res = self.rounds(targets, lambda t: self.wrk(t), "cached")
        self.results["cached"] = res
        for name in ("cg es256 cached", "cg eddsa cached"):
            ratio = res[name]["rps"] / res["claimgate plain"]["rps"]
            self.aim("cached", "%s >= 0.95x claimgate plain" % name, "%.2fx (by CPU µs/req: %.2fx)" % (
                ratio, res["claimgate plain"]["cpu_us_per_req"] / res[name]["cpu_us_per_req"]), ratio >= 0.95)

    def raw_verify_us(self):
        """Raw signature-primitive verify time per algorithm, from jwt_bench's raw/<ALG> rows."""
        cands = [self.args.jwt_bench] if self.args.jwt_bench else [
            os.path.join(HERE, "..", "build-bench", "bench", "jwt_bench"), os.path.join(HERE, "..", "build", "bench", "jwt_bench")]
        for exe in cands:
            if exe and os.path.exists(exe):
                out = os.path.join(self.work, "jwt_bench.json")
                # jwt_bench installs its own console reporter, so JSON goes through --benchmark_out.
                subprocess.run(["taskset", "-c", "0", exe, "--benchmark_filter=raw", "--benchmark_repetitions=%d" % (
                    3 if self.args.quick else 5), "--benchmark_min_time=0.2", "--benchmark_out=" + out,
                    "--benchmark_out_format=json"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
                with open(out) as f:
                    rows = json.load(f)["benchmarks"]
                found = {}
                scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
                for alg in ("ES256", "EdDSA", "RS256"):
                    vals = [b["cpu_time"] * scale[b.get("time_unit", "ns")] for b in rows
                            if b.get("run_type") == "iteration" and "raw" in b["name"].lower()
                            and re.search(r"(^|[^a-z0-9])%s($|[^a-z0-9])" % alg.lower(), b["name"].lower())]
                    if vals:
                        found[alg] = statistics.median(vals)
                if len(found) == 3:
                    return found, "jwt_bench raw/* rows (%s, CPU 0, median)" % os.path.relpath(exe)
        # Fallback: openssl speed (OpenSSL's EVP; claimgate may use libsodium for Ed25519).
        out = subprocess.run(["taskset", "-c", "0", "openssl", "speed", "-seconds", "2", "ecdsap256", "ed25519", "rsa2048"],
                             capture_output=True, text=True).stdout
        found = {}
        m = re.search(r"^rsa 2048 bits\s+[\d.]+s\s+([\d.]+)s", out, re.M)
        if m:
            found["RS256"] = float(m.group(1)) * 1e6
        m = re.search(r"^\s*256 bits ecdsa \(nistp256\)\s+[\d.]+s\s+([\d.]+)s", out, re.M)
        if m:
            found["ES256"] = float(m.group(1)) * 1e6
        m = re.search(r"^\s*253 bits EdDSA \(Ed25519\)\s+[\d.]+s\s+([\d.]+)s", out, re.M)
        if m:
            found["EdDSA"] = float(m.group(1)) * 1e6
        return found, "openssl speed (no jwt_bench build found; OpenSSL EVP, not necessarily claimgate's primitive)"

    def scrape_cache(self, admin):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin, timeout=5) as r:
            text = r.read().decode()
        out = {}
        for k in ("hit", "miss", "eviction"):
            m = re.search(r'^claimgate_token_cache_total\{[^}]*result="%s"[^}]*\}\s+([\d.e+]+)' % k, text, re.M)
            out[k] = float(m.group(1)) if m else float("nan")
        return out

    def section_fresh(self):
        d = self.token_dir()
        raw, raw_src = self.raw_verify_us()
        plain, plain_port, _ = self.start_claimgate("fresh-plain")
        auth, auth_port, auth_admin = self.start_claimgate("fresh-auth", routes=AUTH_ROUTES, providers=auth_providers(d))
        hp = free_port()
        with open(os.path.join(self.work, "haproxy.cfg"), "w") as f:
            f.write(haproxy_config(hp, self.up, os.path.join(d, "es256.pem")))
        haproxy = self.procs.add(start(["haproxy", "-f", os.path.join(self.work, "haproxy.cfg"), "-db"], 0,
                                       stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.work, "haproxy.log"), "w")))
        wait_port(hp)
        lua = lambda alg: os.path.join(self.work, alg + ".lua")  # noqa: E731
        targets = [Target("claimgate plain", plain_port, plain.pid),
                   Target("cg es256 fresh", auth_port, auth.pid, script=lua("es256")),
                   Target("cg eddsa fresh", auth_port, auth.pid, script=lua("eddsa")),
                   Target("cg rs256 fresh", auth_port, auth.pid, script=lua("rs256")),
                   Target("haproxy es256", hp, haproxy.pid, script=lua("es256"))]
        self.warm(targets)

        def measure(t):
            before = self.scrape_cache(auth_admin) if t.port == auth_port else None
            r = self.wrk(t)
            if before:
                after = self.scrape_cache(auth_admin)
                r["cache_hits"] = after["hit"] - before["hit"]
                r["cache_misses"] = after["miss"] - before["miss"]
            return r
        res = self.rounds(targets, measure, "fresh")
        plain_us = res["claimgate plain"]["cpu_us_per_req"]
        for name, alg in (("cg es256 fresh", "ES256"), ("cg eddsa fresh", "EdDSA"), ("cg rs256 fresh", "RS256")):
            res[name]["raw_verify_us"] = raw.get(alg, float("nan"))
            res[name]["plain_plus_raw_us"] = plain_us + raw.get(alg, float("nan"))
            res[name]["diff_us"] = res[name]["cpu_us_per_req"] - res[name]["plain_plus_raw_us"]
        self.results["fresh"] = res
        self.results["fresh_raw_verify_source"] = raw_src
        self.notes.append("raw verify us from " + raw_src)
        ratio = res["cg es256 fresh"]["rps"] / res["haproxy es256"]["rps"]
        self.aim("fresh", "ES256 fresh claimgate >= 1.3x HAProxy jwt_verify", "%.2fx (by CPU µs/req: %.2fx)" % (
            ratio, res["haproxy es256"]["cpu_us_per_req"] / res["cg es256 fresh"]["cpu_us_per_req"]), ratio >= 1.3)
        for name in ("cg eddsa fresh", "cg rs256 fresh"):
            diff = res[name]["diff_us"]
            self.aim("fresh", "%s us/req - (plain + raw verify) <= 10 us" % name, "%+.1f us" % diff, diff <= 10)
        hits = sum(res[n].get("cache_hits", 0) for n in ("cg es256 fresh", "cg eddsa fresh", "cg rs256 fresh"))
        self.aim("fresh", "every fresh-token request misses the token cache", "%d hits (median per run)" % hits, hits == 0)

    def section_alloc(self):
        d = self.token_dir()
        so = os.path.join(self.work, "alloc_count.so")
        subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", so, os.path.join(HERE, "alloc_count.c"), "-ldl"], check=True)
        out = {}
        warm, count = (2000, 5000) if self.args.quick else (5000, 20000)
        for name, routes, providers, headers in (
                ("plain", ANON_ROUTES, "", ()),
                ("cached es256", AUTH_ROUTES, auth_providers(d), ("Authorization: Bearer " + first_token(d, "ES256"),)),
                ("cached eddsa", AUTH_ROUTES, auth_providers(d), ("Authorization: Bearer " + first_token(d, "EdDSA"),))):
            counts = os.path.join(self.work, "alloc-%s.txt" % name.replace(" ", "-"))
            env = dict(os.environ, LD_PRELOAD=so, ALLOC_COUNT_FILE=counts)
            proc, port, _ = self.start_claimgate("alloc-" + name.replace(" ", "-"), routes=routes, providers=providers, env=env)
            try:
                client = KeepAliveClient(port, headers)
                for _ in range(warm):
                    if client.one() != 200:
                        raise RuntimeError("alloc %s: non-200 in warm-up" % name)
                time.sleep(0.2)
                idle0 = snapshot(proc.pid, counts)
                t0 = time.monotonic()
                time.sleep(1.0)
                idle1 = snapshot(proc.pid, counts)
                idle_rate = (idle1["allocs"] - idle0["allocs"]) / (time.monotonic() - t0)
                s0 = snapshot(proc.pid, counts)
                t0 = time.monotonic()
                for _ in range(count):
                    if client.one() != 200:
                        raise RuntimeError("alloc %s: non-200" % name)
                elapsed = time.monotonic() - t0
                s1 = snapshot(proc.pid, counts)
                client.close()
            finally:
                self.procs.stop(proc)
            out[name] = {"allocs_per_req": (s1["allocs"] - s0["allocs"]) / count,
                         "frees_per_req": (s1["frees"] - s0["frees"]) / count,
                         "reallocs_per_req": (s1["reallocs"] - s0["reallocs"]) / count,
                         "bytes_per_req": (s1["bytes"] - s0["bytes"]) / count,
                         "idle_allocs_in_same_time": idle_rate * elapsed, "requests": count}
            print("  [alloc] %-14s %s" % (name, brief(out[name])), flush=True)
        self.results["alloc"] = out
        for name in ("cached es256", "cached eddsa"):
            v = out[name]["allocs_per_req"]
            self.aim("alloc", "%s: 0 heap allocations per request" % name, "%.2f" % v, v < 0.01)

    def section_idle(self):
        out = {}
        levels = [1000, 10000]
        cg, cg_port, _ = self.start_claimgate("idle-claimgate")
        _, ng_port, ng_worker = self.start_nginx_proxy("idle-nginx", worker_connections=max(levels) + 2048)
        for name, port, pid in (("claimgate", cg_port, cg.pid), ("nginx", ng_port, ng_worker)):
            conns = []
            try:
                KeepAliveClient(port).one()  # warm: the first request sets up the upstream pool
                time.sleep(0.3)
                base = proc_rss_kib(pid)
                row = {"rss_before_kib": base}
                for level in levels:
                    open_idle(port, conns, level - len(conns))
                    time.sleep(0.5)
                    rss = proc_rss_kib(pid)
                    row["rss_%d_kib" % level] = rss
                    row["kib_per_conn_%d" % level] = (rss - base) / level
                    print("  [idle] %-10s %6d conns: RSS %d -> %d KiB, %.1f KiB/conn" % (
                        name, level, base, rss, (rss - base) / level), flush=True)
            finally:
                for s in conns:
                    s.close()
            out[name] = row
            time.sleep(0.5)
        self.procs.stop(cg)
        self.results["idle"] = out
        c = out["claimgate"]
        self.aim("idle", "claimgate <= 4 KiB per idle connection (10k)", "%.1f KiB" % c["kib_per_conn_10000"],
                 c["kib_per_conn_10000"] <= 4)
        self.aim("idle", "claimgate 10k idle connections under 64 MiB RSS", "%.1f MiB" % (c["rss_10000_kib"] / 1024),
                 c["rss_10000_kib"] < 64 * 1024)

    def section_threads(self):
        one, p1, _ = self.start_claimgate("threads-1")
        two, p2, _ = self.start_claimgate("threads-2", threads=2, cpu="0,1")
        targets = [Target("claimgate threads 1", p1, one.pid), Target("claimgate threads 2", p2, two.pid)]
        self.warm(targets)
        res = self.rounds(targets, lambda t: self.wrk(t), "threads")
        self.results["threads"] = res
        one_r, two_r = res["claimgate threads 1"], res["claimgate threads 2"]
        ratio = two_r["rps"] / one_r["rps"]
        res["ratio"] = ratio
        # On two cores the second worker shares CPU 1 with wrk and the upstream, so req/s cannot
        # double; what scaling needs from the gateway is that a second worker adds no cost per
        # request (no shared locks or cache lines on the request path).
        cost = two_r["cpu_us_per_req"] / one_r["cpu_us_per_req"]
        self.aim("threads", "threads 2 CPU µs/req <= 1.1x threads 1 (req/s 2/1 reported; wrk's share of CPU 1 noted)",
                 "%.2fx CPU/req; req/s %.2fx with wrk at %.0f%% of CPU 1" % (cost, ratio, 100 * two_r.get("lg_cpu_share", 0)),
                 cost <= 1.1)


def snapshot(pid, path, timeout=5):
    try:
        with open(path) as f:
            seq0 = int(re.search(r"seq=(\d+)", f.read()).group(1))
    except (OSError, AttributeError):
        seq0 = 0
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                text = f.read()
            m = re.search(r"seq=(\d+)", text)
            if m and int(m.group(1)) > seq0:
                return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", text)}
        except OSError:
            pass
        time.sleep(0.002)
    raise TimeoutError("no allocation snapshot from %d (is the LD_PRELOAD library loaded?)" % pid)


def open_idle(port, conns, n, batch=200):
    """n more connections, each sends one request and reads its response, then stays open."""
    req = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
    while n > 0:
        group = []
        for _ in range(min(batch, n)):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(req)
            group.append(s)
        for s in group:
            buf = b""
            while b"\r\n\r\n" not in buf:
                data = s.recv(4096)
                if not data:
                    raise ConnectionError("closed while idle-connection setup")
                buf += data
            head, _, rest = buf.partition(b"\r\n\r\n")
            if b" 200 " not in head.split(b"\r\n", 1)[0]:
                raise RuntimeError("idle setup: %r" % head[:80])
            length = int(re.search(rb"(?im)^content-length:\s*(\d+)", head).group(1))
            while len(rest) < length:
                rest += s.recv(4096)
        conns.extend(group)
        n -= len(group)


def row_name(row):
    direction, size, chunked = row
    return "%s %s%s" % (direction, fmt_size(size), " chunked" if chunked else "")


def fmt_size(n):
    return "%d MiB" % (n // MiB) if n >= MiB else "%d KiB" % (n // KiB)


# ---------------------------------------------------------------------------------------------
# report


def report(b):
    R = b.results
    lines = ["", "## Data path: claimgate next to nginx and HAProxy", ""]
    lines.append("binary `%s`; proxy on CPU 0, upstream nginx and load generator on CPU 1; %d round(s) of %d s, medians; "
                 "load average %.1f at the start, %.1f at the end." % (
                     b.args.binary, b.args.rounds, b.args.duration, b.load_start, os.getloadavg()[0]))
    if "relay" in R:
        lines += ["", "### 1. Body relay (64 KiB/1 MiB: wrk -c8, req/s; larger: one curl stream, MB/s)", "",
                  "| transfer | nginx | claimgate | claimgate/nginx | nginx CPU s/GiB | claimgate CPU s/GiB |",
                  "|---|---:|---:|---:|---:|---:|"]
        for name, v in R["relay"].items():
            n, c = v["nginx"], v["claimgate"]
            if "rps" in n:
                cell = lambda x: "%.0f req/s (%.0f MB/s)" % (x["rps"], x["mbps"])  # noqa: E731
                ratio = c["rps"] / n["rps"]
            else:
                cell = lambda x: "%.0f MB/s" % x["mbps"]  # noqa: E731
                ratio = c["mbps"] / n["mbps"]
            lines.append("| %s | %s | %s | %.2fx | %.2f | %.2f |" % (name, cell(n), cell(c), ratio, n["cpu_s_per_gib"],
                                                                   c["cpu_s_per_gib"]))
    if "tiny" in R:
        n, c = R["tiny"]["nginx"], R["tiny"]["claimgate"]
        lines += ["", "### 2. Tiny responses, plain proxy (wrk -c64)", "",
                  "| target | req/s | proxy CPU µs/req | p50 ms | p99 ms | wrk CPU share | proxy CPU share |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for name, x in (("nginx", n), ("claimgate", c)):
            lines.append("| %s | %.0f | %.1f | %.3f | %.3f | %.0f%% | %.0f%% |" % (
                name, x["rps"], x["cpu_us_per_req"], x["p50_ms"], x["p99_ms"], 100 * x["lg_cpu_share"],
                100 * x["proxy_cpu_share"]))
        lines.append("| claimgate/nginx | %.2fx | %.2fx | %.2fx | %.2fx | | |" % (
            c["rps"] / n["rps"], c["cpu_us_per_req"] / n["cpu_us_per_req"], c["p50_ms"] / n["p50_ms"], c["p99_ms"] / n["p99_ms"]))
    if "cached" in R:
        p = R["cached"]["claimgate plain"]
        lines += ["", "### 3. Cached token (one repeated token, wrk -c64)", "",
                  "| target | req/s | vs claimgate plain | proxy CPU µs/req | p99 ms | proxy CPU share |",
                  "|---|---:|---:|---:|---:|---:|"]
        for name, x in R["cached"].items():
            lines.append("| %s | %.0f | %.2fx | %.1f | %.3f | %.0f%% |" % (
                name, x["rps"], x["rps"] / p["rps"], x["cpu_us_per_req"], x["p99_ms"], 100 * x["proxy_cpu_share"]))
    if "fresh" in R:
        lines += ["", "### 4. Fresh tokens (%d distinct per algorithm, rotating, token cache default size; wrk -c64)" % b.args.tokens,
                  "", "raw verify: %s" % R.get("fresh_raw_verify_source", "?"), "",
                  "| target | req/s | proxy CPU µs/req | wall µs/req | raw verify µs | plain + raw µs | difference µs | cache hits/misses | proxy CPU share |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name, x in R["fresh"].items():
            lines.append("| %s | %.0f | %.1f | %.1f | %s | %s | %s | %s | %.0f%% |" % (
                name, x["rps"], x["cpu_us_per_req"], 1e6 / x["rps"],
                "%.1f" % x["raw_verify_us"] if "raw_verify_us" in x else "",
                "%.1f" % x["plain_plus_raw_us"] if "plain_plus_raw_us" in x else "",
                "%+.1f" % x["diff_us"] if "diff_us" in x else "",
                "%d/%d" % (x["cache_hits"], x["cache_misses"]) if "cache_hits" in x else "", 100 * x["proxy_cpu_share"]))
        f = R["fresh"]
        lines.append("")
        lines.append("ES256 fresh: claimgate/HAProxy jwt_verify = %.2fx (HAProxy checks the signature only)" % (
            f["cg es256 fresh"]["rps"] / f["haproxy es256"]["rps"]))
    if "alloc" in R:
        lines += ["", "### 5. Heap allocations per request after warm-up (LD_PRELOAD counter, one keep-alive connection)", "",
                  "| path | allocs/req | frees/req | reallocs/req | bytes/req | background allocs in the same time |",
                  "|---|---:|---:|---:|---:|---:|"]
        for name, x in R["alloc"].items():
            lines.append("| %s | %.2f | %.2f | %.2f | %.0f | %.0f |" % (name, x["allocs_per_req"], x["frees_per_req"],
                                                                      x["reallocs_per_req"], x["bytes_per_req"],
                                                                      x["idle_allocs_in_same_time"]))
    if "idle" in R:
        lines += ["", "### 6. Idle keep-alive connections (one request each, then idle)", "",
                  "| target | RSS before | RSS at 1,000 | KiB/conn | RSS at 10,000 | KiB/conn |", "|---|---:|---:|---:|---:|---:|"]
        for name, x in R["idle"].items():
            lines.append("| %s | %.1f MiB | %.1f MiB | %.1f | %.1f MiB | %.1f |" % (
                name, x["rss_before_kib"] / 1024, x["rss_1000_kib"] / 1024, x["kib_per_conn_1000"],
                x["rss_10000_kib"] / 1024, x["kib_per_conn_10000"]))
    if "threads" in R:
        t = R["threads"]
        lines += ["", "### 7. One vs two workers (tiny responses, wrk -c64 on CPU 1)", "",
                  "| config | req/s | proxy CPU µs/req | p99 ms | wrk CPU share | proxy CPU share |",
                  "|---|---:|---:|---:|---:|---:|"]
        for name in ("claimgate threads 1", "claimgate threads 2"):
            x = t[name]
            lines.append("| %s | %.0f | %.1f | %.3f | %.0f%% | %.0f%% |" % (
                name, x["rps"], x["cpu_us_per_req"], x["p99_ms"], 100 * x["lg_cpu_share"], 100 * x["proxy_cpu_share"]))
        lines.append("| threads 2 / threads 1 | %.2fx | | | | |" % t["ratio"])
    lines += b.aims_lines()
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=os.path.join(HERE, "..", "build", "claimgate"))
    ap.add_argument("--quick", action="store_true", help="1 round of 3 s, no 256 MiB, 20,000 tokens (~3 min)")
    ap.add_argument("--only", default=",".join(SECTIONS), help="comma-separated: " + ",".join(SECTIONS))
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--duration", type=int)
    ap.add_argument("--tokens", type=int)
    ap.add_argument("--token-cache", help="directory for the minted tokens (default /var/tmp/claimgate-bench-tokens/N)")
    ap.add_argument("--jwt-bench", help="jwt_bench binary for raw verify times (default: build-bench/ or build/)")
    ap.add_argument("--json", help="write every measurement to this file")
    args = ap.parse_args()
    args.binary = os.path.abspath(args.binary)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    for s in only:
        if s not in SECTIONS:
            ap.error("unknown section %r (sections: %s)" % (s, ", ".join(SECTIONS)))
    args.rounds = args.rounds or (1 if args.quick else 5)
    args.duration = args.duration or (3 if args.quick else 6)
    args.tokens = args.tokens or (20000 if args.quick else 200000)
    args.sizes = [64 * KiB, MiB, 64 * MiB] + ([] if args.quick else [256 * MiB])
    args.big_rounds = 1 if args.quick else 3  # 256 MiB: a round takes about 2 s per target
    if not os.access(args.binary, os.X_OK):
        sys.exit("no claimgate binary at %s (--binary PATH)" % args.binary)
    require_tools("nginx", "wrk", "taskset", "curl", "cc", *(("haproxy",) if "fresh" in only else ()))
    raise_nofile()

    b = Bench(args)
    t_start = time.monotonic()
    try:
        b.start_upstream()
        b.run(only)
    finally:
        b.cleanup()
    print(report(b))
    print("\ntotal %.0f s" % (time.monotonic() - t_start))
    if args.json:
        b.write_json(args.json)


if __name__ == "__main__":
    main()
