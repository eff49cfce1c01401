#!/usr/bin/python3
"""Plain-proxy throughput: claimgate vs nginx proxy_pass, same machine, same run.

An nginx `return 200` upstream and wrk share CPU 1; the proxy under test (claimgate with one
worker thread, or nginx with one worker process and upstream keepalive) runs alone on CPU 0.
Rounds alternate between the two proxies so drift on a noisy machine hits both alike.
Prints requests/s and p50/p99 latency per round, the medians, and claimgate/nginx ratios.

Usage: bench/proxy_bench.py [--rounds N] [--duration S] [--connections C] [--binary build/claimgate]
Needs: nginx, wrk (scripts/install-deps.sh nginx wrk).
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(port)


def start(cmd, cpu, **kw):
    return subprocess.Popen(["taskset", "-c", str(cpu)] + cmd, **kw)


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def nginx_conf(workdir, body):
    return """daemon off;
master_process on;
worker_processes 1;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %s/body;
  proxy_temp_path %s/proxy;
  fastcgi_temp_path %s/fastcgi;
  uwsgi_temp_path %s/uwsgi;
  scgi_temp_path %s/scgi;
  %s
}
""" % ((workdir,) * 7 + (body,))


def parse_wrk(out):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def ms(label):
        m = re.search(r"^\s+%s\s+([\d.]+)(us|ms|s)\s*$" % label, out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, ms("50%"), ms("99%"), int(errors.group(1)) if errors else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--binary", default=os.path.join(HERE, "..", "build", "claimgate"))
    args = ap.parse_args()
    for tool in ("nginx", "wrk", "taskset"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            sys.exit("missing %s: scripts/install-deps.sh nginx wrk" % tool)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"

    work = tempfile.mkdtemp(prefix="claimgate-bench-")
    up_port, nginx_port, cg_port, cg_admin = free_port(), free_port(), free_port(), free_port()
    procs = []
    try:
        up_dir = os.path.join(work, "upstream")
        os.makedirs(up_dir)
        with open(os.path.join(up_dir, "nginx.conf"), "w") as f:
            f.write(nginx_conf(up_dir, 'server { listen 127.0.0.1:%d; location / { return 200 "ok\\n"; } }' % up_port))
        procs.append(start([nginx, "-p", up_dir, "-c", "nginx.conf"], 1))

        px_dir = os.path.join(work, "proxy")
        os.makedirs(px_dir)
        with open(os.path.join(px_dir, "nginx.conf"), "w") as f:
            f.write(nginx_conf(px_dir, """upstream app { server 127.0.0.1:%d; keepalive 64; }
  server { listen 127.0.0.1:%d;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; proxy_set_header X-Real-IP $remote_addr; } }"""
                               % (up_port, nginx_port)))
        procs.append(start([nginx, "-p", px_dir, "-c", "nginx.conf"], 0))

        cg_conf = os.path.join(work, "claimgate.yaml")
        with open(cg_conf, "w") as f:
            f.write("""listen: "127.0.0.1:%d"
admin: "127.0.0.1:%d"
threads: 1
log_level: warn
upstreams:
  app: { url: "http://127.0.0.1:%d", max_idle_connections: 64 }
routes:
  - match: { path_prefix: / }
    upstream: app
    auth: anonymous
""" % (cg_port, cg_admin, up_port))
        procs.append(start([args.binary, "--config", cg_conf], 0, stderr=open(os.path.join(work, "claimgate.log"), "w")))
        for p in (up_port, nginx_port, cg_port):
            wait_port(p)

        results = {"nginx": [], "claimgate": []}
        targets = [("nginx", nginx_port), ("claimgate", cg_port)]
        for name, port in targets:  # warm-up
            subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c%d" % args.connections, "-d2s",
                            "http://127.0.0.1:%d/" % port], capture_output=True, check=True)
        print("%-6s %-10s %12s %10s %10s" % ("round", "proxy", "requests/s", "p50 ms", "p99 ms"))
        for r in range(args.rounds):
            for name, port in (targets if r % 2 == 0 else targets[::-1]):
                out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c%d" % args.connections,
                                      "-d%ds" % args.duration, "--latency", "http://127.0.0.1:%d/" % port],
                                     capture_output=True, text=True, check=True).stdout
                rps, p50, p99, errors = parse_wrk(out)
                if errors:
                    sys.exit("%s answered %d non-2xx responses" % (name, errors))
                results[name].append((rps, p50, p99))
                print("%-6d %-10s %12.0f %10.3f %10.3f" % (r + 1, name, rps, p50, p99))
        med = {n: tuple(statistics.median(x[i] for x in v) for i in range(3)) for n, v in results.items()}
        print()
        for n in ("nginx", "claimgate"):
            print("median %-10s %12.0f %10.3f %10.3f" % (n, *med[n]))
        print("ratio claimgate/nginx: throughput %.2fx, p50 %.2fx, p99 %.2fx (lower latency ratio is better)" % (
            med["claimgate"][0] / med["nginx"][0], med["claimgate"][1] / med["nginx"][1],
            med["claimgate"][2] / med["nginx"][2]))
    finally:
        for p in reversed(procs):
            stop(p)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
