#!/usr/bin/python3
"""A bounded soak on loopback (not part of CI): valid, expired, forged and anonymous requests
from several clients while the signing key rotates and the config reloads.

Reports requests served, results by kind (and any unexpected status), gateway RSS at start and
end, and its open file descriptors at the end.

Usage: bench/soak.py [--seconds 600] [--clients 4] [--rotate-s 30] [--reload-s 30]
"""
import argparse
import collections
import os
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
os.environ.setdefault("CLAIMGATE_BINARY", os.path.join(HERE, "..", "build", "claimgate"))

from harness import Gateway, RawClient, Upstream, free_port, request, wait_for_port  # noqa: E402
from jwks_server import JwksServer  # noqa: E402
from tokens import SigningKey, jwks_json, mint  # noqa: E402

AUD = "soak"


def config(port, admin, upstream_port, issuer, jwks_url, require):
    return """listen: "127.0.0.1:%d"
admin: "127.0.0.1:%d"
threads: 2
access_log: false
providers:
  - name: idp
    issuer: "%s"
    audiences: [%s]
    jwks_url: "%s"
    algorithms: [EdDSA, ES256]
    refresh_interval_s: 20
    min_refresh_interval_s: 2
upstreams:
  app: { url: "http://127.0.0.1:%d" }
routes:
  - match: { path_prefix: /public/ }
    upstream: app
    auth: anonymous
  - match: { path_prefix: / }
    upstream: app
    require: %s
""" % (port, admin, issuer, AUD, jwks_url, upstream_port, require)


def proc_status(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--rotate-s", type=int, default=30)
    ap.add_argument("--reload-s", type=int, default=30)
    args = ap.parse_args()

    jwks = JwksServer()
    upstream = Upstream()
    issuer = jwks.origin()
    keys = [SigningKey("EdDSA", kid="k0")]
    jwks.serve_jwks(jwks_json(keys))
    port, admin = free_port(), free_port()
    configs = [config(port, admin, upstream.port, issuer, jwks.url(), r) for r in ("{}", "{ roles_any: [editor] }")]
    gw = Gateway(configs[0])
    gw.wait(port)
    wait_for_port(admin)
    time.sleep(0.5)
    pid = gw.proc.pid
    rss_start = proc_status(pid, "VmRSS")
    # Forged tokens carry the current kid, signed by another key: a bad signature, not an unknown
    # kid (unknown kids are test_keys' rate-limited flood).
    state = {"key": keys[0], "forger": SigningKey("EdDSA", kid="k0")}
    lock = threading.Lock()
    results = collections.Counter()
    unexpected = collections.Counter()
    stop = threading.Event()

    def claims(**extra):
        c = {"iss": issuer, "aud": AUD, "sub": "user:soak", "roles": ["editor"]}
        c.update(extra)
        return c

    def client(n):
        c = None
        i = 0
        while not stop.is_set():
            i += 1
            with lock:
                key, forger = state["key"], state["forger"]
            kind = ("valid", "expired", "forged", "anonymous")[i % 4]
            if kind == "valid":
                token, path, expect = mint(key, claims()), "/me", 200
            elif kind == "expired":
                token, path, expect = mint(key, claims(), ttl_s=-120, now=int(time.time()) - 60), "/me", 401
            elif kind == "forged":
                token, path, expect = mint(forger, claims()), "/me", 401
            else:
                token, path, expect = None, "/public/x", 200
            head = "GET %s HTTP/1.1\r\nHost: soak\r\n" % path
            if token:
                head += "Authorization: Bearer %s\r\n" % token
            try:
                if c is None:
                    c = RawClient(port, timeout=10)
                c.send((head + "\r\n").encode())
                status = c.read_response().status
            except (OSError, EOFError) as e:
                status = "connection:" + type(e).__name__
                c = None
            results[(kind, status)] += 1
            if status != expect:
                unexpected[(kind, status)] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    for t in threads:
        t.start()
    start = time.monotonic()
    next_rotate = start + args.rotate_s
    next_reload = start + args.reload_s
    reloads = rotations = 0
    while time.monotonic() - start < args.seconds:
        time.sleep(0.5)
        now = time.monotonic()
        if now >= next_rotate:
            rotations += 1
            new = SigningKey("EdDSA" if rotations % 2 else "ES256", kid="k%d" % rotations)
            keys.append(new)
            jwks.serve_jwks(jwks_json(keys[-2:]))  # the previous key stays for tokens in flight
            with lock:
                state["key"] = new
                state["forger"] = SigningKey(new.alg, kid=new.kid)
            next_rotate = now + args.rotate_s
        if now >= next_reload:
            reloads += 1
            with open(gw.config_path, "w") as f:
                f.write(configs[reloads % 2])
            gw.proc.send_signal(signal.SIGHUP)
            next_reload = now + args.reload_s
    stop.set()
    for t in threads:
        t.join()
    time.sleep(1)
    rss_end = proc_status(pid, "VmRSS")
    fds = len(os.listdir("/proc/%d/fd" % pid))
    decisions = [l for l in request(admin, "GET", "/metrics").body.decode().splitlines()
                 if l.startswith("claimgate_auth_decisions_total")]
    code = gw.stop()
    upstream.stop()
    jwks.stop()

    total = sum(results.values())
    print("soak: %d s, %d clients, %d key rotations, %d reloads" % (args.seconds, args.clients, rotations, reloads))
    print("requests: %d (%.0f/s)" % (total, total / args.seconds))
    for (kind, status), n in sorted(results.items(), key=lambda kv: str(kv[0])):
        print("  %-10s %-24s %d" % (kind, status, n))
    print("auth decisions (from /metrics):")
    for line in decisions:
        print("  " + line)
    print("unexpected: %d %s" % (sum(unexpected.values()), dict(unexpected) if unexpected else ""))
    print("gateway RSS: start %d KiB, end %d KiB; open fds at end: %d; exit code %d" % (rss_start, rss_end, fds, code))
    return 1 if unexpected or code != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
