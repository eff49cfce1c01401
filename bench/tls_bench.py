#!/usr/bin/python3
"""TLS termination and WebSocket tunnels: claimgate next to nginx, in one run (issue 14's bench).

Layout as in bench/datapath_bench.py: each proxy under test runs alone on CPU 0 with one worker
(claimgate `threads: 1`, `access_log: false`; nginx `worker_processes 1`, `access_log off`),
pinned with taskset; the upstream (nginx `return 200`, or the WebSocket echo) and the load
generator share CPU 1. Rounds interleave the targets, the order flipping every round; tables
show medians. Everything binds 127.0.0.1; every process is stopped by PID.

Sections (--only NAME[,NAME]):
  tls        one ECDSA P-256 certificate (leaf + CA, tests/integration/certs.py), TLS 1.3 only
             on both proxies, in front of the same upstream nginx (`return 200 "ok\\n"`):
             keep-alive   wrk -c64 over https: 64 handshakes, then every request on an open
                          connection (nginx `keepalive_requests` raised so it never closes one):
                          req/s, proxy CPU µs/request
             handshakes   bench/netload.c `handshakes`: 32 slots, each connects, makes a new full
                          TLS 1.3 handshake, sends one GET, reads the answer, closes; no session
                          is ever offered, and resumed sessions are counted (they must be 0), so
                          is every session ticket the server sends: handshakes/s, proxy CPU
                          µs/handshake. With OpenSSL 3.0 the client's side of a handshake costs
                          about twice the server's, so one client core cannot fill the proxy's.
  websocket  plain listeners (claimgate `listen:` + a `websocket: true` route; nginx
             `proxy_http_version 1.1` + Upgrade/Connection headers), the same echo upstream
             (bench/netload.c `ws-echo`: answers the upgrade, then echoes bytes with splice(2)):
             round trips   64 connections, 64-byte masked binary frames, one in flight per
                           connection: round trips/s, proxy CPU µs/round trip
             MB/s          4 connections, 1 MiB frames: echoed payload MB/s (each byte crosses
                           the proxy twice), proxy CPU s per GiB relayed
             The client compares the first echo on each connection byte for byte and counts
             (without copying) the rest. nginx runs twice in one worker: as its WebSocket guide
             configures it (the aim's baseline) and with 64 KiB buffers ("nginx 64k buffers":
             nginx tunnels in chunks of proxy_buffer_size, one page by default).

Aims: claimgate at least 0.9x nginx in each row, compared per second of proxy CPU (requests,
handshakes, round trips or bytes per proxy CPU second: the rate of a one-worker proxy whose core
is its own). On a shared machine the measured rates mostly show how much of CPU 0 each proxy
got, and the handshake client cannot fill a core; the measured ratios are printed next to them,
with each run's proxy CPU share and CPU 1 share (load generator + upstream).

When the binary does not accept the section's config yet (`--check-config`), that section
runs nginx alone and its claimgate aims say "not measured".

Usage: bench/tls_bench.py [--binary PATH] [--ws-binary PATH] [--quick] [--only SECTIONS]
                          [--rounds N] [--duration S] [--json FILE]
Needs nginx, wrk, cc and OpenSSL headers (libssl-dev), python3-cryptography.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import benchlib
from benchlib import (GiB, MiB, Target, check_config, claimgate_config, free_port, proc_cpu_s, raise_nofile,
                      require_tools, start, start_nginx, wait_port, nginx_worker)

HERE = os.path.dirname(os.path.abspath(__file__))
SECTIONS = ("tls", "websocket")
SNI = "bench.local"
KEEPALIVE_CONNS = 64
HANDSHAKE_SLOTS = 32
WS_SMALL = (64, 64)        # connections, payload bytes
WS_LARGE = (4, MiB)
NGINX_64K = "nginx 64k buffers"

ROUTES = """  - match: { path_prefix: / }
    upstream: app
    auth: anonymous
"""
WS_ROUTES = """  - match: { path_prefix: /ws/ }
    upstream: app
    auth: anonymous
    websocket: true
  - match: { path_prefix: / }
    upstream: app
    auth: anonymous
"""


def nginx_tls_body(port, app, cert, key):
    return """upstream app { server 127.0.0.1:%d; keepalive 64; }
  server { listen 127.0.0.1:%d ssl;
    ssl_certificate %s; ssl_certificate_key %s; ssl_protocols TLSv1.3;
    keepalive_requests 100000000;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; proxy_set_header X-Real-IP $remote_addr;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; } }""" % (
        app, port, cert, key)


def nginx_ws_body(port, port_64k, echo):
    """Two servers in one nginx (one worker): the configuration from nginx's WebSocket guide, and
    the same with 64 KiB buffers. nginx tunnels an upgraded connection in chunks of
    proxy_buffer_size, one page by default, which costs it a lot on large messages."""
    loc = """location /ws/ { proxy_pass http://127.0.0.1:%d; proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade"; %s}"""
    return """server { listen 127.0.0.1:%d; %s }
  server { listen 127.0.0.1:%d; %s }""" % (
        port, loc % (echo, ""), port_64k, loc % (echo, "proxy_buffer_size 64k; proxy_buffers 4 64k; proxy_busy_buffers_size 64k; "))


class TlsBench(benchlib.Bench):
    SECTIONS = SECTIONS
    BRIEF_KEYS = ("rps", "hps", "rtps", "mbps", "cpu_us_per_req", "cpu_us_per_hs", "cpu_us_per_rt", "cpu_s_per_gib",
                  "proxy_cpu_share", "cpu1_share", "errors", "socket_errors", "resumed")

    def __init__(self, args):
        super().__init__(args, prefix="claimgate-tls-")
        self.netload = os.path.join(self.work, "netload")
        subprocess.run(["cc", "-O2", "-o", self.netload, os.path.join(HERE, "netload.c"), "-lssl", "-lcrypto"],
                       check=True)
        self.params = {}  # target -> negotiated TLS parameters
        self.resumed_total = 0

    # -- processes --
    def start_upstream(self):
        port = free_port()
        master = self.procs.add(start_nginx(os.path.join(self.work, "upstream"), """server { listen 127.0.0.1:%d;
    keepalive_requests 100000000; location / { return 200 "ok\\n"; } }""" % port, 1, worker_connections=8192))
        wait_port(port)
        return port, nginx_worker(master.pid)

    def make_cert(self):
        sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
        from certs import Authority
        d = os.path.join(self.work, "certs")
        os.makedirs(d)
        os.chmod(d, 0o755)
        cert, key, _ = Authority(d, name="claimgate bench CA", kind="ec").issue(
            "tls", SNI, dns=[SNI, "localhost"], ips=["127.0.0.1"], kind="ec")
        for p in (cert, key):
            os.chmod(p, 0o644)  # nginx's master reads them as root, but keep it simple for any user
        return cert, key

    def claimgate(self, name, binary, upstream, routes, tls=None):
        """(proc, port) or (None, reason) when the binary rejects the config."""
        port, admin = free_port(), free_port()
        config = claimgate_config(port, admin, {"app": upstream}, routes, tls=tls)
        path = os.path.join(self.work, name + "-check.yaml")
        with open(path, "w") as f:
            f.write(config)
        ok, why = check_config(binary, path)
        if not ok:
            return None, "%s does not accept the config yet: %s" % (binary, " / ".join(why.splitlines()[:3]))
        return self.launch_claimgate(name, config, admin, binary=binary, port=port), port

    # -- measuring --
    def netload_run(self, t, cpu1_pid, mode_args, duration):
        c0, u0, t0 = proc_cpu_s(t.cpu_pid), proc_cpu_s(cpu1_pid), time.monotonic()
        p = subprocess.run(["taskset", "-c", "1", self.netload] + [str(a) for a in mode_args], capture_output=True,
                           text=True, timeout=duration + 60)
        wall = time.monotonic() - t0
        died = self.exited(t)
        if not p.stdout.strip() or p.returncode != 0 or died:
            raise RuntimeError("netload %s against %s failed: %s%s" % (
                mode_args[0], t.name, (p.stdout.strip() + " " + p.stderr.strip())[-300:], died))
        r = json.loads(p.stdout)
        r["cpu_s"] = proc_cpu_s(t.cpu_pid) - c0
        r["proxy_cpu_share"] = r["cpu_s"] / r["wall_s"]
        r["upstream_cpu_share"] = (proc_cpu_s(cpu1_pid) - u0) / wall
        r["lg_cpu_share"] = r["lg_cpu_s"] / r["wall_s"]
        ops = r.get("handshakes", r.get("round_trips", 0))
        r["lg_cpu_us_per_op"] = r["lg_cpu_s"] / ops * 1e6 if ops else float("nan")
        r["cpu1_share"] = r["lg_cpu_share"] + r["upstream_cpu_share"]
        return r

    @staticmethod
    def exited(t):
        """'' while the target's process runs, else how it ended."""
        proc = getattr(t, "proc", None)
        if proc is None or proc.poll() is None:
            return ""
        code = proc.returncode
        return "; %s exited with %s" % (t.name, "signal %d" % -code if code < 0 else "status %d" % code)

    def keepalive(self, t, duration=None):
        u0 = proc_cpu_s(self.up_worker)
        try:
            r = self.wrk(t, scheme="https", connections=KEEPALIVE_CONNS, duration=duration)
        except RuntimeError as e:
            raise RuntimeError("%s%s" % (e, self.exited(t)))
        if self.exited(t):
            raise RuntimeError(self.exited(t)[2:])
        r["upstream_cpu_share"] = (proc_cpu_s(self.up_worker) - u0) / r["wall_s"]
        r["cpu1_share"] = r["lg_cpu_share"] + r["upstream_cpu_share"]
        return r

    def handshakes(self, t, duration=None):
        duration = duration or self.args.duration
        r = self.netload_run(t, self.up_worker, ["handshakes", t.port, duration, HANDSHAKE_SLOTS, SNI], duration)
        if r["version"] != "TLSv1.3":
            raise RuntimeError("%s negotiated %s" % (t.name, r["version"]))
        self.params[t.name] = {k: r[k] for k in ("version", "cipher", "group", "alpn")}
        r["hps"] = r["handshakes"] / r["wall_s"]
        r["cpu_us_per_hs"] = r["cpu_s"] / r["handshakes"] * 1e6 if r["handshakes"] else float("nan")
        r["hs_per_cpu_s"] = 1e6 / r["cpu_us_per_hs"] if r["handshakes"] else float("nan")
        r["tickets_per_hs"] = r["tickets"] / r["handshakes"] if r["handshakes"] else float("nan")
        r["errors"] += r["resumed"]  # a resumed session is not a full handshake
        self.resumed_total += r["resumed"]
        r["lg_bound"] = r["cpu1_share"] >= 0.8  # expected here: see the docstring
        return r

    def ws(self, t, conns, size, duration=None):
        duration = duration or self.args.duration
        r = self.netload_run(t, self.echo.pid, ["ws-client", t.port, duration, conns, size, "/ws/echo"], duration)
        r["rtps"] = r["round_trips"] / r["wall_s"]
        r["mbps"] = r["payload_bytes"] / r["wall_s"] / 1e6
        r["cpu_us_per_rt"] = r["cpu_s"] / r["round_trips"] * 1e6 if r["round_trips"] else float("nan")
        relayed = 2 * r["payload_bytes"]
        r["cpu_s_per_gib"] = r["cpu_s"] / relayed * GiB if relayed else float("nan")
        return r

    def probe(self, targets, measure, label):
        """One short run per target: the ones that fail are left out with a note."""
        kept = []
        for t in targets:
            try:
                r = measure(t, duration=1)
                if r.get("errors") or r.get("socket_errors"):
                    raise RuntimeError("%d errors, %d socket errors" % (r.get("errors", 0), r.get("socket_errors", 0)))
                kept.append(t)
            except Exception as e:
                if t.name == "nginx":
                    raise
                self.notes.append("%s %s: left out, its probe failed: %s" % (label, t.name, e))
                print("  [%s] %s left out: %s" % (label, t.name, e), flush=True)
        return kept

    # -- sections --
    def section_tls(self):
        self.up, self.up_worker = self.start_upstream()
        cert, key = self.make_cert()
        port = free_port()
        _, ng_worker = self.launch_nginx("tls-nginx", nginx_tls_body(port, self.up, cert, key))
        wait_port(port)
        targets = [Target("nginx", port, ng_worker)]
        cg, cg_port = self.claimgate("tls-claimgate", self.args.binary, self.up, ROUTES,
                                     tls={"cert_file": cert, "key_file": key, "min_version": "1.3"})
        if cg:
            targets.append(Target("claimgate", cg_port, cg.pid))
            targets[-1].proc = cg
        else:
            self.notes.append("tls: " + cg_port)
        out = {}
        for label, measure in (("keep-alive", self.keepalive), ("handshakes", self.handshakes)):
            kept = self.probe(targets, measure, "tls " + label)
            out[label] = self.rounds(kept, measure, "tls " + label, optional=("claimgate",))
        out["params"] = self.params
        self.results["tls"] = out
        self.capacity_aim("tls", "TLS 1.3 keep-alive requests", out["keep-alive"], "rps", "cpu_us_per_req", "req/s")
        self.capacity_aim("tls", "new full TLS 1.3 handshakes", out["handshakes"], "hps", "cpu_us_per_hs", "handshakes/s")
        self.aim("tls", "no resumed sessions in the handshake runs", "%d" % self.resumed_total, self.resumed_total == 0)
        p = self.params
        if "claimgate" in p and p["claimgate"] != p["nginx"]:
            self.notes.append("tls: claimgate and nginx negotiated different parameters: %s vs %s" % (
                p["claimgate"], p["nginx"]))

    def section_websocket(self):
        echo_port = free_port()
        self.echo = self.procs.add(start([self.netload, "ws-echo", str(echo_port)], 1))
        wait_port(echo_port)
        port, port_64k = free_port(), free_port()
        _, ng_worker = self.launch_nginx("ws-nginx", nginx_ws_body(port, port_64k, echo_port))
        wait_port(port)
        targets = [Target("nginx", port, ng_worker), Target(NGINX_64K, port_64k, ng_worker)]
        binary = self.args.ws_binary or self.args.binary
        cg, cg_port = self.claimgate("ws-claimgate", binary, echo_port, WS_ROUTES)
        if cg:
            targets.append(Target("claimgate", cg_port, cg.pid))
            targets[-1].proc = cg
        else:
            self.notes.append("websocket: " + cg_port)
        out = {}
        for label, (conns, size) in (("round trips", WS_SMALL), ("MB/s", WS_LARGE)):
            measure = lambda t, duration=None, c=conns, s=size: self.ws(t, c, s, duration)  # noqa: E731
            kept = self.probe(targets, measure, "ws " + label)
            out[label] = self.rounds(kept, measure, "ws " + label, optional=("claimgate",))
        self.results["websocket"] = out
        self.capacity_aim("websocket", "WebSocket echo round trips", out["round trips"], "rtps", "cpu_us_per_rt",
                          "round trips/s", NGINX_64K)
        self.capacity_aim("websocket", "WebSocket echo bytes", out["MB/s"], "mbps", "cpu_s_per_gib", "MB/s", NGINX_64K)

    def capacity_aim(self, section, what, res, rate_key, cpu_key, unit, other=None):
        """The aim compares what each one-worker proxy does per second of its own CPU (the rate of a
        full core): CPU 0 is shared with other work here, so the measured rates mostly show how much
        of it each proxy got. The measured ratio is printed next to it."""
        text = "%s per proxy CPU second >= 0.9x nginx" % what
        if "claimgate" not in res:
            self.aim(section, text, "nginx %.4g %s at %.4g CPU %s" % (
                res["nginx"][rate_key], unit, res["nginx"][cpu_key], "s/GiB" if "gib" in cpu_key else "µs/op"), None)
            return
        cg, ng = res["claimgate"], res["nginx"]
        by_cpu = ng[cpu_key] / cg[cpu_key]
        measured = "%.2fx (measured %s: %.2fx" % (by_cpu, unit, cg[rate_key] / ng[rate_key])
        if other in res:
            measured += "; vs %s: %.2fx by CPU, %.2fx measured" % (other, res[other][cpu_key] / cg[cpu_key],
                                                                  cg[rate_key] / res[other][rate_key])
        self.aim(section, text, measured + ")", by_cpu >= 0.9)

def report(b):
    R = b.results
    lines = ["", "## TLS and WebSocket: claimgate next to nginx", ""]
    lines.append("binary `%s`%s; proxy on CPU 0, upstream and load generator on CPU 1; %d round(s) of %d s, medians; "
                 "load average %.1f at the start, %.1f at the end." % (
                     b.args.binary, "" if not b.args.ws_binary else ", websocket `%s`" % b.args.ws_binary,
                     b.args.rounds, b.args.duration, b.load_start, os.getloadavg()[0]))

    def rows(res, cols):
        out = []
        for name in [n for n in res if n != "claimgate"] + ["claimgate"]:
            if name in res:
                out.append("| %s | %s |" % (name, " | ".join(f % res[name][k] for k, f in cols)))
            else:
                out.append("| %s | %s |" % (name, " | ".join("—" for _ in cols)))
        return out + ratio_rows(res, cols)

    def ratio_rows(res, cols):
        out = []
        for base in [n for n in res if n != "claimgate"]:
            cells = ["" if "claimgate" not in res or k.endswith("share") or k == "resumed"
                     else "%.2fx" % (res["claimgate"][k] / res[base][k]) for k, _ in cols]
            out.append("| claimgate/%s | %s |" % (base, " | ".join(cells)))
        return out

    if "tls" in R:
        p = R["tls"]["params"]
        lines += ["", "### TLS 1.3, one ECDSA P-256 certificate (%s)" % "; ".join(
            "%s: %s %s %s ALPN %s" % (n, v["version"], v["cipher"], v["group"], v["alpn"] or "none") for n, v in p.items()), ""]
        cols = [("rps", "%.0f"), ("cpu_us_per_req", "%.1f"), ("p50_ms", "%.3f"), ("p99_ms", "%.3f"),
                ("proxy_cpu_share", "%.2f"), ("cpu1_share", "%.2f")]
        lines += ["Keep-alive, wrk -c%d over https, tiny responses:" % KEEPALIVE_CONNS, "",
                  "| target | req/s | proxy CPU µs/req | p50 ms | p99 ms | proxy CPU share | CPU 1 share (wrk + upstream) |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        lines += rows(R["tls"]["keep-alive"], cols)
        cols = [("hps", "%.0f"), ("cpu_us_per_hs", "%.1f"), ("hs_per_cpu_s", "%.0f"), ("lg_cpu_us_per_op", "%.1f"), ("p50_ms", "%.2f"),
                ("p99_ms", "%.2f"), ("tickets_per_hs", "%.2f"), ("resumed", "%d"), ("proxy_cpu_share", "%.2f"),
                ("cpu1_share", "%.2f")]
        lines += ["", "New full handshakes, %d client slots, one GET each, no resumption:" % HANDSHAKE_SLOTS, "",
                  "| target | handshakes/s | proxy CPU µs/handshake | handshakes per proxy CPU s | client CPU µs/handshake | "
                  "p50 ms | p99 ms | tickets sent/handshake | resumed | proxy CPU share | CPU 1 share (client + upstream) |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        lines += rows(R["tls"]["handshakes"], cols)
    if "websocket" in R:
        lines += ["", "### WebSocket echo through plain listeners (same echo upstream)", ""]
        cols = [("rtps", "%.0f"), ("cpu_us_per_rt", "%.1f"), ("p50_ms", "%.3f"), ("p99_ms", "%.3f"),
                ("proxy_cpu_share", "%.2f"), ("cpu1_share", "%.2f")]
        lines += ["Round trips, %d connections, %d-byte messages:" % WS_SMALL, "",
                  "| target | round trips/s | proxy CPU µs/round trip | p50 ms | p99 ms | proxy CPU share | CPU 1 share (client + echo) |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        lines += rows(R["websocket"]["round trips"], cols)
        cols = [("mbps", "%.0f"), ("cpu_s_per_gib", "%.2f"), ("p50_ms", "%.1f"), ("proxy_cpu_share", "%.2f"),
                ("cpu1_share", "%.2f")]
        lines += ["", "Bulk, %d connections, %d MiB messages (MB/s of echoed payload; CPU per GiB relayed, both ways):" % (
            WS_LARGE[0], WS_LARGE[1] // MiB), "",
                  "| target | MB/s | proxy CPU s/GiB | p50 ms per message | proxy CPU share | CPU 1 share (client + echo) |",
                  "|---|---:|---:|---:|---:|---:|"]
        lines += rows(R["websocket"]["MB/s"], cols)
    lines += b.aims_lines(starved_note=(
        "proxy CPU share under 80%% of its core in: %s. CPU 0 was shared with other work (or the load generator "
        "was the limit), so the measured rates there understate the proxy; the aims compare the work per proxy "
        "CPU second." % ", ".join(sorted(b.starved))) if b.starved else None)
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=os.path.join(HERE, "..", "build", "claimgate"))
    ap.add_argument("--ws-binary", help="claimgate for the websocket section (default: --binary)")
    ap.add_argument("--quick", action="store_true", help="1 round of 3 s")
    ap.add_argument("--only", default=",".join(SECTIONS), help="comma-separated: " + ",".join(SECTIONS))
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--duration", type=int)
    ap.add_argument("--json", help="write every measurement to this file")
    args = ap.parse_args()
    args.binary = os.path.abspath(args.binary)
    if args.ws_binary:
        args.ws_binary = os.path.abspath(args.ws_binary)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    for s in only:
        if s not in SECTIONS:
            ap.error("unknown section %r (sections: %s)" % (s, ", ".join(SECTIONS)))
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.duration = args.duration or (3 if args.quick else 5)
    for exe in [args.binary] + ([args.ws_binary] if args.ws_binary else []):
        if not os.access(exe, os.X_OK):
            sys.exit("no claimgate binary at %s (--binary PATH)" % exe)
    require_tools("nginx", "wrk", "taskset", "cc")
    raise_nofile()

    b = TlsBench(args)
    t_start = time.monotonic()
    try:
        b.run(only)
    finally:
        b.cleanup()
    print(report(b))
    print("\ntotal %.0f s" % (time.monotonic() - t_start))
    if args.json:
        b.write_json(args.json)


if __name__ == "__main__":
    main()
