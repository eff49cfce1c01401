#!/usr/bin/python3
"""TLS termination through the real gateway, with Python's ssl module, curl and openssl s_client as
clients and certificates from certs.py (python3-cryptography): SNI, versions, ALPN, resumption,
plaintext on a TLS port, mTLS (required, optional, wrong CA), X-Forwarded-Client-Cert, route
requirements on the client certificate, RFC 8705 certificate-bound tokens, certificate rotation
under load (file change and SIGHUP, Kubernetes-style symlink swap), a broken new certificate,
WebSocket tunnels over TLS (wss://, 1 MiB messages, close handshake, idle timeout),
config errors, and a slow handshake."""
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

import certs
import tokens
from harness import (Gateway, Upstream, assert_no_secret_in, free_port, main, run_claimgate, stop_gateway_and_helpers,
                     wait_for_port)

ISSUER = "https://idp.tls.test"


def remember_key_file(path):
    """The base64 lines of a PEM private key are test secrets: no log or error may show them."""
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("-----"):
                tokens.remember_secret(line)


def client_context(ca_file, cert=None, alpn=("http/1.1",), minimum=None, maximum=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca_file)
    ctx.check_hostname = False  # the tests look at which certificate came, by its subject
    if cert:
        ctx.load_cert_chain(*cert)
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if minimum:
        ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    return ctx


def tls_connect(port, ctx, sni="localhost", session=None, timeout=5.0):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=sni, session=session)
    except Exception:
        raw.close()
        raise


def peer_common_name(sock):
    cert = sock.getpeercert()
    for rdn in cert["subject"]:
        for key, value in rdn:
            if key == "commonName":
                return value
    return None


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name)


def exchange(sock, method="GET", path="/echo", headers=(), body=b""):
    """One HTTP/1.1 request on an open (TLS) socket; the socket stays usable for the next."""
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: tls.test"]
    lines += ["%s: %s" % h for h in headers]
    if body:
        lines.append("Content-Length: %d" % len(body))
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    resp = http.client.HTTPResponse(sock, method=method)
    resp.begin()
    data = resp.read()
    # HTTPResponse wraps the socket in a file object; it reads no further than this response.
    return Reply(resp.status, {k: v for k, v in resp.getheaders()}, data)


def https(port, ctx, path="/echo", sni="localhost", headers=(), method="GET", body=b""):
    with tls_connect(port, ctx, sni) as s:
        return exchange(s, method, path, headers, body)


def upstream_headers(reply):
    """The echo upstream's view of the request headers, as a dict of lower-case names to values."""
    out = {}
    for name, value in reply.json()["headers"]:
        out.setdefault(name.lower(), []).append(value)
    return out


def metric_value(admin_port, name, **labels):
    text = http_get(admin_port, "/metrics")
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all('%s="%s"' % (k, v) in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def http_get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path)
    text = conn.getresponse().read().decode()
    conn.close()
    return text


class Pki:
    """One server CA with three server certificates, a client CA with good and other clients, and
    a foreign CA whose client certificate must be refused."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="claimgate-tls-")
        self.ca = certs.Authority(self.dir, "server CA")
        self.default = self.ca.issue("default", "default.tls.test", dns=["localhost", "default.tls.test"])
        self.api = self.ca.issue("api", "api.tls.test", dns=["api.tls.test"])
        self.wild = self.ca.issue("wild", "wild.tls.test", dns=["*.apps.tls.test"])
        self.client_ca = certs.Authority(self.dir, "client CA")
        self.client = self.client_ca.issue("client", "svc-a", uris=["spiffe://tls.test/ns/a/sa/web"],
                                           dns=["svc-a.tls.test"], client=True, server=False)
        self.other_client = self.client_ca.issue("other-client", "svc-b", uris=["spiffe://tls.test/ns/b/sa/job"],
                                                 client=True, server=False)
        self.foreign_ca = certs.Authority(self.dir, "foreign CA")
        self.foreign_client = self.foreign_ca.issue("foreign", "svc-a", uris=["spiffe://tls.test/ns/a/sa/web"],
                                                    client=True, server=False)
        for issued in (self.default, self.api, self.wild, self.client, self.other_client, self.foreign_client):
            remember_key_file(issued[1])

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


PKI = None


def setUpModule():
    global PKI
    PKI = Pki()


def tearDownModule():
    PKI.cleanup()


def listeners_yaml(tls_port, plain_port, certificates, extra_tls=""):
    items = "".join("        - { cert_file: %s, key_file: %s }\n" % (c[0], c[1]) for c in certificates)
    return """listeners:
  - address: "127.0.0.1:%d"
    tls:
      certificates:
%s%s  - address: "127.0.0.1:%d"
""" % (tls_port, items, extra_tls, plain_port)


def gateway_config(tls_port, plain_port, admin, upstream_port, certificates, extra_tls="", routes=None, extra=""):
    routes = routes or """
  - match: { path_prefix: / }
    upstream: app
    auth: anonymous
"""
    return listeners_yaml(tls_port, plain_port, certificates, extra_tls) + """admin: "127.0.0.1:%d"
threads: 2
drain_timeout_ms: 2000
client: { request_header_timeout_ms: 1500 }
%s
upstreams:
  app: { url: "http://127.0.0.1:%d", connect_timeout_ms: 1000, response_timeout_ms: 3000 }
routes:%s""" % (admin, extra, upstream_port, routes)


class TlsCase(unittest.TestCase):
    routes = None
    extra = ""
    verify_client = None  # "required" or "optional": client certificates of PKI.client_ca

    @classmethod
    def certificates(cls):
        return [PKI.default, PKI.api, PKI.wild]

    @classmethod
    def make_upstream(cls):
        return Upstream()

    @classmethod
    def setUpClass(cls):
        cls.upstream = cls.make_upstream()
        cls.tls_port, cls.plain_port, cls.admin_port = free_port(), free_port(), free_port()
        extra_tls = ""
        if cls.verify_client:
            extra_tls = "      client_ca_file: %s\n      verify_client: %s\n" % (PKI.client_ca.ca_file, cls.verify_client)
        cls.gateway = Gateway(gateway_config(cls.tls_port, cls.plain_port, cls.admin_port, cls.upstream.port,
                                             cls.certificates(), extra_tls, cls.routes, cls.extra))
        try:
            for p in (cls.tls_port, cls.plain_port, cls.admin_port):
                wait_for_port(p, proc=cls.gateway.proc)
        except Exception:
            cls.upstream.stop()
            print(cls.gateway.logs())
            raise

    @classmethod
    def tearDownClass(cls):
        stop_gateway_and_helpers(cls.gateway, cls.upstream)

    def ctx(self, **kw):
        return client_context(PKI.ca.ca_file, **kw)


class TestTermination(TlsCase):
    def test_sni_picks_the_certificate_by_its_san_names(self):
        for sni, expected in [("localhost", "default.tls.test"), ("api.tls.test", "api.tls.test"),
                              ("API.TLS.TEST", "api.tls.test"), ("x.apps.tls.test", "wild.tls.test"),
                              ("unknown.example", "default.tls.test"), ("a.b.apps.tls.test", "default.tls.test"),
                              ("apps.tls.test", "default.tls.test")]:
            with self.subTest(sni=sni), tls_connect(self.tls_port, self.ctx(), sni) as s:
                self.assertEqual(peer_common_name(s), expected)
                self.assertEqual(exchange(s).status, 200)

    def test_without_sni_the_default_certificate_answers(self):
        out = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.tls_port, "-noservername",
                              "-CAfile", PKI.ca.ca_file], input="", capture_output=True, text=True, timeout=10)
        self.assertIn("CN = default.tls.test", out.stdout)
        self.assertIn("Verify return code: 0 (ok)", out.stdout)

    def test_tls_1_0_and_1_1_are_refused_and_1_2_1_3_work(self):
        for flag in ("-tls1", "-tls1_1"):
            out = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.tls_port, flag,
                                  "-servername", "localhost"], input="", capture_output=True, text=True, timeout=10)
            self.assertNotIn("Cipher is ECDHE", out.stdout + out.stderr, flag)
            self.assertRegex(out.stdout + out.stderr, r"(no protocols available|alert protocol version|wrong version)", flag)
        for version, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
            ctx = self.ctx(minimum=version, maximum=version)
            with tls_connect(self.tls_port, ctx) as s:
                self.assertEqual(s.version(), name)
                self.assertEqual(exchange(s).status, 200)

    def test_alpn_is_http_1_1_and_a_client_offering_only_h2_is_refused(self):
        with tls_connect(self.tls_port, self.ctx(alpn=("h2", "http/1.1"))) as s:
            self.assertEqual(s.selected_alpn_protocol(), "http/1.1")
        with self.assertRaises(ssl.SSLError):
            tls_connect(self.tls_port, self.ctx(alpn=("h2",)))
        with tls_connect(self.tls_port, self.ctx(alpn=None)) as s:  # no ALPN at all is fine
            self.assertEqual(exchange(s).status, 200)

    def test_forwarded_proto_is_https_on_the_tls_listener_and_http_on_the_plain_one(self):
        spoof = [("X-Forwarded-Proto", "ftp")]
        self.assertEqual(upstream_headers(https(self.tls_port, self.ctx(), headers=spoof))["x-forwarded-proto"], ["https"])
        conn = http.client.HTTPConnection("127.0.0.1", self.plain_port, timeout=5)
        conn.request("GET", "/echo", headers=dict(spoof))
        seen = {n.lower(): v for n, v in json.loads(conn.getresponse().read())["headers"]}
        conn.close()
        self.assertEqual(seen["x-forwarded-proto"], "http")

    def test_keep_alive_and_bodies_both_ways_over_tls(self):
        with tls_connect(self.tls_port, self.ctx()) as s:
            ids = set()
            for i in range(20):
                r = exchange(s)
                self.assertEqual(r.status, 200)
                ids.add(r.json()["connection"])
            self.assertEqual(len(ids), 1, "the gateway reused one upstream connection for one client")
            body = os.urandom(1 << 20)
            r = exchange(s, "POST", "/echo", body=body)
            import hashlib
            self.assertEqual(r.json()["body_sha256"], hashlib.sha256(body).hexdigest())
            r = exchange(s, "GET", "/stream?bytes=%d" % (3 << 20))
            self.assertEqual(len(r.body), 3 << 20)

    def test_a_plaintext_request_on_the_tls_port_is_closed_without_a_plaintext_answer(self):
        before = metric_value(self.admin_port, "claimgate_tls_handshakes_total", result="failed", reason="plaintext_http")
        upstream_before = json.loads(http_get(self.upstream.port, "/stats"))["requests"]
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=5) as s:
            s.sendall(b"GET /echo HTTP/1.1\r\nHost: tls.test\r\n\r\n")
            received = b""
            while True:
                data = s.recv(4096)
                if not data:
                    break
                received += data
        self.assertNotIn(b"HTTP/", received)
        self.assertEqual(json.loads(http_get(self.upstream.port, "/stats"))["requests"], upstream_before + 1)  # /stats itself
        after = metric_value(self.admin_port, "claimgate_tls_handshakes_total", result="failed", reason="plaintext_http")
        self.assertEqual(after, before + 1)

    def test_sessions_resume_with_tickets(self):
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            ctx = self.ctx(minimum=version, maximum=version)
            with tls_connect(self.tls_port, ctx) as first:
                self.assertEqual(exchange(first).status, 200)  # TLS 1.3 tickets arrive after the handshake
                session = first.session
            before = metric_value(self.admin_port, "claimgate_tls_handshakes_total", result="resumed")
            with tls_connect(self.tls_port, ctx, session=session) as second:
                self.assertTrue(second.session_reused, version)
                self.assertEqual(exchange(second).status, 200)
            self.assertEqual(metric_value(self.admin_port, "claimgate_tls_handshakes_total", result="resumed"), before + 1)

    def test_a_silent_or_slow_handshake_is_cut_at_the_header_timeout(self):
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=10) as s:
            s.sendall(b"\x16\x03\x01")  # the first bytes of a ClientHello, then nothing
            self.assertEqual(s.recv(100), b"")
        self.assertLess(time.monotonic() - start, 5.0)
        # The gateway keeps serving.
        self.assertEqual(https(self.tls_port, self.ctx()).status, 200)

    def test_curl_over_tls(self):
        out = subprocess.run(["curl", "-sS", "--cacert", PKI.ca.ca_file, "--resolve", "api.tls.test:%d:127.0.0.1" % self.tls_port,
                              "https://api.tls.test:%d/echo" % self.tls_port], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["target"], "/echo")


MTLS_ROUTES = """
  - match: { path_prefix: /spiffe/ }
    upstream: app
    auth: anonymous
    require: { client_certificate: { uri: "spiffe://tls.test/ns/a/sa/web" } }
  - match: { path_prefix: /subject/ }
    upstream: app
    auth: anonymous
    require: { client_certificate: { subject_regex: ".*CN=svc-b.*" } }
  - match: { path_prefix: /dns/ }
    upstream: app
    auth: anonymous
    require: { client_certificate: { dns: "SVC-A.tls.test", uri: "spiffe://tls.test/ns/a/sa/web" } }
  - match: { path_prefix: / }
    upstream: app
    auth: anonymous
"""


class TestMutualTlsRequired(TlsCase):
    routes = MTLS_ROUTES
    verify_client = "required"

    def test_without_a_client_certificate_the_handshake_fails(self):
        with self.assertRaises((ssl.SSLError, ConnectionError)):
            with tls_connect(self.tls_port, self.ctx()) as s:
                exchange(s)  # TLS 1.3: the server's refusal arrives with the first read

    def test_a_certificate_of_another_ca_is_refused(self):
        with self.assertRaises((ssl.SSLError, ConnectionError)):
            with tls_connect(self.tls_port, self.ctx(cert=PKI.foreign_client[:2])) as s:
                exchange(s)

    def test_the_verified_certificate_goes_upstream_in_xfcc_and_spoofed_copies_are_removed(self):
        spoofed = [("X-Forwarded-Client-Cert", "Hash=00;Subject=\"CN=admin\""),
                   ("x_forwarded_client_cert", "Hash=11"), ("X.Forwarded.Client.Cert", "Hash=22")]
        r = https(self.tls_port, self.ctx(cert=PKI.client[:2]), headers=spoofed)
        self.assertEqual(r.status, 200)
        seen = upstream_headers(r)
        self.assertEqual(len(seen["x-forwarded-client-cert"]), 1)
        self.assertNotIn("x_forwarded_client_cert", seen)
        self.assertNotIn("x.forwarded.client.cert", seen)
        xfcc = seen["x-forwarded-client-cert"][0]
        self.assertEqual(xfcc, 'Hash=%s;Subject="O=claimgate tests,CN=svc-a";URI=spiffe://tls.test/ns/a/sa/web;'
                               'DNS=svc-a.tls.test' % PKI.client[2])
        # On the plain listener next to it, the header is removed too and nothing replaces it.
        conn = http.client.HTTPConnection("127.0.0.1", self.plain_port, timeout=5)
        conn.request("GET", "/echo", headers=dict(spoofed[:1]))
        names = [n.lower() for n, _ in json.loads(conn.getresponse().read())["headers"]]
        conn.close()
        self.assertNotIn("x-forwarded-client-cert", names)

    def test_route_requirements_on_the_client_certificate(self):
        a = self.ctx(cert=PKI.client[:2])
        b = self.ctx(cert=PKI.other_client[:2])
        self.assertEqual(https(self.tls_port, a, "/spiffe/x").status, 200)
        r = https(self.tls_port, b, "/spiffe/x")
        self.assertEqual(r.status, 403)
        self.assertEqual(r.json()["error_description"], "client_certificate_mismatch")
        self.assertEqual(https(self.tls_port, b, "/subject/x").status, 200)
        self.assertEqual(https(self.tls_port, a, "/subject/x").status, 403)
        self.assertEqual(https(self.tls_port, a, "/dns/x").status, 200)
        self.assertEqual(https(self.tls_port, b, "/dns/x").status, 403)
        # The plain listener has no client certificate: the requirement fails with 403.
        conn = http.client.HTTPConnection("127.0.0.1", self.plain_port, timeout=5)
        conn.request("GET", "/spiffe/x")
        resp = conn.getresponse()
        self.assertEqual(resp.status, 403)
        self.assertEqual(json.loads(resp.read())["error_description"], "missing_client_certificate")
        conn.close()


    def test_explain_evaluates_a_client_certificate_given_to_it(self):
        def explain(path, cert=None):
            argv = ["explain", "--config", self.gateway.config_path, "--path", path, "--json"]
            if cert:
                argv += ["--client-cert", cert]
            r = run_claimgate(argv)
            self.assertEqual(r.returncode, 0, r.stderr)
            return json.loads(r.stdout)["answer"]
        self.assertEqual(explain("/spiffe/x", PKI.client[0])["outcome"], "anonymous")
        denied = explain("/spiffe/x", PKI.other_client[0])
        self.assertEqual((denied["outcome"], denied["reason"]), ("forbidden", "client_certificate_mismatch"))
        self.assertEqual(explain("/spiffe/x")["reason"], "missing_client_certificate")
        r = run_claimgate(["explain", "--config", self.gateway.config_path, "--path", "/x", "--client-cert", PKI.client[1]])
        self.assertEqual(r.returncode, 1)
        self.assertIn("no PEM certificate", r.stderr)


class TestMutualTlsOptional(TlsCase):
    routes = MTLS_ROUTES
    verify_client = "optional"

    def test_a_client_without_certificate_passes_without_xfcc(self):
        r = https(self.tls_port, self.ctx(), headers=[("X-Forwarded-Client-Cert", "Hash=00")])
        self.assertEqual(r.status, 200)
        self.assertNotIn("x-forwarded-client-cert", upstream_headers(r))
        r = https(self.tls_port, self.ctx(), "/spiffe/x")
        self.assertEqual((r.status, r.json()["error_description"]), (403, "missing_client_certificate"))

    def test_a_client_with_a_certificate_is_verified(self):
        r = https(self.tls_port, self.ctx(cert=PKI.client[:2]), "/spiffe/x")
        self.assertEqual(r.status, 200)
        self.assertIn("Hash=" + PKI.client[2], upstream_headers(r)["x-forwarded-client-cert"][0])
        with self.assertRaises((ssl.SSLError, ConnectionError)):
            with tls_connect(self.tls_port, self.ctx(cert=PKI.foreign_client[:2])) as s:
                exchange(s)


class TestCertificateBoundTokens(TlsCase):
    """RFC 8705: tokens minted by tokens.py (python3-cryptography) with cnf.x5t#S256."""

    @classmethod
    def setUpClass(cls):
        cls.key = tokens.SigningKey("ES256", kid="tls-1")
        cls.jwks_dir = tempfile.mkdtemp(prefix="claimgate-tls-jwks-")
        jwks = os.path.join(cls.jwks_dir, "jwks.json")
        with open(jwks, "w") as f:
            f.write(tokens.jwks_json([cls.key.public_jwk()]))
        cls.verify_client = "optional"
        providers = []
        for name, mode in (("when", "when_present"), ("req", "required")):
            providers.append('  - { name: %s, issuer: "%s/%s", jwks_file: %s, algorithms: [ES256], certificate_bound: %s }\n'
                             % (name, ISSUER, name, jwks, mode))
        cls.extra = "providers:\n" + "".join(providers)
        cls.routes = """
  - match: { path_prefix: / }
    upstream: app
    require: {}
"""
        super().setUpClass()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and http_get(cls.admin_port, "/readyz").find("ready") < 0:
            time.sleep(0.05)

    def token(self, provider, cnf=None):
        claims = {"iss": "%s/%s" % (ISSUER, provider), "sub": "user:1"}
        if cnf is not None:
            claims["cnf"] = {"x5t#S256": cnf}
        return tokens.mint(self.key, claims)

    def call(self, token, cert=True):
        ctx = self.ctx(cert=PKI.client[:2] if cert else None)
        return https(self.tls_port, ctx, headers=[("Authorization", "Bearer " + token)])

    def test_when_present(self):
        thumbprint = certs.thumbprint_s256(PKI.client[0])
        other = certs.thumbprint_s256(PKI.other_client[0])
        self.assertEqual(self.call(self.token("when", thumbprint)).status, 200)
        self.assertEqual(self.call(self.token("when")).status, 200)  # not bound: a plain bearer token
        self.assertEqual(self.call(self.token("when"), cert=False).status, 200)
        r = self.call(self.token("when", other))
        self.assertEqual((r.status, r.json()["error_description"]), (401, "certificate_thumbprint_mismatch"))
        self.assertIn('error="invalid_token"', r.header("WWW-Authenticate"))
        r = self.call(self.token("when", thumbprint), cert=False)
        self.assertEqual((r.status, r.json()["error_description"]), (401, "missing_client_certificate"))

    def test_required(self):
        thumbprint = certs.thumbprint_s256(PKI.client[0])
        self.assertEqual(self.call(self.token("req", thumbprint)).status, 200)
        r = self.call(self.token("req"))
        self.assertEqual((r.status, r.json()["error_description"]), (401, "missing_certificate_binding"))
        r = self.call(self.token("req", certs.thumbprint_s256(PKI.other_client[0])))
        self.assertEqual((r.status, r.json()["error_description"]), (401, "certificate_thumbprint_mismatch"))

    def test_a_cached_bound_token_is_checked_against_each_connection(self):
        token = self.token("when", certs.thumbprint_s256(PKI.client[0]))
        self.assertEqual(self.call(token).status, 200)
        self.assertEqual(self.call(token).status, 200)  # now cached
        ctx = self.ctx(cert=PKI.other_client[:2])
        self.assertEqual(https(self.tls_port, ctx, headers=[("Authorization", "Bearer " + token)]).status, 401)


PADDED_SIZE = 8192


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write_padded(path, pem):
    """PEM readers skip lines outside BEGIN/END blocks: padding makes every version of a file the
    same size, so a test can hide a change from the file watcher."""
    assert len(pem) < PADDED_SIZE
    with open(path, "wb") as f:
        f.write(pem + b"\n" * (PADDED_SIZE - len(pem)))


class TestWebSocketOverTls(TlsCase):
    """wss:// through a TLS listener to python3-websockets' echo upstream (ws_upstream.py)."""

    @classmethod
    def setUpClass(cls):
        cls.routes = """
  - match: { path_prefix: /ws/ }
    upstream: app
    auth: anonymous
    websocket: { idle_timeout_ms: 2000 }
"""
        super().setUpClass()

    @classmethod
    def make_upstream(cls):
        return Upstream(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ws_upstream.py"))

    def test_messages_both_ways_and_the_close_handshake(self):
        import asyncio
        import websockets
        ctx = self.ctx(alpn=None)
        big = os.urandom(1 << 20)

        async def talk():
            async with websockets.connect("wss://localhost:%d/ws/echo" % self.tls_port, ssl=ctx,
                                          server_hostname="localhost", max_size=4 << 20) as ws:
                await ws.send("hello")
                self.assertEqual(await ws.recv(), "hello")
                await ws.send(big)
                self.assertEqual(await ws.recv(), big)
                pong = await ws.ping()
                await asyncio.wait_for(pong, 5)
                await ws.close(1000, "done")
                return ws.close_code
        self.assertEqual(asyncio.run(asyncio.wait_for(talk(), 20)), 1000)

    def test_the_idle_timeout_ends_a_tls_tunnel(self):
        import asyncio
        import websockets
        ctx = self.ctx(alpn=None)

        async def idle():
            async with websockets.connect("wss://localhost:%d/ws/echo" % self.tls_port, ssl=ctx,
                                          server_hostname="localhost", ping_interval=None) as ws:
                start = time.monotonic()
                with self.assertRaises(websockets.ConnectionClosed):
                    await ws.recv()
                return time.monotonic() - start
        self.assertLess(asyncio.run(asyncio.wait_for(idle(), 20)), 6.0)


class TestRotation(unittest.TestCase):
    """Kubernetes mounts a secret as tls.crt -> ..data/tls.crt with ..data a symlink to a
    timestamped directory, and swaps ..data atomically. The gateway must pick new files up by
    itself (and on SIGHUP), keep open connections, and keep the old certificate when a new one
    is broken."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="claimgate-rotate-")
        self.generation = 0
        self.install(PKI.default)
        for name in ("tls.crt", "tls.key"):
            os.symlink(os.path.join("..data", name), os.path.join(self.dir, name))
        self.upstream = Upstream()
        self.tls_port, self.plain_port, self.admin_port = free_port(), free_port(), free_port()
        cert = (os.path.join(self.dir, "tls.crt"), os.path.join(self.dir, "tls.key"))
        self.gateway = Gateway(gateway_config(self.tls_port, self.plain_port, self.admin_port, self.upstream.port, [cert]))
        for p in (self.tls_port, self.admin_port):
            wait_for_port(p, proc=self.gateway.proc)
        self.ctx = client_context(PKI.ca.ca_file)

    def tearDown(self):
        stop_gateway_and_helpers(self.gateway, self.upstream)
        shutil.rmtree(self.dir, ignore_errors=True)

    def install(self, issued, broken=False):
        """Writes a new timestamped directory and swaps ..data to it (atomically, by rename)."""
        self.generation += 1
        version = os.path.join(self.dir, "..v%d" % self.generation)
        os.mkdir(version)
        if broken:
            cert_pem = b"-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n"
            key_pem = read_bytes(PKI.default[1])
        else:
            cert_pem, key_pem = read_bytes(issued[0]), read_bytes(issued[1])
        write_padded(os.path.join(version, "tls.crt"), cert_pem)
        write_padded(os.path.join(version, "tls.key"), key_pem)
        link = os.path.join(self.dir, "..data_tmp")
        os.symlink(os.path.basename(version), link)
        os.rename(link, os.path.join(self.dir, "..data"))

    def serving(self):
        with tls_connect(self.tls_port, self.ctx) as s:
            return peer_common_name(s)

    def wait_for(self, common_name, timeout=8.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.serving() == common_name:
                return
            time.sleep(0.1)
        self.fail("still serving %s, not %s" % (self.serving(), common_name))

    def test_rotation_under_load_fails_no_request_and_keeps_open_connections(self):
        failures, done, count = [], threading.Event(), [0]

        def load():
            while not done.is_set():
                try:
                    r = https(self.tls_port, self.ctx)
                    if r.status != 200:
                        failures.append(r.status)
                    count[0] += 1
                except Exception as e:  # any failed handshake or request counts
                    failures.append(repr(e))

        open_conn = tls_connect(self.tls_port, self.ctx)
        self.assertEqual(exchange(open_conn).status, 200)
        threads = [threading.Thread(target=load) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            second = PKI.ca.issue("rotated", "rotated.tls.test", dns=["localhost"])
            remember_key_file(second[1])
            self.install(second)
            self.wait_for("rotated.tls.test")
            self.install(PKI.default)
            self.wait_for("default.tls.test")
        finally:
            done.set()
            for t in threads:
                t.join()
        self.assertEqual(failures, [])
        self.assertGreater(count[0], 20)
        self.assertEqual(exchange(open_conn).status, 200, "a connection opened before the rotation keeps working")
        open_conn.close()
        self.assertGreaterEqual(metric_value(self.admin_port, "claimgate_tls_certificate_reloads_total", result="success"), 2)

    def test_a_broken_new_certificate_keeps_the_old_one(self):
        self.install(None, broken=True)
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and "tls_certificate_reload_failed" not in self.gateway.logs():
            time.sleep(0.1)
        self.assertIn("tls_certificate_reload_failed", self.gateway.logs())
        self.assertEqual(self.serving(), "default.tls.test")
        self.assertEqual(https(self.tls_port, self.ctx).status, 200)
        self.assertEqual(metric_value(self.admin_port, "claimgate_tls_certificate_reloads_total", result="failure"), 1)
        assert_no_secret_in(self.gateway.logs(), "the gateway log")

    def test_sighup_rereads_the_certificates(self):
        # New content in the same files, with their size and modification time kept: the file
        # watcher cannot see the change, only SIGHUP can.
        second = PKI.ca.issue("hup", "hup.tls.test", dns=["localhost"])
        remember_key_file(second[1])
        for name, source in (("tls.crt", second[0]), ("tls.key", second[1])):
            target = os.path.realpath(os.path.join(self.dir, name))
            stat = os.stat(target)
            write_padded(target, read_bytes(source))
            os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        time.sleep(2.5)  # two watcher polls
        self.assertEqual(self.serving(), "default.tls.test")
        self.gateway.proc.send_signal(signal.SIGHUP)
        self.wait_for("hup.tls.test")


class TestConfigErrors(unittest.TestCase):
    def check(self, text):
        d = tempfile.mkdtemp(prefix="claimgate-tls-config-")
        path = os.path.join(d, "c.yaml")
        with open(path, "w") as f:
            f.write(text)
        r = run_claimgate(["--check-config", path])
        shutil.rmtree(d, ignore_errors=True)
        self.assertNotEqual(r.returncode, 0)
        return r.stdout + r.stderr

    def config(self, listeners, extra=""):
        return listeners + """admin: "127.0.0.1:9"
%s
upstreams: { app: { url: "http://127.0.0.1:1" } }
routes:
  - { match: { path_prefix: / }, upstream: app, auth: anonymous }
""" % extra

    def tls(self, certificates=None, extra=""):
        certificates = certificates or [PKI.default]
        items = "".join("        - { cert_file: %s, key_file: %s }\n" % (c[0], c[1]) for c in certificates)
        return 'listeners:\n  - address: "127.0.0.1:8443"\n    tls:\n      certificates:\n' + items + extra

    def test_listen_and_listeners_together(self):
        out = self.check('listen: "127.0.0.1:8080"\n' + self.config(self.tls()))
        self.assertIn("listeners: cannot be used together with listen", out)

    def test_versions_and_client_verification(self):
        out = self.check(self.config(self.tls(extra='      min_version: "1.1"\n      verify_client: optional\n')))
        self.assertRegex(out, r":\d+: listeners\[0\]\.tls\.min_version: must be \"1.2\" or \"1.3\"")
        self.assertIn("listeners[0].tls.verify_client: needs client_ca_file", out)

    def test_bad_files_are_named_and_never_shown(self):
        mismatched = (PKI.default[0], PKI.api[1])
        out = self.check(self.config(self.tls([mismatched])))
        self.assertIn("does not match the certificate", out)
        out = self.check(self.config(self.tls([("/nonexistent/tls.crt", PKI.default[1])])))
        self.assertIn("cert_file /nonexistent/tls.crt: cannot be read", out)
        # A key file given as the certificate: the error names the file, never its content.
        out = self.check(self.config(self.tls([(PKI.default[1], PKI.default[1])])))
        self.assertIn("no PEM certificate", out)
        encrypted = os.path.join(PKI.dir, "encrypted.key")
        subprocess.run(["openssl", "pkey", "-in", PKI.default[1], "-aes256", "-passout", "pass:secret-pass", "-out",
                        encrypted], check=True, capture_output=True)
        remember_key_file(encrypted)
        out = self.check(self.config(self.tls([(PKI.default[0], encrypted)])))
        self.assertIn("no unencrypted PEM private key", out)

    def test_client_certificate_requirement_needs_a_listener_asking_for_one(self):
        text = self.config(self.tls()).replace(
            "auth: anonymous }", "auth: anonymous, require: { client_certificate: { uri: \"spiffe://x\" } } }")
        self.assertIn("no listener asks for client certificates", self.check(text))
        text = self.config(self.tls()).replace("auth: anonymous }", "auth: anonymous, require: { roles_any: [a] } }")
        self.assertIn("require: has no effect on a route with auth: anonymous", self.check(text))

    def test_certificate_bound_values(self):
        text = self.config(self.tls(), extra='providers:\n  - { name: p, issuer: "https://i", jwks_file: /x, '
                                             'algorithms: [ES256], certificate_bound: sometimes }')
        self.assertIn("certificate_bound: must be one of off, when_present, required", self.check(text))


if __name__ == "__main__":
    main()
