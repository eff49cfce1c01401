"""Starts the real build/claimgate, a real upstream process and talks to them over loopback."""
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BINARY = os.environ.get("CLAIMGATE_BINARY", os.path.join(HERE, "..", "..", "build", "claimgate"))
PYTHON = "/usr/bin/python3"


def leaked_secrets(text):
    """The secrets of tokens.SECRETS that occur in `text`. Most secrets are base64url or hex, so
    runs of that alphabet are searched through tokens' prefix index; the few with other
    characters (a printable HMAC secret, a cookie value) are searched for as plain substrings."""
    from tokens import MIN_SECRET_CHARS, OTHER_SECRETS, SECRETS_BY_PREFIX
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    found = {secret for secret in tuple(OTHER_SECRETS) if secret in text}
    prefix = MIN_SECRET_CHARS
    for run in re.findall(r"[A-Za-z0-9_-]{%d,}" % prefix, text):
        for i in range(len(run) - prefix + 1):
            for secret in tuple(SECRETS_BY_PREFIX.get(run[i:i + prefix], ())):
                if run.startswith(secret, i):
                    found.add(secret)
    return found


def assert_no_secret_in(text, where):
    found = leaked_secrets(text)
    if found:
        # Name the secrets by a short prefix only: test logs are kept.
        raise AssertionError("%d token signature(s) or key secret(s) appear in %s: %s" % (
            len(found), where, ", ".join(sorted(s[:6] + "..." for s in found))))


def run_claimgate(argv, where=None, secret_stdout=False, **kw):
    """Runs `build/claimgate *argv` (subprocess.run; text, captured output and a 30 s timeout unless
    `kw` says otherwise) and scans what it printed for test secrets (assert_no_secret_in).
    secret_stdout=True scans stderr only: for `claimgate mint`, whose stdout is a fresh token."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 30)
    r = subprocess.run([BINARY] + list(argv), **kw)
    if where is None:  # the command line, its secrets (a --token) cut to 6 characters as in the message
        line = " ".join(str(a) for a in argv)
        for secret in leaked_secrets(line):
            line = line.replace(secret, secret[:6] + "...")
        where = "the output of claimgate " + line[:300]
    printed = (r.stderr or "") if secret_stdout else (r.stdout or "") + (r.stderr or "")
    if isinstance(printed, bytes):
        printed = printed.decode("latin-1")
    assert_no_secret_in(printed, where)
    return r


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


_EPHEMERAL = _ephemeral_range()
_claimed_ports = set()


def free_port():
    """A loopback port for the gateway to bind later, chosen outside the kernel's ephemeral range:
    a port from bind(0) could be handed again, between our check and the gateway's bind, to a
    helper server binding port 0 or to an outgoing connection (a flake seen in CI)."""
    low, high = (10000, _EPHEMERAL[0] - 1) if _EPHEMERAL[0] > 11000 else (_EPHEMERAL[1] + 1, 65535)
    for _ in range(1000):
        port = random.randint(low, high)
        if port in _claimed_ports:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _claimed_ports.add(port)
        return port
    raise RuntimeError("no free loopback port in %d-%d" % (low, high))


def wait_for_port(port, timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s before listening on %d" % (proc.returncode, port))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError("nothing listens on 127.0.0.1:%d" % port)


def stop_process(proc, timeout=10.0):
    """SIGTERM, then SIGKILL after `timeout`. Returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class Upstream:
    def __init__(self, script=os.path.join(HERE, "upstream.py")):
        self.proc = subprocess.Popen([PYTHON, script], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError("upstream did not start: %r" % line)
        self.port = int(line.split()[1])

    def stop(self):
        stop_process(self.proc, 5)
        self.proc.stdout.close()


class Gateway:
    """build/claimgate --config <generated file>, stderr captured to a file for log assertions."""

    def __init__(self, config_text, preexec=None, env=None):
        self.dir = tempfile.mkdtemp(prefix="claimgate-test-")
        self.config_path = os.path.join(self.dir, "config.yaml")
        with open(self.config_path, "w") as f:
            f.write(config_text)
        self.log_path = os.path.join(self.dir, "stderr.log")
        self.log = open(self.log_path, "wb")
        self.scanned = False
        self.proc = subprocess.Popen([BINARY, "--config", self.config_path], stdout=subprocess.DEVNULL, stderr=self.log,
                                     preexec_fn=preexec, env=env)

    def wait(self, port):
        wait_for_port(port, proc=self.proc)

    def stop(self, timeout=10.0):
        """Stops the gateway and returns its exit code; raises if its log holds any test secret."""
        code = stop_process(self.proc, timeout)
        self.log.close()
        if not self.scanned:
            self.scanned = True
            assert_no_secret_in(self.logs(), "the gateway log " + self.log_path)
        return code

    def logs(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


def basic_config(listen, admin, upstream_port, extra="", routes=None, upstream_extra=""):
    routes = routes or """
  - name: all
    match: { path_prefix: / }
    upstream: app
    auth: anonymous
"""
    return """listen: "127.0.0.1:%d"
admin: "127.0.0.1:%d"
threads: 2
drain_timeout_ms: 5000
upstreams:
  app: { url: "http://127.0.0.1:%d", connect_timeout_ms: 1000, response_timeout_ms: 3000%s }
%s
routes:%s""" % (listen, admin, upstream_port, upstream_extra, extra, routes)


def stop_gateway_and_helpers(gateway, *helpers):
    """Stops a gateway, then the helper processes beside it (upstream, JWKS server) even if the
    gateway's log scan fails; fails on a non-zero exit (a sanitizer report at shutdown shows only
    there), printing the log's tail."""
    try:
        code = gateway.stop()
    finally:
        for helper in helpers:
            helper.stop()
    if code != 0:
        print(gateway.logs()[-4000:])
    assert code == 0, "claimgate exited with %s" % code


class Response:
    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    def header(self, name):
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)


_SCANNED_BODY_LIMIT = 1 << 20


class RawClient:
    """A raw socket client: sends exact bytes and parses responses itself (Content-Length,
    chunked, or close-delimited), so malformed requests can be tested."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(1 << 16)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _stream(self, left, take):
        """Hands the next `left` body bytes to `take` as they arrive, without gathering them."""
        while left:
            if not self.buf:
                self._fill()
            piece = self.buf[:left]
            self.buf = self.buf[len(piece):]
            take(piece)
            left -= len(piece)

    def read_response(self, head_request=False, sink=None):
        status_line = self._line().decode("latin-1")
        _, status, reason = (status_line.split(" ", 2) + [""])[:3]
        headers = []
        while True:
            line = self._line()
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name, value.strip()))
        resp = Response(int(status), reason, headers, b"")
        if 100 <= resp.status < 200:
            return resp
        chunks = []
        total = 0

        def take(data):
            nonlocal total
            total += len(data)
            if sink:
                sink(data)
            else:
                chunks.append(data)

        te = resp.header("transfer-encoding")
        cl = resp.header("content-length")
        if head_request or resp.status in (204, 304):
            pass
        elif te and "chunked" in te.lower():
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():
                        pass
                    break
                self._stream(size, take)
                self._exact(2)
        elif cl is not None:
            self._stream(int(cl), take)
        else:
            while True:
                if self.buf:
                    take(self.buf)
                    self.buf = b""
                try:
                    self._fill()
                except EOFError:
                    break
        resp.body = b"".join(chunks)
        resp.body_length = total
        # The test upstream answers with reason "X" and echoes the request, token included, in its
        # body: only that body is exempt. Its headers (and whatever the gateway adds to them) and
        # every other reply the gateway made itself (or streamed as a pattern) hold no secret.
        if resp.reason == "X":
            assert_no_secret_in(repr(resp.headers), "the headers of a %d upstream reply" % resp.status)
        elif total <= _SCANNED_BODY_LIMIT:
            assert_no_secret_in(repr(resp.headers) + resp.body.decode("latin-1"),
                                "a %d reply" % resp.status)
        return resp

    def is_closed(self, timeout=2.0):
        """True once the peer closed (EOF or reset) with no further bytes."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1)
            return data == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def request(port, method="GET", path="/", headers=(), body=b"", host="test.local"):
    c = RawClient(port)
    try:
        head = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, path, host)
        for n, v in headers:
            head += "%s: %s\r\n" % (n, v)
        if body:
            head += "Content-Length: %d\r\n" % len(body)
        head += "Connection: close\r\n\r\n"
        c.send(head.encode("latin-1") + body)
        return c.read_response(head_request=(method == "HEAD"))
    finally:
        c.close()


class GatewayTestCase(unittest.TestCase):
    """One upstream and one gateway per test class; subclasses may override `config` and `make_upstream`
    (any object with `.port` and `.stop()`)."""

    @classmethod
    def config(cls, listen, admin, upstream_port):
        return basic_config(listen, admin, upstream_port)

    @classmethod
    def make_upstream(cls):
        return Upstream()

    @classmethod
    def setUpClass(cls):
        cls.upstream = cls.make_upstream()
        cls.port = free_port()
        cls.admin_port = free_port()
        cls.gateway = Gateway(cls.config(cls.port, cls.admin_port, cls.upstream.port))
        try:
            cls.gateway.wait(cls.port)
            wait_for_port(cls.admin_port, proc=cls.gateway.proc)
        except Exception:
            cls.upstream.stop()
            sys.stderr.write(cls.gateway.logs())
            raise

    @classmethod
    def tearDownClass(cls):
        code = cls.gateway.stop()
        cls.upstream.stop()
        if code != 0:
            sys.stderr.write(cls.gateway.logs())
        assert code == 0, "claimgate exited with %s" % code

    def upstream_stats(self):
        return request(self.upstream.port, path="/stats").json()


def main():
    import warnings
    warnings.simplefilter("ignore", ResourceWarning)  # sockets left to the GC in failing paths
    unittest.main(verbosity=2)


# ---------------------------------------------------------------------------- auth helpers
# Added for test_auth.py and test_keys.py; nothing above depends on them.

# One route per policy kind (anonymous, roles, scopes, nested claim, path claim, optional, CORS
# preflight, catch-all), in match order.
CONTRACT_ROUTES = """
  - name: public
    match: { path_prefix: /public/ }
    upstream: app
    auth: anonymous
  - match: { path_prefix: /admin }
    upstream: app
    require: { roles_any: [admin] }
  - match: { path: /posts, methods: [POST] }
    upstream: app
    require: { scopes_all: ["write:posts"] }
  - match: { path_prefix: /pma/ }
    upstream: app
    require: { claims: { permissions.pma.role: admin } }
  - match: { path_regex: "^/tenants/([^/]+)/.*" }
    upstream: app
    require: { path_claims: { tenant_id: 1 } }
  - match: { path_prefix: /opt/ }
    upstream: app
    auth: optional
  - match: { path_prefix: /cors/ }
    upstream: app
    bypass_cors_preflight: true
  - match: { path_prefix: / }
    upstream: app
    require: {}
"""


def provider_yaml(**fields):
    """One providers: list item in YAML flow style (JSON values are valid YAML)."""
    return "  - " + json.dumps(fields) + "\n"


def auth_config(listen, admin, upstream_port, providers, routes=CONTRACT_ROUTES, extra="", startup_timeout_ms=10000):
    """A gateway config with `providers` (dicts, see provider_yaml) and the contract's routes."""
    return """listen: "127.0.0.1:%d"
admin: "127.0.0.1:%d"
threads: 2
drain_timeout_ms: 2000
startup_timeout_ms: %d
%s
providers:
%s
upstreams:
  app: { url: "http://127.0.0.1:%d", connect_timeout_ms: 1000, response_timeout_ms: 3000 }
routes:%s""" % (listen, admin, startup_timeout_ms, extra, "".join(provider_yaml(**p) for p in providers),
                upstream_port, routes)


def readyz(admin_port):
    return request(admin_port, path="/readyz").status


def wait_ready(admin_port, timeout=10.0):
    """Polls /readyz until 200; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if readyz(admin_port) == 200:
                return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError("/readyz on %d not 200 after %.1f s" % (admin_port, timeout))


def start_gateway(config_text):
    """A Gateway on `config_text` whose listen and admin ports are listening (not necessarily ready)."""
    import re
    gw = Gateway(config_text)
    listen = int(re.search(r'^listen: "127\.0\.0\.1:(\d+)"', config_text, re.M).group(1))
    admin = int(re.search(r'^admin: "127\.0\.0\.1:(\d+)"', config_text, re.M).group(1))
    try:
        gw.wait(listen)
        wait_for_port(admin, proc=gw.proc)
    except Exception:
        gw.stop()
        sys.stderr.write(gw.logs())
        raise
    return gw


def challenge_params(resp):
    """WWW-Authenticate: Bearer realm="...", k="v" -> {"scheme": "Bearer", k: v}."""
    import re
    value = resp.header("WWW-Authenticate")
    if value is None:
        return None
    scheme, _, rest = value.partition(" ")
    params = {"scheme": scheme}
    for k, v in re.findall(r'([A-Za-z_]+)="((?:[^"\\]|\\.)*)"', rest):
        params[k] = v
    return params


def bearer(token):
    return [("Authorization", "Bearer " + token)]
