#!/usr/bin/python3
"""TLS to upstreams: real HTTPS upstreams (http.server over Python's ssl, certificates from
certs.py) behind the real gateway. A good certificate passes, with claim headers, keep-alive
reuse and session resumption; an expired, wrong-name or unknown-CA certificate is a 502 with the
reason in the log and the metrics, and the upstream application never sees the request;
server_name sets SNI and the name verified; a client certificate for upstreams that require one;
and config errors for the TLS keys."""
import http.server
import json
import os
import re
import signal
import socket
import ssl
import tempfile
import threading
import time
import unittest

from certs import Authority
from harness import (Gateway, RawClient, main, provider_yaml, request, run_claimgate, free_port,
                     stop_gateway_and_helpers, wait_for_port)
from tokens import SigningKey, jwks_json, mint, remember_secret

ISSUER = "https://idp.upstream-tls.test"
BIG = bytes(range(256)) * 4096  # 1 MiB


class TlsUpstream:
    """A threaded HTTPS server on 127.0.0.1. Every request is answered with JSON of what arrived and
    how its TLS connection was made (SNI, resumed, client certificate, ALPN, version), and
    recorded in `requests`. `/big` answers with BIG; `?close=1` answers with Connection: close;
    `?hangup=1` answers as keep-alive, then closes the connection; `?nolength=1` sends the body
    without a length and closes (without a close_notify, as Python's ssl does)."""

    def __init__(self, cert_file, key_file, client_ca=None, max_version=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert_file, key_file)
        ctx.set_alpn_protocols(["http/1.1"])
        if max_version is not None:
            ctx.maximum_version = max_version
        if client_ca:
            ctx.load_verify_locations(client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.sni_callback = self._on_sni
        self.lock = threading.Lock()
        self.requests = []
        self.connections = 0
        self.failed_handshakes = 0
        self._sni = {}
        upstream = self

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def finish_request(self, sock, client_address):  # on the connection's own thread
                sock.settimeout(10)
                try:
                    tls_sock = ctx.wrap_socket(sock, server_side=True)
                except (ssl.SSLError, OSError):
                    with upstream.lock:
                        upstream.failed_handshakes += 1
                    sock.close()
                    return
                try:
                    Handler(tls_sock, client_address, self, upstream._connection(tls_sock))
                except OSError:
                    pass
                finally:
                    tls_sock.close()

            def handle_error(self, request, client_address):
                pass

        self.server = Server(("127.0.0.1", 0), None)
        self.server.upstream = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _on_sni(self, sock, name, ctx):
        with self.lock:
            self._sni[id(sock)] = name

    def _connection(self, tls_sock):
        cert = tls_sock.getpeercert()
        subject = dict(item[0] for item in cert["subject"]) if cert else None
        with self.lock:
            self.connections += 1
            return {"id": self.connections, "requests": 0, "sni": self._sni.pop(id(tls_sock), None),
                    "resumed": tls_sock.session_reused, "alpn": tls_sock.selected_alpn_protocol(),
                    "version": tls_sock.version(), "client_cert": subject.get("commonName") if subject else None}

    def paths(self):
        with self.lock:
            return [r["path"] for r in self.requests]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __init__(self, sock, address, server, connection):
        self.connection_info = connection
        super().__init__(sock, address, server)

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        upstream = self.server.upstream
        info = self.connection_info
        with upstream.lock:
            info["requests"] += 1
            record = {"method": self.command, "path": self.path, "headers": [[k, v] for k, v in self.headers.items()],
                      "body_bytes": len(body), "connection": info["id"], "request_on_connection": info["requests"],
                      "tls": {k: info[k] for k in ("sni", "resumed", "alpn", "version", "client_cert")}}
            upstream.requests.append(record)
        data = BIG if "/big" in self.path else json.dumps(record).encode()
        self.send_response(200, "X")
        self.send_header("Content-Type", "application/json")
        if "nolength=1" in self.path:  # the body ends where the connection does
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(data)))
        if "close=1" in self.path:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        if "hangup=1" in self.path:
            self.close_connection = True

    do_POST = do_GET


class PlaintextPort:
    """A port that answers whatever arrives with a plaintext HTTP 400, as a web server's HTTP port
    answers a TLS ClientHello."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

    def stop(self):
        self.sock.close()


def sent(record, name):
    return [v for k, v in record["headers"] if k.lower() == name.lower()]


def metric(text, name, **labels):
    """The sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{"):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line[:line.index("}")]))
            if all(found.get(k) == v for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
    return total


class UpstreamTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="claimgate-upstream-tls-")
        ca = Authority(cls.dir, "upstream CA")
        other_ca = Authority(cls.dir, "unknown CA")
        client_ca = Authority(cls.dir, "client CA")
        good = ca.issue("good", "app.internal", dns=["app.internal", "localhost"], ips=["127.0.0.1"])
        expired = ca.issue("expired", "app.internal", dns=["app.internal"], expired=True)
        wrong = ca.issue("wrong", "other.internal", dns=["other.internal"], ips=["127.0.0.2"])
        foreign = other_ca.issue("foreign", "app.internal", dns=["app.internal"])
        client = client_ca.issue("gateway-client", "claimgate gateway", client=True, server=False)
        for _, key_file, _ in (good, expired, wrong, foreign, client):
            remember_key(key_file)

        cls.good = TlsUpstream(good[0], good[1])
        cls.tls12 = TlsUpstream(good[0], good[1], max_version=ssl.TLSVersion.TLSv1_2)
        cls.expired = TlsUpstream(expired[0], expired[1])
        cls.wrong = TlsUpstream(wrong[0], wrong[1])
        cls.foreign = TlsUpstream(foreign[0], foreign[1])
        cls.mtls = TlsUpstream(good[0], good[1], client_ca=client_ca.ca_file)
        cls.plain = PlaintextPort()
        cls.silent = socket.socket()  # the kernel completes connects to its backlog; nobody answers
        cls.silent.bind(("127.0.0.1", 0))
        cls.silent.listen(16)
        cls.helpers = [cls.good, cls.tls12, cls.expired, cls.wrong, cls.foreign, cls.mtls, cls.plain]

        cls.key = SigningKey("EdDSA", kid="tls")
        jwks_path = os.path.join(cls.dir, "jwks.json")
        with open(jwks_path, "w") as f:
            f.write(jwks_json([cls.key]))
        cls.token = mint(cls.key, {"iss": ISSUER, "aud": "tls", "sub": "user:tls", "tenant_id": "t-tls"})

        def upstream(name, port, host="127.0.0.1", **keys):
            fields = {"url": "https://%s:%d" % (host, port), "connect_timeout_ms": 3000, "response_timeout_ms": 5000}
            fields.update(keys)
            return "  %s: %s\n" % (name, json.dumps(fields))

        named = {"ca_file": ca.ca_file, "server_name": "app.internal"}
        upstreams = "".join([
            upstream("good", cls.good.port, **named),
            upstream("tls12", cls.tls12.port, **named),
            upstream("by_ip", cls.good.port, ca_file=ca.ca_file),
            upstream("by_host", cls.good.port, host="localhost", ca_file=ca.ca_file),
            upstream("expired", cls.expired.port, **named),
            upstream("wrong_name", cls.wrong.port, **named),
            upstream("wrong_ip", cls.wrong.port, ca_file=ca.ca_file),
            upstream("unknown_ca", cls.foreign.port, **named),
            upstream("system_ca", cls.good.port, server_name="app.internal"),
            upstream("mtls", cls.mtls.port, client_cert_file=client[0], client_key_file=client[1], **named),
            upstream("mtls_missing", cls.mtls.port, **named),
            upstream("plain_port", cls.plain.port, **named),
            upstream("silent", cls.silent.getsockname()[1], connect_timeout_ms=300, **named),
        ])
        names = re.findall(r"^  (\w+):", upstreams, re.M)
        routes = "".join("  - { match: { path_prefix: /%s/ }, upstream: %s, require: {} }\n" % (n, n) for n in names)
        cls.port, cls.admin = free_port(), free_port()
        # One worker: every client connection shares one pool and one session cache.
        cls.gateway = Gateway("""listen: "127.0.0.1:%d"
admin: "127.0.0.1:%d"
threads: 1
drain_timeout_ms: 2000
providers:
%s
claim_headers: { X-User-Id: sub, X-User-Tenant: tenant_id }
upstreams:
%s
routes:
%s""" % (cls.port, cls.admin, provider_yaml(name="local", issuer=ISSUER, audiences=["tls"], jwks_file=jwks_path,
                                            algorithms=["EdDSA"]), upstreams, routes))
        try:
            cls.gateway.wait(cls.port)
            wait_for_port(cls.admin, proc=cls.gateway.proc)
        except Exception:
            print(cls.gateway.logs())
            for h in cls.helpers:
                h.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            stop_gateway_and_helpers(cls.gateway, *cls.helpers)
        finally:
            cls.silent.close()

    def get(self, path, client=None, method="GET", body=b""):
        head = b"%s %s HTTP/1.1\r\nHost: app.example\r\nAuthorization: Bearer %s\r\n" % (
            method.encode(), path.encode(), self.token.encode())
        if body:
            head += b"Content-Length: %d\r\n" % len(body)
        if client is None:
            c = RawClient(self.port, timeout=10)
            c.send(head + b"Connection: close\r\n\r\n" + body)
            try:
                return c.read_response()
            finally:
                c.close()
        client.send(head + b"\r\n" + body)
        return client.read_response()

    def metrics(self):
        return request(self.admin, "GET", "/metrics").body.decode()

    def tls_failures(self, upstream):
        """The gateway's upstream_tls_failed log lines for `upstream`, as dicts."""
        lines = []
        for line in self.gateway.logs().splitlines():
            if '"upstream_tls_failed"' in line:
                entry = json.loads(line)
                if entry.get("upstream") == upstream:
                    lines.append(entry)
        return lines

    # ---- a good certificate

    def test_good_certificate_passes_with_claim_headers(self):
        r = self.get("/good/echo?x=1")
        self.assertEqual(r.status, 200)
        got = r.json()
        self.assertEqual(got["path"], "/good/echo?x=1")
        self.assertEqual(sent(got, "X-User-Id"), ["user:tls"])
        self.assertEqual(sent(got, "X-User-Tenant"), ["t-tls"])
        self.assertEqual(sent(got, "Host"), ["app.example"])
        self.assertEqual(got["tls"]["sni"], "app.internal")  # server_name, not the URL's 127.0.0.1
        self.assertEqual(got["tls"]["alpn"], "http/1.1")
        self.assertEqual(got["tls"]["version"], "TLSv1.3")
        self.assertIsNone(got["tls"]["client_cert"])

    def test_bodies_both_ways(self):
        c = RawClient(self.port, timeout=10)
        r = self.get("/good/upload", client=c, method="POST", body=b"u" * 300000)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["body_bytes"], 300000)
        r = self.get("/tls12/big", client=c)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, BIG)
        r = self.get("/good/big?nolength=1", client=c)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Transfer-Encoding"), "chunked")
        self.assertEqual(r.body, BIG)
        c.close()

    def test_keep_alive_connection_reused(self):
        c = RawClient(self.port, timeout=10)
        seen = [self.get("/good/keep/%d" % i, client=c).json() for i in range(4)]
        self.assertEqual(len({s["connection"] for s in seen}), 1, seen)
        self.assertEqual([s["request_on_connection"] for s in seen[1:]],
                         [seen[0]["request_on_connection"] + i for i in (1, 2, 3)])
        # Idle past the pool's sweep: the connection is watched (a TLS read), then taken again.
        time.sleep(1.6)
        again = self.get("/good/keep/after-watch", client=c).json()
        self.assertEqual(again["connection"], seen[0]["connection"])
        c.close()

    def resumes(self, prefix, version):
        before = self.metrics()
        c = RawClient(self.port, timeout=10)
        first = self.get(prefix + "/first", client=c).json()
        closing = self.get(prefix + "/closing?close=1", client=c).json()  # the upstream closes this connection
        fresh = self.get(prefix + "/fresh", client=c).json()
        c.close()
        self.assertEqual(first["connection"], closing["connection"])
        self.assertNotEqual(fresh["connection"], closing["connection"])
        self.assertEqual(fresh["tls"]["version"], version)
        self.assertTrue(fresh["tls"]["resumed"], "the new connection was a full handshake: %s" % fresh)
        after = self.metrics()
        name = prefix.strip("/")
        resumed = "claimgate_upstream_tls_handshakes_total"
        self.assertGreaterEqual(metric(after, resumed, upstream=name, session="resumed") -
                                metric(before, resumed, upstream=name, session="resumed"), 1)
        self.assertGreaterEqual(metric(after, resumed, upstream=name, session="full"), 1)

    def test_new_connection_resumes_tls13_session(self):
        self.resumes("/good", "TLSv1.3")

    def test_new_connection_resumes_tls12_session(self):
        self.resumes("/tls12", "TLSv1.2")

    def test_upstream_closing_pooled_connection(self):
        # The upstream answers as keep-alive and then closes. A bodiless request meeting the dead
        # connection is sent again on a fresh one; a request with a body never goes on it.
        c = RawClient(self.port, timeout=10)
        for method, body in (("GET", b""), ("POST", b"p" * 1000)):
            dead = self.get("/good/hang?hangup=1", client=c).json()["connection"]
            time.sleep(0.1)
            r = self.get("/good/next", client=c, method=method, body=body)
            self.assertEqual(r.status, 200, method)
            self.assertEqual(r.json()["body_bytes"], len(body))
            self.assertNotEqual(r.json()["connection"], dead)
        dead = self.get("/good/hang?hangup=1", client=c).json()["connection"]
        time.sleep(1.6)  # the watch sees it closed and evicts it
        r = self.get("/good/after-sweep", client=c)
        self.assertEqual(r.status, 200)
        self.assertNotEqual(r.json()["connection"], dead)
        c.close()

    def test_reload_starts_over(self):
        # A reload builds new TLS contexts (the files are read again): connections and sessions
        # verified under the old ones are not used again.
        c = RawClient(self.port, timeout=10)
        before = self.get("/good/before-reload", client=c).json()
        reloads = self.gateway.logs().count('"config_reloaded"')
        self.gateway.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while self.gateway.logs().count('"config_reloaded"') == reloads:
            self.assertLess(time.monotonic(), deadline, "no config_reloaded")
            time.sleep(0.05)
        after = self.get("/good/after-reload", client=c).json()
        c.close()
        self.assertNotEqual(after["connection"], before["connection"])
        self.assertFalse(after["tls"]["resumed"])

    def test_ip_literal_is_verified_without_sni(self):
        r = self.get("/by_ip/x")
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.json()["tls"]["sni"])

    def test_default_server_name_is_the_url_host(self):
        r = self.get("/by_host/x")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["tls"]["sni"], "localhost")

    def test_client_certificate_presented(self):
        r = self.get("/mtls/x")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["tls"]["client_cert"], "claimgate gateway")

    # ---- refused certificates: 502, a reason in the log and the metrics, nothing upstream

    def refused(self, route, upstream, reason, errors):
        before = metric(self.metrics(), "claimgate_upstream_tls_failures_total", upstream=route, reason=reason)
        for _ in range(2):  # and not better the second time (no session kept from a failure)
            r = self.get("/%s/secret" % route)
            self.assertEqual(r.status, 502, route)
            self.assertEqual(r.json()["error"], "bad_gateway")
            self.assertEqual(r.json()["error_description"], "The TLS connection to the upstream failed.")
        if upstream is not None:
            self.assertEqual([p for p in upstream.paths() if p.startswith("/%s/" % route)], [])
        logged = self.tls_failures(route)
        self.assertTrue(logged, "no upstream_tls_failed line for " + route)
        self.assertEqual(logged[-1]["reason"], reason)
        self.assertIn(logged[-1]["error"], errors)
        after = metric(self.metrics(), "claimgate_upstream_tls_failures_total", upstream=route, reason=reason)
        self.assertEqual(after - before, 2)

    def test_expired_certificate(self):
        self.refused("expired", self.expired, "certificate_expired", ["certificate has expired"])

    def test_wrong_name(self):
        self.refused("wrong_name", self.wrong, "name_mismatch", ["hostname mismatch"])

    def test_wrong_ip(self):
        self.refused("wrong_ip", self.wrong, "name_mismatch", ["IP address mismatch"])

    def test_unknown_ca(self):
        self.refused("unknown_ca", self.foreign, "unknown_ca",
                     ["self-signed certificate in certificate chain", "unable to get local issuer certificate"])

    def test_system_bundle_does_not_know_the_test_ca(self):
        self.refused("system_ca", self.good, "unknown_ca",
                     ["self-signed certificate in certificate chain", "unable to get local issuer certificate"])

    def test_missing_client_certificate(self):
        r = self.get("/mtls_missing/secret")
        self.assertEqual(r.status, 502)
        # TLS 1.3 upstreams refuse a missing certificate after the client's side of the handshake:
        # the alert arrives on the first read (or, racing it, a reset does).
        failures = [json.loads(line) for line in self.gateway.logs().splitlines()
                    if '"upstream":"mtls_missing"' in line and '"upstream_' in line]
        self.assertTrue(failures)
        self.assertIn(failures[-1]["event"], ("upstream_tls_failed", "upstream_failed"))
        self.assertEqual([p for p in self.mtls.paths() if p.startswith("/mtls_missing/")], [])
        self.assertTrue(all(rec["tls"]["client_cert"] == "claimgate gateway" for rec in self.mtls.requests))
        self.assertGreaterEqual(self.mtls.failed_handshakes, 1)

    def test_handshake_within_connect_timeout(self):
        start = time.monotonic()
        r = self.get("/silent/secret")
        self.assertEqual(r.status, 504)
        self.assertLess(time.monotonic() - start, 2.5)
        self.assertEqual(self.tls_failures("silent")[-1]["reason"], "timeout")
        self.assertEqual(metric(self.metrics(), "claimgate_upstream_tls_failures_total", upstream="silent", reason="timeout"), 1)

    def test_plaintext_port(self):
        r = self.get("/plain_port/secret")
        self.assertEqual(r.status, 502)
        self.assertEqual(self.tls_failures("plain_port")[-1]["reason"], "protocol_error")


def remember_key(key_file):
    """The private key's PEM lines become test secrets: every output and log is scanned for them."""
    with open(key_file) as f:
        for line in f:
            if not line.startswith("-----"):
                remember_secret(line.strip())


CONFIG = """listen: "127.0.0.1:18080"
admin: "127.0.0.1:18081"
upstreams:
  app: %s
routes:
  - { match: { path_prefix: / }, upstream: app, auth: anonymous }
"""


class UpstreamTlsConfigTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="claimgate-upstream-tls-config-")
        cls.ca = Authority(cls.dir, "config CA")
        cls.cert, cls.key, _ = cls.ca.issue("client", "client", client=True, server=False)
        _, cls.other_key, _ = cls.ca.issue("other", "other", client=True, server=False)
        remember_key(cls.key)
        remember_key(cls.other_key)
        cls.garbage = os.path.join(cls.dir, "garbage.pem")
        with open(cls.garbage, "w") as f:
            f.write("not a certificate\n")

    def check(self, upstream):
        path = os.path.join(self.dir, "c%d.yaml" % abs(hash(upstream)))
        with open(path, "w") as f:
            f.write(CONFIG % upstream)
        return run_claimgate(["--check-config", path])

    def refused(self, upstream, expected):
        r = self.check(upstream)
        self.assertNotEqual(r.returncode, 0, upstream)
        self.assertIn(expected, r.stdout + r.stderr)

    def test_valid_https_upstreams(self):
        for upstream in ('{ url: "https://app.internal" }',
                         '{ url: "https://127.0.0.1:8443", ca_file: "%s", server_name: app.internal }' % self.ca.ca_file,
                         '{ url: "https://[::1]:8443", ca_file: "%s", client_cert_file: "%s", client_key_file: "%s" }'
                         % (self.ca.ca_file, self.cert, self.key),
                         '{ url: "https://a.internal", ca_file: "", server_name: "", client_cert_file: "", client_key_file: "" }',
                         '{ url: "http://a.internal", ca_file: "", client_cert_file: "" }'):
            r = self.check(upstream)
            self.assertEqual(r.returncode, 0, upstream + "\n" + r.stdout + r.stderr)

    def test_tls_keys_on_http_upstream(self):
        for key in ("ca_file", "server_name", "client_cert_file", "client_key_file"):
            self.refused('\n    url: "http://127.0.0.1:8000"\n    %s: "%s"' % (key, self.ca.ca_file),
                         ":6: upstreams.app.%s: applies only to https:// upstreams" % key)

    def test_client_certificate_without_key_and_key_without_certificate(self):
        self.refused('\n    url: "https://a.internal"\n    client_cert_file: "%s"' % self.cert,
                     ":6: upstreams.app.client_cert_file: needs client_key_file as well")
        self.refused('\n    url: "https://a.internal"\n    client_key_file: "%s"' % self.key,
                     ":6: upstreams.app.client_key_file: needs client_cert_file as well")

    def test_missing_key_file(self):
        self.refused('\n    url: "https://a.internal"\n    client_cert_file: "%s"\n    client_key_file: "%s"'
                     % (self.cert, os.path.join(self.dir, "absent.key")),
                     ':7: upstreams.app.client_key_file: cannot load a private key matching client_cert_file from "%s"'
                     % os.path.join(self.dir, "absent.key"))

    def test_key_of_another_certificate(self):
        r = self.check('\n    url: "https://a.internal"\n    client_cert_file: "%s"\n    client_key_file: "%s"'
                       % (self.cert, self.other_key))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(":7: upstreams.app.client_key_file: ", r.stderr)  # and no key material (run_claimgate scans)

    def test_unreadable_ca_file(self):
        absent = os.path.join(self.dir, "absent-ca.pem")
        self.refused('\n    url: "https://a.internal"\n    ca_file: "%s"' % absent,
                     ':6: upstreams.app.ca_file: cannot load CA certificates from "%s": No such file or directory' % absent)
        self.refused('\n    url: "https://a.internal"\n    ca_file: "%s"' % self.garbage,
                     ':6: upstreams.app.ca_file: cannot load CA certificates from "%s"' % self.garbage)
        self.refused('\n    url: "https://a.internal"\n    ca_file: "%s"' % self.dir,
                     ':6: upstreams.app.ca_file: cannot load CA certificates from "%s"' % self.dir)

    def test_bad_client_certificate_file(self):
        self.refused('\n    url: "https://a.internal"\n    client_cert_file: "%s"\n    client_key_file: "%s"'
                     % (self.garbage, self.key),
                     ':6: upstreams.app.client_cert_file: cannot load a certificate chain from "%s"' % self.garbage)

    def test_config_example_https_upstream(self):
        # config.example.yaml shows an https upstream commented out (its files exist only on real
        # hosts): uncommented, with this test's files in place of the paths, it passes.
        example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "config.example.yaml")
        with open(example) as f:
            text = f.read()
        block = re.search(r"^  # billing:\n(?:^  #   .*\n)+", text, re.M).group(0)
        live = re.sub(r"^  # ", "  ", block, flags=re.M)
        live = re.sub(r"^    # .*\n", "", live, flags=re.M)
        for path, real in (("/etc/claimgate/upstream-ca.pem", self.ca.ca_file),
                           ("/etc/claimgate/upstream-client.crt", self.cert),
                           ("/etc/claimgate/upstream-client.key", self.key)):
            self.assertIn(path, live)
            live = live.replace(path, real)
        path = os.path.join(self.dir, "example.yaml")
        with open(path, "w") as f:
            f.write(text.replace(block, live))
        r = run_claimgate(["--check-config", path])
        self.assertEqual(r.returncode, 0, live + r.stdout + r.stderr)
        self.assertIn("2 upstreams", r.stdout)

    def test_bad_server_name_and_url(self):
        self.refused('\n    url: "https://a.internal"\n    server_name: "a b"',
                     ':6: upstreams.app.server_name: must be a DNS name or an IP address')
        self.refused('\n    url: "ftp://a.internal"', ":5: upstreams.app.url: must be http://HOST[:PORT] or https://HOST[:PORT]")
        self.refused('\n    url: "https://a.internal/api"', ":5: upstreams.app.url: must be http://HOST[:PORT]")


if __name__ == "__main__":
    main()
