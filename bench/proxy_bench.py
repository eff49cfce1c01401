#!/usr/bin/python3
"""claimgate against its peers on one machine, in one run.

An nginx `return 200` upstream and wrk share CPU 1; each proxy under test runs alone on CPU 0
with one worker. Rounds interleave the targets so drift on a noisy machine hits all alike.

Targets:
  nginx               nginx proxy_pass with upstream keepalive (plain proxy)
  claimgate           claimgate, anonymous route (plain proxy), metrics on, access log off
  cg-no-metrics       the same with `metrics: false`
  cg-eddsa-cached     claimgate, EdDSA token required, one repeated token (verified-token cache hits)
  cg-es256-cached     the same with ES256
  cg-es256-rotating   1,000 distinct ES256 tokens, token cache disabled (every request verifies)
  cg-eddsa-rotating   the same with EdDSA
  haproxy-es256       HAProxy 2.6 jwt_verify ES256 on the same 1,000 rotating tokens
                      (HAProxy checks the signature only: no exp/iss/aud, no JWKS)

Usage: bench/proxy_bench.py [--suite plain|all] [--rounds N] [--duration S] [--connections C]
Needs: nginx, wrk, haproxy (scripts/install-deps.sh nginx wrk haproxy), python3-jwt.
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

from benchlib import free_port, haproxy_config, require_tools, run_wrk, start, start_nginx, stop, wait_port

HERE = os.path.dirname(os.path.abspath(__file__))
ISSUER = "https://bench.idp"


def make_tokens(work, count):
    """Keys and tokens from PyJWT/cryptography, an implementation independent of ours."""
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm

    es_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    jwks = {"keys": []}
    for key, algo, kid, alg in ((es_key, ECAlgorithm, "es", "ES256"), (ed_key, OKPAlgorithm, "ed", "EdDSA")):
        jwk = json.loads(algo.to_jwk(key.public_key()))
        jwk.update({"kid": kid, "alg": alg, "use": "sig"})
        jwks["keys"].append(jwk)
    with open(os.path.join(work, "jwks.json"), "w") as f:
        json.dump(jwks, f)
    with open(os.path.join(work, "es256.pem"), "wb") as f:
        f.write(es_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo))
    now = int(time.time())

    def mint(key, alg, kid, i):
        claims = {"iss": ISSUER, "aud": "bench", "sub": "user:%d" % i, "tenant_id": "org_a", "roles": ["editor"],
                  "scopes": ["read:users", "write:posts"], "iat": now, "exp": now + 3600}
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})
    tokens = {"es256": [mint(es_key, "ES256", "es", i) for i in range(count)],
              "eddsa": [mint(ed_key, "EdDSA", "ed", i) for i in range(count)]}
    for name, items in tokens.items():
        with open(os.path.join(work, name + ".tokens"), "w") as f:
            f.write("\n".join(items) + "\n")
        with open(os.path.join(work, name + ".lua"), "w") as f:
            f.write("""local tokens = {}
for line in io.lines("%s") do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i %% #tokens + 1
  return wrk.format("GET", "/", {["Authorization"] = "Bearer " .. tokens[i]})
end
""" % os.path.join(work, name + ".tokens"))
    return tokens


def claimgate_config(port, admin, upstream, work, protected, cache_entries, metrics=True):
    routes = """  - match: { path_prefix: / }
    upstream: app
    auth: anonymous
""" if not protected else """  - match: { path_prefix: / }
    upstream: app
    require: { scopes_all: ["read:users"] }
"""
    providers = "" if not protected else """token_cache_entries: %d
providers:
  - name: bench
    issuer: "%s"
    audiences: [bench]
    jwks_file: %s
    algorithms: [EdDSA, ES256]
""" % (cache_entries, ISSUER, os.path.join(work, "jwks.json"))
    return """listen: "127.0.0.1:%d"
admin: "127.0.0.1:%d"
threads: 1
log_level: warn
access_log: false
metrics: %s
%supstreams:
  app: { url: "http://127.0.0.1:%d", max_idle_connections: 64 }
routes:
%s""" % (port, admin, "true" if metrics else "false", providers, upstream, routes)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--suite", choices=("plain", "all"), default="all")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=6)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--tokens", type=int, default=1000)
    ap.add_argument("--binary", default=os.path.join(HERE, "..", "build", "claimgate"))
    args = ap.parse_args()
    require_tools("nginx", "wrk", "taskset", *(("haproxy",) if args.suite == "all" else ()))

    work = tempfile.mkdtemp(prefix="claimgate-bench-")
    procs = []
    try:
        up = free_port()
        procs.append(start_nginx(os.path.join(work, "upstream"),
                                 'server { listen 127.0.0.1:%d; location / { return 200 "ok\\n"; } }' % up, 1))
        targets = []  # (name, port, wrk kwargs)

        nginx_port = free_port()
        procs.append(start_nginx(os.path.join(work, "proxy"), """upstream app { server 127.0.0.1:%d; keepalive 64; }
  server { listen 127.0.0.1:%d;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; proxy_set_header X-Real-IP $remote_addr; } }"""
                                 % (up, nginx_port), 0))
        targets.append(("nginx", nginx_port, {}))

        def claimgate(name, protected, cache_entries, metrics=True):
            port, admin = free_port(), free_port()
            path = os.path.join(work, name + ".yaml")
            with open(path, "w") as f:
                f.write(claimgate_config(port, admin, up, work, protected, cache_entries, metrics))
            procs.append(start([args.binary, "--config", path], 0, stderr=open(os.path.join(work, name + ".log"), "w")))
            return port

        targets.append(("claimgate", claimgate("claimgate", False, 0), {}))
        targets.append(("cg-no-metrics", claimgate("cg-no-metrics", False, 0, metrics=False), {}))
        if args.suite == "all":
            tokens = make_tokens(work, args.tokens)
            cached = claimgate("cg-cached", True, 10000)
            targets.append(("cg-eddsa-cached", cached, {"headers": ["Authorization: Bearer " + tokens["eddsa"][0]]}))
            targets.append(("cg-es256-cached", cached, {"headers": ["Authorization: Bearer " + tokens["es256"][0]]}))
            rotating = claimgate("cg-rotating", True, 0)
            targets.append(("cg-es256-rotating", rotating, {"script": os.path.join(work, "es256.lua")}))
            targets.append(("cg-eddsa-rotating", rotating, {"script": os.path.join(work, "eddsa.lua")}))
            hp = free_port()
            with open(os.path.join(work, "haproxy.cfg"), "w") as f:
                f.write(haproxy_config(hp, up, os.path.join(work, "es256.pem")))
            procs.append(start(["haproxy", "-f", os.path.join(work, "haproxy.cfg"), "-db"], 0,
                               stdout=open(os.devnull, "w"), stderr=open(os.path.join(work, "haproxy.log"), "w")))
            targets.append(("haproxy-es256", hp, {"script": os.path.join(work, "es256.lua")}))

        for _, port, _ in targets:
            wait_port(port)
        for name, port, kw in targets:  # warm-up, and a check that every target answers 200
            _, _, _, errors = run_wrk(port, 1, args.connections, **kw)
            if errors:
                sys.exit("%s answered %d non-2xx responses in warm-up" % (name, errors))

        results = {name: [] for name, _, _ in targets}
        print("%-6s %-18s %12s %10s %10s" % ("round", "target", "requests/s", "p50 ms", "p99 ms"))
        for r in range(args.rounds):
            for name, port, kw in (targets if r % 2 == 0 else targets[::-1]):
                rps, p50, p99, errors = run_wrk(port, args.duration, args.connections, **kw)
                if errors:
                    sys.exit("%s answered %d non-2xx responses" % (name, errors))
                results[name].append((rps, p50, p99))
                print("%-6d %-18s %12.0f %10.3f %10.3f" % (r + 1, name, rps, p50, p99), flush=True)
        med = {n: tuple(statistics.median(x[i] for x in v) for i in range(3)) for n, v in results.items()}
        print()
        for name, _, _ in targets:
            print("median %-18s %12.0f %10.3f %10.3f" % (name, *med[name]))
        print()

        def ratio(a, b, note):
            print("%-40s throughput %.2fx  p50 %.2fx  p99 %.2fx   %s" % (
                a + " / " + b, med[a][0] / med[b][0], med[a][1] / med[b][1], med[a][2] / med[b][2], note))
        ratio("claimgate", "nginx", "(aim: throughput >= 1.0x, p99 <= 1.0x)")
        ratio("claimgate", "cg-no-metrics", "(metrics cost; aim: >= 0.98x)")
        if args.suite == "all":
            ratio("cg-eddsa-cached", "claimgate", "(aim: >= 0.9x)")
            ratio("cg-es256-cached", "claimgate", "(aim: >= 0.9x)")
            ratio("cg-es256-rotating", "haproxy-es256", "(aim: >= 1.2x)")
    finally:
        for p in reversed(procs):
            stop(p)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
