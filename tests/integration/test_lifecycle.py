#!/usr/bin/python3
"""Admin endpoints, SIGTERM drain, trusted proxies, connection limits and the CLI."""
import json
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import unittest

from harness import (Gateway, GatewayTestCase, RawClient, Upstream, auth_config, basic_config, free_port, main, request,
                     run_claimgate, wait_for_port)
from tokens import SigningKey, b64u, mint, opaque_token, usso_claims

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "..", "config.example.yaml")


class AdminTest(GatewayTestCase):
    def test_healthz_and_readyz(self):
        self.assertEqual(request(self.admin_port, "GET", "/healthz").status, 200)
        r = request(self.admin_port, "GET", "/readyz")
        self.assertEqual((r.status, r.json()["status"]), (200, "ready"))
        self.assertEqual(request(self.admin_port, "GET", "/nope").status, 404)


class TrustedProxyTest(GatewayTestCase):
    @classmethod
    def config(cls, listen, admin, upstream_port):
        return basic_config(listen, admin, upstream_port, extra='trusted_proxies: ["127.0.0.0/8", "::1/128"]')

    def test_values_from_trusted_proxy_are_kept(self):
        r = request(self.port, "GET", "/echo", headers=[
            ("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "public.example"),
            ("X-Real-IP", "203.0.113.7")])
        h = {n.lower(): v for n, v in r.json()["headers"]}
        self.assertEqual(h["x-forwarded-for"], "203.0.113.7, 127.0.0.1")
        self.assertEqual(h["x-forwarded-proto"], "https")
        self.assertEqual(h["x-forwarded-host"], "public.example")
        self.assertEqual(h["x-real-ip"], "203.0.113.7")


class MaxConnectionsTest(GatewayTestCase):
    @classmethod
    def config(cls, listen, admin, upstream_port):
        return basic_config(listen, admin, upstream_port, extra="client: { max_connections: 2 }")

    def wait_no_connections(self):
        """The harness's readiness probe connected too: wait until the gateway has let it go."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            text = request(self.admin_port, "GET", "/metrics").body.decode()
            if re.search(r"^claimgate_active_connections 0(\.0)?$", text, re.M):
                return
            time.sleep(0.05)
        self.fail("the gateway still counts open connections")

    def test_connections_over_the_limit_are_closed(self):
        self.wait_no_connections()
        a, b = RawClient(self.port), RawClient(self.port)
        a.send(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        b.send(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        a.read_response(), b.read_response()
        c = RawClient(self.port)
        self.assertTrue(c.is_closed())
        a.close()
        b.close()
        time.sleep(0.2)
        self.assertEqual(request(self.port, "GET", "/echo").status, 200)


class DrainTest(unittest.TestCase):
    def test_sigterm_drains_in_flight_requests(self):
        upstream = Upstream()
        port, admin = free_port(), free_port()
        gw = Gateway(basic_config(port, admin, upstream.port))
        try:
            gw.wait(port)
            idle = RawClient(port)  # an idle keep-alive connection is closed at once
            idle.send(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
            idle.read_response()
            result = {}

            def slow():
                c = RawClient(port)
                c.send(b"GET /slow?ms=1500 HTTP/1.1\r\nHost: x\r\n\r\n")
                r = c.read_response()
                result["status"], result["connection"] = r.status, r.header("Connection")
            t = threading.Thread(target=slow)
            t.start()
            time.sleep(0.3)
            gw.proc.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            self.assertEqual(request(admin, "GET", "/readyz").status, 503)
            self.assertTrue(idle.is_closed())
            with self.assertRaises(OSError):
                RawClient(port).send(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n") or RawClient(port).read_response()
            t.join()
            self.assertEqual(result["status"], 200)
            self.assertEqual(result["connection"], "close")
            self.assertEqual(gw.proc.wait(10), 0)
            self.assertIn('"cut_off_connections":0', gw.logs())
        finally:
            gw.stop()
            upstream.stop()

    def test_drain_deadline_cuts_off(self):
        upstream = Upstream()
        port, admin = free_port(), free_port()
        gw = Gateway(basic_config(port, admin, upstream.port).replace("drain_timeout_ms: 5000", "drain_timeout_ms: 300"))
        try:
            gw.wait(port)
            c = RawClient(port)
            c.send(b"GET /slow?ms=2500 HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.2)
            start = time.monotonic()
            gw.proc.send_signal(signal.SIGTERM)
            self.assertEqual(gw.proc.wait(5), 0)
            self.assertLess(time.monotonic() - start, 2.0)
            self.assertIn('"cut_off_connections":1', gw.logs())
        finally:
            gw.stop()
            upstream.stop()


class CliTest(unittest.TestCase):
    def run_cli(self, *args):
        return run_claimgate(args, timeout=20)  # stdout and stderr scanned for test secrets

    def check_config_text(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(text)
        try:
            return self.run_cli("--check-config", f.name)
        finally:
            os.unlink(f.name)

    def test_version(self):
        r = self.run_cli("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^claimgate \d+\.\d+\.\d+")

    def test_example_config_passes(self):
        r = self.run_cli("--check-config", EXAMPLE)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_every_error_listed_with_line_and_key(self):
        r = self.check_config_text("""listen: "127.0.0.1:8080"
admin: "nonsense"
threads: many
client:
  idle_timeout_ms: -5
  max_request_header_byte: 10
upstreams:
  app: { url: "ftp://x", connect_timeout_ms: 10 }
routes:
  - match: { path_prefix: nope }
    upstream: missing
    auth: sometimes
""")
        self.assertEqual(r.returncode, 1)
        for expected in (":2: admin:", ":3: threads:", ":5: client.idle_timeout_ms:", ":6: client.max_request_header_byte: unknown key",
                         ":8: upstreams.app.url:", ":10: routes[0]: route \"route_0\": path_prefix", ":11: routes[0].upstream:",
                         ":12: routes[0].auth:"):
            self.assertIn(expected, r.stderr)

    def test_yaml_syntax_error_has_line(self):
        r = self.check_config_text("listen: [\nadmin: x\n")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r":\d+: YAML syntax error")

    def test_duplicate_key(self):
        r = self.check_config_text(basic_config(1, 2, 3) + "threads: 4\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("threads: duplicate key", r.stderr)

    def test_bad_config_does_not_start(self):
        r = self.run_cli("--config", "/nonexistent/config.yaml")
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot open", r.stderr)

    def test_port_in_use_fails_clearly(self):
        with __import__("socket").socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            busy = s.getsockname()[1]
            upstream_port = free_port()
            with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
                f.write(basic_config(busy, free_port(), upstream_port))
            r = self.run_cli("--config", f.name)
            os.unlink(f.name)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot bind 127.0.0.1:%d" % busy, r.stderr)

    def test_cli_with_keys_and_tokens_prints_no_secret(self):
        """--check-config, explain and a gateway that cannot start, on a config whose key files hold
        an HMAC secret and a JWKS with private members: nothing printed holds them, nor a token."""
        tmp = tempfile.mkdtemp(prefix="claimgate-cli-keys-")
        try:
            hs = SigningKey("HS256", secret=b64u(os.urandom(36)).encode())
            ed = SigningKey("EdDSA", kid="cli-ed")
            secret_path, jwks_path = os.path.join(tmp, "hmac.secret"), os.path.join(tmp, "jwks.json")
            with open(secret_path, "wb") as f:
                f.write(hs.secret + b"\n")
            with open(jwks_path, "w") as f:
                json.dump({"keys": [ed.private_jwk()]}, f)
            providers = [{"name": "hs", "issuer": "https://hs", "audiences": ["your-app"], "algorithms": ["HS256"],
                          "hmac_secret_file": secret_path},
                         {"name": "ed", "issuer": "https://ed", "audiences": ["your-app"], "algorithms": ["EdDSA"],
                          "jwks_file": jwks_path}]
            config = os.path.join(tmp, "config.yaml")
            with open(config, "w") as f:
                f.write(auth_config(free_port(), free_port(), free_port(), providers))
            self.assertEqual(self.run_cli("--check-config", config).returncode, 0)
            tokens = [mint(hs, usso_claims("https://hs"), header={"kid": None}), mint(ed, usso_claims("https://ed")),
                      mint(ed, usso_claims("https://ed"), ttl_s=-60), opaque_token()]
            for token in tokens:
                for extra in ([], ["--json"]):
                    r = self.run_cli("explain", "--config", config, "--path", "/me", "--token", token, *extra)
                    self.assertEqual(r.returncode, 0, r.stderr)
            r = self.run_cli("explain", "--config", config, "--path", "/me", "--cookie", "access_token=" + tokens[0])
            self.assertEqual(r.returncode, 0, r.stderr)
            # The same config, broken: every error listed, no key material.
            with open(config, "a") as f:
                f.write("log_level: loud\n")
            r = self.run_cli("--check-config", config)
            self.assertEqual(r.returncode, 1)
            self.assertIn("log_level: must be one of", r.stderr)
            r = self.run_cli("--config", config)
            self.assertEqual(r.returncode, 1)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
