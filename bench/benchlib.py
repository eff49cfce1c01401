"""Shared pieces of the wrk-driven benchmarks: ports, processes pinned with taskset, nginx
configs in a scratch prefix, wrk output parsing. Everything binds 127.0.0.1."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from harness import free_port  # noqa: E402,F401  (ports outside the kernel's ephemeral range)


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


def _nofile_hard():
    import resource
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return hard if hard != resource.RLIM_INFINITY else 1 << 20


def nginx_conf(workdir, body, worker_connections=4096):
    return """daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile %d;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections %d; }
http {
  access_log off;
  client_body_temp_path %s/body;
  proxy_temp_path %s/proxy;
  fastcgi_temp_path %s/fastcgi;
  uwsgi_temp_path %s/uwsgi;
  scgi_temp_path %s/scgi;
  %s
}
""" % ((min(worker_connections * 2 + 64, _nofile_hard()),) + (workdir,) * 2 + (worker_connections,) + (workdir,) * 5 + (body,))


def parse_wrk(out):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def ms(label):
        m = re.search(r"^\s+%s\s+([\d.]+)(us|ms|s)\s*$" % label, out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, ms("50%"), ms("99%"), int(errors.group(1)) if errors else 0



def nginx_binary():
    return shutil.which("nginx") or "/usr/sbin/nginx"


def require_tools(*tools):
    for tool in tools:
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            sys.exit("missing %s: scripts/install-deps.sh nginx wrk haproxy" % tool)


def start_nginx(workdir, body, cpu, worker_connections=4096):
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "nginx.conf"), "w") as f:
        f.write(nginx_conf(workdir, body, worker_connections))
    return start([nginx_binary(), "-p", workdir, "-c", "nginx.conf"], cpu)


def run_wrk(port, duration, connections, cpu=1, script=None, headers=()):
    cmd = ["taskset", "-c", str(cpu), "wrk", "-t1", "-c%d" % connections, "-d%ds" % duration, "--latency"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + ["http://127.0.0.1:%d/" % port], capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def haproxy_config(port, upstream, pem):
    """HAProxy 2.6 in front of `upstream`, verifying ES256 bearer tokens with jwt_verify against the
    PEM public key (signature only: no exp/iss/aud). maxconn stays within the machine's fd limit."""
    return """global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:%d
  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('$.alg')
  http-request deny unless { var(txn.alg) -m str ES256 }
  http-request deny unless { var(txn.bearer),jwt_verify(txn.alg,"%s") -m int 1 }
  default_backend be
backend be
  http-reuse always
  server s1 127.0.0.1:%d
""" % (port, pem, upstream)
