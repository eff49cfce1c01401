"""Shared pieces of the wrk-driven benchmarks: ports, processes pinned with taskset, nginx
configs in a scratch prefix, wrk output parsing, CPU time from /proc, claimgate configs, and
`Bench`, the frame of datapath_bench.py and tls_bench.py (interleaved rounds with medians, the
aims table, sections run one by one, JSON). Everything binds 127.0.0.1."""
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

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


# ---------------------------------------------------------------------------------------------
# processes and /proc

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid):
    """CPU seconds of all of pid's threads: schedstat's nanoseconds where the kernel keeps them
    (a 256 MiB relay takes only ~20 clock ticks, so tick counts were 5% steps), else utime+stime."""
    try:
        total = 0
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def children_of(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def nginx_worker(master, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = children_of(master)
        if kids:
            return kids[0]
        time.sleep(0.05)
    raise RuntimeError("nginx master %d has no worker" % master)


def raise_nofile(want=65536):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Procs:
    """Every process started, stopped by PID in reverse order (stop_all in a finally)."""

    def __init__(self):
        self.items = []

    def add(self, proc):
        self.items.append(proc)
        return proc

    def stop(self, proc):
        stop(proc)
        if proc in self.items:
            self.items.remove(proc)

    def stop_all(self):
        for p in reversed(self.items):
            stop(p)
        self.items = []


# ---------------------------------------------------------------------------------------------
# wrk with every number (run_wrk above is the older tuple form proxy_bench.py uses)


def _num_unit(value, unit, scale):
    return float(value) * scale[unit]


def run_wrk_url(url, duration, connections, cpu="1", script=None, headers=(), timeout_s=30):
    """One wrk run; returns requests, req/s, p50/p99 ms, bytes read, errors, and wrk's own CPU
    seconds (wait4 rusage) over the wall time. https:// URLs work: Debian's wrk links OpenSSL."""
    cmd = ["taskset", "-c", cpu, "wrk", "-t1", "-c%d" % connections, "-d%ds" % duration, "--latency",
           "--timeout", "%ds" % timeout_s]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd + [url], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    p.stdout.close()
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError("wrk failed (%s): %s" % (p.returncode, out[-500:]))
    ms = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}
    size = {"B": 1, "KB": KiB, "MB": MiB, "GB": GiB, "TB": GiB * 1024}

    def latency(label):
        m = re.search(r"^\s+%s\s+([\d.]+)(us|ms|s|m)\s*$" % label, out, re.M)
        return _num_unit(m.group(1), m.group(2), ms) if m else float("nan")
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m), ([\d.]+)(B|KB|MB|GB|TB) read", out)
    requests = int(m.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    bad = re.search(r"^bad_bodies=(\d+)", out, re.M)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (int(bad.group(1)) if bad else 0)
    return {"socket_errors": sum(int(x) for x in sock.groups()) if sock else 0, "requests": requests,
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": latency("50%"), "p99_ms": latency("99%"),
            "bytes_read": _num_unit(m.group(4), m.group(5), size), "errors": errors,
            "lg_cpu_share": (ru.ru_utime + ru.ru_stime) / wall, "wall_s": wall}


# ---------------------------------------------------------------------------------------------
# claimgate configs


def claimgate_config(port, admin, upstreams, routes, threads=1, providers="", max_connections=20000, tls=None):
    """One listener on 127.0.0.1:port: `listen:` when plain, else a `listeners:` entry with
    tls = {"cert_file", "key_file", "min_version"}."""
    ups = "".join('  %s: { url: "http://127.0.0.1:%d", max_idle_connections: 64 }\n' % (n, p)
                  for n, p in upstreams.items())
    if tls:
        listen = """listeners:
  - address: "127.0.0.1:%d"
    tls:
      certificates:
        - { cert_file: %s, key_file: %s }
      min_version: "%s"
""" % (port, tls["cert_file"], tls["key_file"], tls.get("min_version", "1.3"))
    else:
        listen = 'listen: "127.0.0.1:%d"\n' % port
    return """%sadmin: "127.0.0.1:%d"
threads: %d
log_level: warn
access_log: false
client:
  max_connections: %d
%supstreams:
%sroutes:
%s""" % (listen, admin, threads, max_connections, providers, ups, routes)


def check_config(binary, path):
    """(True, "") when `binary --check-config path` accepts it, else (False, its complaint)."""
    try:
        p = subprocess.run([binary, "--check-config", path], capture_output=True, text=True, timeout=30)
    except OSError as e:
        return False, str(e)
    return p.returncode == 0, (p.stderr + p.stdout).strip()


# ---------------------------------------------------------------------------------------------
# the frame of a bench run


class Target:
    def __init__(self, name, port, cpu_pid, **wrk_kw):
        self.name, self.port, self.cpu_pid, self.wrk_kw = name, port, cpu_pid, wrk_kw


def med(values):
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def brief(s, keys=("rps", "mbps", "p99_ms", "cpu_us_per_req", "cpu_s_per_gib", "allocs_per_req", "errors",
                   "socket_errors", "cache_hits")):
    return "  ".join("%s=%.4g" % (k, s[k]) for k in keys if k in s and isinstance(s[k], (int, float)))


class Bench:
    """Scratch directory, processes, interleaved rounds, aims and notes of one run. Subclasses
    define SECTIONS and a section_NAME method for each; run() calls the selected ones in order,
    stopping whatever a section started even when it fails."""
    SECTIONS = ()
    BRIEF_KEYS = ("rps", "mbps", "p99_ms", "cpu_us_per_req", "cpu_s_per_gib", "allocs_per_req", "errors",
                  "socket_errors", "cache_hits")

    def __init__(self, args, prefix="claimgate-bench-"):
        self.args = args
        self.work = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.work, 0o755)  # nginx workers (nobody) read files in it
        self.procs = Procs()
        self.results = {}
        self.aims = []  # (section, aim, measured, pass); pass None = not measured
        self.notes = []
        self.load_start = os.getloadavg()[0]
        self.starved = set()  # runs whose proxy got under 80% of its core(s)

    # -- processes --
    def launch_claimgate(self, name, config, admin, cpu="0", env=None, binary=None, port=None):
        """Writes name.yaml, starts the binary pinned to cpu, waits for port and /readyz."""
        path = os.path.join(self.work, name + ".yaml")
        with open(path, "w") as f:
            f.write(config)
        proc = self.procs.add(start([binary or self.args.binary, "--config", path], cpu, env=env,
                                    stderr=open(os.path.join(self.work, name + ".log"), "w")))
        if port:
            wait_port(port)
        self.wait_ready(admin, proc, name)
        return proc

    def wait_ready(self, admin, proc, name, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log = os.path.join(self.work, name + ".log")
                try:
                    with open(log) as f:
                        tail = f.read()[-400:].strip()
                except OSError:
                    tail = ""
                raise RuntimeError("%s exited: %s" % (name, tail or "see " + log))
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % admin, timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError("%s not ready" % name)

    def launch_nginx(self, name, body, cpu=0, worker_connections=4096):
        """nginx with one worker on cpu; returns (master, worker pid)."""
        master = self.procs.add(start_nginx(os.path.join(self.work, name), body, cpu,
                                            worker_connections=worker_connections))
        return master, nginx_worker(master.pid)

    # -- measuring --
    def wrk(self, t, path="/", duration=None, connections=64, scheme="http", **extra):
        kw = dict(t.wrk_kw)
        kw.update(extra)
        c0 = proc_cpu_s(t.cpu_pid)
        r = run_wrk_url("%s://127.0.0.1:%d%s" % (scheme, t.port, path), duration or self.args.duration, connections, **kw)
        r["cpu_s"] = proc_cpu_s(t.cpu_pid) - c0
        r["cpu_us_per_req"] = r["cpu_s"] / r["requests"] * 1e6 if r["requests"] else float("nan")
        r["proxy_cpu_share"] = r["cpu_s"] / r["wall_s"]  # well under 1 (per worker): starved, or load-gen bound
        return r

    def rounds(self, targets, measure, label, rounds=None, optional=()):
        """measure(target) -> dict, for every target in every round, order flipped each round. A
        target named in `optional` whose measurement raises is noted and left out from then on."""
        samples = {t.name: [] for t in targets}
        targets = list(targets)
        for r in range(rounds or self.args.rounds):
            for t in (list(targets) if r % 2 == 0 else targets[::-1]):
                try:
                    s = measure(t)
                except Exception as e:
                    if t.name not in optional:
                        raise
                    self.notes.append("%s %s: left out from round %d on: %s" % (label, t.name, r + 1, e))
                    print("  [%s] round %d %s FAILED, left out: %s" % (label, r + 1, t.name, e), flush=True)
                    targets.remove(t)
                    del samples[t.name]
                    continue
                samples[t.name].append(s)
                if s.get("errors") or s.get("socket_errors"):
                    self.notes.append("%s %s: %d errors, %d socket errors in round %d" % (
                        label, t.name, s["errors"], s.get("socket_errors", 0), r + 1))
                print("  [%s] round %d %-18s %s" % (label, r + 1, t.name, brief(s, self.BRIEF_KEYS)), flush=True)
                share = s.get("proxy_cpu_share", 1.0) / (2 if "threads 2" in t.name else 1)
                if share < 0.8 and not s.get("lg_bound"):
                    self.starved.add("%s %s" % (label, t.name))
        return {name: {k: med([s[k] for s in v]) for k in v[0] if isinstance(v[0][k], (int, float))}
                for name, v in samples.items()}

    def warm(self, targets, path="/", connections=64, scheme="http"):
        for t in targets:
            r = run_wrk_url("%s://127.0.0.1:%d%s" % (scheme, t.port, path), 1, connections, **t.wrk_kw)
            if r["errors"] or not r["requests"]:
                raise RuntimeError("%s: %d errors in warm-up (%d requests)" % (t.name, r["errors"], r["requests"]))

    def aim(self, section, text, measured, ok):
        self.aims.append((section, text, measured, None if ok is None else bool(ok)))

    # -- the run --
    def run(self, only):
        for s in self.SECTIONS:
            if s in only:
                t0 = time.monotonic()
                print("== %s" % s, flush=True)
                before = list(self.procs.items)
                try:
                    getattr(self, "section_" + s)()
                except Exception as e:  # keep the other sections' numbers
                    self.notes.append("section %s failed: %s: %s" % (s, type(e).__name__, e))
                    print("  section %s FAILED: %s" % (s, e), flush=True)
                finally:
                    for p in [p for p in self.procs.items if p not in before]:
                        self.procs.stop(p)
                print("  (%s: %.0f s)" % (s, time.monotonic() - t0), flush=True)

    def cleanup(self):
        self.procs.stop_all()
        shutil.rmtree(self.work, ignore_errors=True)

    def aims_lines(self, starved_note=None):
        lines = ["", "### Aims", "", "| section | aim | measured | result |", "|---|---|---|---|"]
        for section, text, measured, ok in self.aims:
            lines.append("| %s | %s | %s | %s |" % (section, text, measured,
                                                   "not measured" if ok is None else "PASS" if ok else "FAIL"))
        notes = list(self.notes)
        if self.starved:
            notes.append(starved_note or (
                "proxy CPU share under 80%% of its core(s) in: %s. CPU 0 was shared with other work (or the "
                "load generator was the limit), so req/s and latency there understate the proxy; proxy CPU "
                "µs/req stays comparable (the 'by CPU µs/req' ratios)." % ", ".join(sorted(self.starved))))
        if notes:
            lines += ["", "Notes:"] + ["- " + n for n in notes]
        return lines

    def write_json(self, path):
        with open(path, "w") as f:
            json.dump({"args": {k: v for k, v in vars(self.args).items()}, "results": self.results,
                       "aims": [{"section": s, "aim": a, "measured": m, "pass": ok} for s, a, m, ok in self.aims],
                       "notes": self.notes}, f, indent=1, default=str)
