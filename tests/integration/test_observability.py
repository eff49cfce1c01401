#!/usr/bin/python3
"""Metrics, access logs, request ids, and hot reload under load."""
import json
import os
import re
import signal
import tempfile
import threading
import time
import unittest

from harness import (Gateway, RawClient, Upstream, auth_config, free_port, main, request, stop_gateway_and_helpers,
                     wait_for_port)
from tokens import SigningKey, jwks_json, mint

ISSUER = "https://idp.observability.test"


def config(port, admin, upstream_port, jwks_path, protected_require="{}", extra=""):
    provider = {"name": "local", "issuer": ISSUER, "audiences": ["obs"], "jwks_file": jwks_path, "algorithms": ["EdDSA"]}
    routes = """
  - name: public
    match: { path_prefix: /public/ }
    upstream: app
    auth: anonymous
  - name: protected
    match: { path_prefix: / }
    upstream: app
    require: %s
""" % protected_require
    sources = """token_sources:
  - { header: Authorization, prefix: "Bearer " }
  - { cookie: access_token }
  - { query: access_token }
"""
    return auth_config(port, admin, upstream_port, [provider], routes=routes, extra=sources + extra)


class ObservabilityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.key = SigningKey("EdDSA", kid="obs")
        cls.upstream = Upstream()
        cls.port, cls.admin = free_port(), free_port()
        cls.jwks_path = os.path.join(tempfile.mkdtemp(prefix="claimgate-obs-"), "jwks.json")
        with open(cls.jwks_path, "w") as f:
            f.write(jwks_json([cls.key]))
        cls.gateway = Gateway(config(cls.port, cls.admin, cls.upstream.port, cls.jwks_path))
        cls.gateway.wait(cls.port)
        wait_for_port(cls.admin)
        cls.token = mint(cls.key, {"iss": ISSUER, "aud": "obs", "sub": "user:obs", "tenant_id": "t-obs",
                                   "roles": ["editor"]})

    @classmethod
    def tearDownClass(cls):
        stop_gateway_and_helpers(cls.gateway, cls.upstream)

    def auth(self):
        return [("Authorization", "Bearer " + self.token)]

    def metrics(self):
        return request(self.admin, "GET", "/metrics").body.decode()

    def test_metrics_families(self):
        request(self.port, "GET", "/public/x")
        request(self.port, "GET", "/me", headers=self.auth())
        request(self.port, "GET", "/me")
        request(self.port, "BREW", "/me", headers=self.auth())
        # A request is counted once its last byte is written, which the client may see first
        # (a slow build, such as TSan's, shows it): wait for the last one.
        deadline = time.monotonic() + 5
        while 'method="other"' not in (text := self.metrics()) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pattern in (r'claimgate_requests_total\{route="public",method="GET",status_class="2xx"\} \d+',
                        r'claimgate_requests_total\{route="protected",method="other",status_class="2xx"\} \d+',
                        r'claimgate_request_duration_seconds_bucket\{route="protected",le="0.005"\} \d+',
                        r'claimgate_upstream_duration_seconds_count\{route="public"\} \d+',
                        r'claimgate_auth_decisions_total\{outcome="missing_token",reason="missing_token"\} \d+',
                        r'claimgate_auth_decisions_total\{outcome="allow",reason="allow"\} \d+',
                        r'claimgate_token_cache_total\{result="hit"\} \d+',
                        r'claimgate_keys_loaded\{provider="local"\} 1',
                        r'claimgate_key_set_age_seconds\{provider="local"\} [\d.e+-]+',
                        r'claimgate_jwks_fetches_total\{provider="local",result="success"\} \d+',
                        r'claimgate_upstream_connections\{state="idle"\} \d+',
                        r'claimgate_active_connections \d+',
                        r'claimgate_config_reloads_total\{result="success"\} \d+',
                        r'claimgate_build_info\{version="[\d.]+"\} 1'):
            self.assertRegex(text, pattern)
        self.assertNotIn("user:obs", text)  # no user ids in labels

    def test_access_log_fields_and_no_secrets(self):
        request(self.port, "GET", "/me?access_token=" + self.token + "&x=1", headers=[("X-Case", "log")])
        request(self.port, "GET", "/me", headers=[("Cookie", "access_token=" + self.token + "; other=1")])
        request(self.port, "GET", "/me", headers=self.auth())
        time.sleep(0.2)
        logs = self.gateway.logs()
        self.assertNotIn(self.token, logs)
        self.assertNotIn(self.token.split(".")[2], logs)  # not even the signature
        lines = [json.loads(l) for l in logs.splitlines() if '"event":"request"' in l]
        self.assertTrue(lines)
        line = lines[-1]
        for field in ("time", "request_id", "route", "method", "path", "status", "auth", "reason", "sub", "tenant",
                      "duration_ms", "upstream_ms", "bytes_in", "bytes_out"):
            self.assertIn(field, line)
        self.assertEqual((line["route"], line["status"], line["sub"], line["tenant"]), ("protected", 200, "user:obs", "t-obs"))

    def test_request_id_generated_or_kept(self):
        got = {n.lower(): v for n, v in request(self.port, "GET", "/public/x").json()["headers"]}
        self.assertRegex(got["x-request-id"], r"^[0-9a-f]{32}$")
        got = {n.lower(): v for n, v in request(self.port, "GET", "/public/x", headers=[("X-Request-Id", "abc-123")]).json()["headers"]}
        self.assertEqual(got["x-request-id"], "abc-123")


class ReloadTest(unittest.TestCase):
    def test_ten_reloads_under_load_lose_nothing(self):
        key = SigningKey("EdDSA", kid="r")
        upstream = Upstream()
        port, admin = free_port(), free_port()
        jwks_path = os.path.join(tempfile.mkdtemp(prefix="claimgate-reload-"), "jwks.json")
        with open(jwks_path, "w") as f:
            f.write(jwks_json([key]))
        token = mint(key, {"iss": ISSUER, "aud": "obs", "sub": "u", "roles": ["editor"], "scopes": ["a"]})
        variants = [config(port, admin, upstream.port, jwks_path, "{ roles_any: [editor] }"),
                    config(port, admin, upstream.port, jwks_path, "{ scopes_all: [a] }")]
        gw = Gateway(variants[0])
        try:
            gw.wait(port)
            stop = threading.Event()
            statuses, errors = [], []

            def load():
                try:
                    c = RawClient(port)
                    while not stop.is_set():
                        c.send(("GET /me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % token).encode())
                        statuses.append(c.read_response().status)
                        statuses.append(request(port, "GET", "/public/p").status)
                except Exception as e:  # a reset or a cut connection is a failed request too
                    errors.append(repr(e))
            workers = [threading.Thread(target=load) for _ in range(3)]
            for w in workers:
                w.start()
            for i in range(10):
                time.sleep(0.15)
                with open(gw.config_path, "w") as f:
                    f.write(variants[(i + 1) % 2])
                gw.proc.send_signal(signal.SIGHUP)
            time.sleep(0.3)
            # Broken files keep the running config: bad YAML, and valid YAML naming an unknown upstream.
            for broken in ("routes: [\n", variants[0].replace("upstream: app", "upstream: nowhere")):
                with open(gw.config_path, "w") as f:
                    f.write(broken)
                gw.proc.send_signal(signal.SIGHUP)
                time.sleep(0.3)
            stop.set()
            for w in workers:
                w.join()
            self.assertEqual(errors, [])
            self.assertGreater(len(statuses), 50)
            self.assertEqual(set(statuses), {200}, "failed requests during reloads")
            metrics = request(admin, "GET", "/metrics").body.decode()
            self.assertIn('claimgate_config_reloads_total{result="success"} 10', metrics)
            self.assertIn('claimgate_config_reloads_total{result="failure"} 2', metrics)
            self.assertIn("nowhere", gw.logs())
            self.assertIn("config_reload_failed", gw.logs())
            self.assertEqual(request(port, "GET", "/me", headers=[("Authorization", "Bearer " + token)]).status, 200)
        finally:
            stop_gateway_and_helpers(gw, upstream)

    def test_watched_file_and_restart_notice(self):
        upstream = Upstream()
        port, admin = free_port(), free_port()
        base = """listen: "127.0.0.1:%d"
admin: "127.0.0.1:%d"
watch_config: true
upstreams:
  app: { url: "http://127.0.0.1:%d" }
routes:
  - match: { path_prefix: /a }
    upstream: app
    auth: anonymous
""" % (port, admin, upstream.port)
        gw = Gateway(base)
        try:
            gw.wait(port)
            self.assertEqual(request(port, "GET", "/b").status, 404)
            time.sleep(1.1)  # a new mtime
            with open(gw.config_path, "w") as f:
                f.write(base.replace("path_prefix: /a", "path_prefix: /b"))
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline and request(port, "GET", "/b").status != 200:
                time.sleep(0.2)
            self.assertEqual(request(port, "GET", "/b").status, 200)
            with open(gw.config_path, "w") as f:
                f.write(base.replace("listen: \"127.0.0.1:%d\"" % port, "listen: \"127.0.0.1:%d\"" % free_port()))
            gw.proc.send_signal(signal.SIGHUP)
            time.sleep(0.3)
            self.assertIn('"config_reload_needs_restart","key":"listen"', gw.logs())
            self.assertEqual(request(port, "GET", "/a").status, 200)  # still on the old listener
        finally:
            stop_gateway_and_helpers(gw, upstream)


if __name__ == "__main__":
    main()
