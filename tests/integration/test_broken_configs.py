#!/usr/bin/python3
"""`claimgate --check-config` on broken configs: each is refused with a message naming the key
(and its line), and nothing is started. Every output is scanned for test secrets (run_claimgate);
secrets pasted into a config are named by their key, never echoed."""
import os
import tempfile
import unittest

from harness import main, run_claimgate
from tokens import SigningKey, b64u, mint, opaque_token, secret_value

BASE = """listen: "127.0.0.1:18080"
admin: "127.0.0.1:18081"
providers:
  - name: idp
    issuer: "https://idp.example"
    audiences: [app]
    jwks_url: "https://idp.example/.well-known/jwks.json"
    algorithms: [EdDSA]
upstreams:
  app: { url: "http://127.0.0.1:8000" }
routes:
  - name: r
    match: { path_prefix: / }
    upstream: app
    require: {}
"""

# (name, config text, a substring the error must contain: the key it names)
CASES = [
    ("yaml syntax", "listen: [\n", "YAML syntax error"),
    ("top level not a map", "- a\n- b\n", "must be a mapping"),
    ("unknown top-level key", BASE + "listne: x\n", "listne: unknown key"),
    ("duplicate key", BASE + "threads: 1\nthreads: 2\n", "threads: duplicate key"),
    ("listen not ip:port", BASE.replace('"127.0.0.1:18080"', '"localhost"'), "listen: must be IP:PORT"),
    ("listen port out of range", BASE.replace("18080", "70000"), "listen: must be IP:PORT"),
    ("admin equals listen", BASE.replace("18081", "18080"), "admin: must differ from listen"),
    ("threads negative", BASE + "threads: -1\n", "threads: must be between"),
    ("threads not a number", BASE + "threads: many\n", "threads: must be an integer"),
    ("client timeout zero", BASE + "client: { idle_timeout_ms: 0 }\n", "client.idle_timeout_ms: must be between"),
    ("client unknown key", BASE + "client: { idle_timeout: 5 }\n", "client.idle_timeout: unknown key"),
    ("header limit too small", BASE + "client: { max_request_header_bytes: 10 }\n", "client.max_request_header_bytes"),
    ("bad trusted proxy", BASE + 'trusted_proxies: ["10.0.0.0/33"]\n', "trusted_proxies:"),
    ("log level", BASE + "log_level: loud\n", "log_level: must be one of"),
    ("access_log not bool", BASE + "access_log: yes please\n", "access_log: must be true or false"),
    ("forward_auth without path", BASE + "forward_auth: { trusted_sources: [] }\n", "forward_auth.path: is required"),
    ("forward_auth bad source", BASE + 'forward_auth: { path: /a, trusted_sources: ["x"] }\n', "forward_auth.trusted_sources"),
    ("path_normalization bad value", BASE + "path_normalization: { allow_backslash: maybe }\n",
     "path_normalization.allow_backslash"),
    ("no upstreams", BASE.replace('upstreams:\n  app: { url: "http://127.0.0.1:8000" }\n', ""), "upstreams: is required"),
    ("upstream not http", BASE.replace("http://127.0.0.1:8000", "ftp://127.0.0.1:8000"), "upstreams.app.url"),
    ("upstream with path", BASE.replace("http://127.0.0.1:8000", "http://127.0.0.1:8000/api"), "upstreams.app.url"),
    ("upstream missing url", BASE.replace('{ url: "http://127.0.0.1:8000" }', "{ connect_timeout_ms: 5 }"),
     "upstreams.app.url: is required"),
    ("no routes", BASE[:BASE.index("routes:")], "routes: is required"),
    ("route unknown upstream", BASE.replace("upstream: app\n    require", "upstream: nope\n    require"),
     "routes[0].upstream: names no entry of upstreams"),
    ("route without match", BASE.replace("    match: { path_prefix: / }\n", ""), "routes[0].match: is required"),
    ("route bad auth", BASE.replace("    require: {}", "    auth: sometimes"), "routes[0].auth: must be one of"),
    ("route bad regex", BASE.replace("path_prefix: /", 'path_regex: "/a("'), 'routes[0]: route "r": path_regex: "/a(": missing )'),
    ("route bad require key", BASE.replace("require: {}", "require: { role_any: [a] }"), "routes[0].require.role_any"),
    ("route unknown provider", BASE.replace("    require: {}", "    providers: [other]\n    require: {}"),
     "routes[0].providers: names no entry of providers"),
    ("required route without providers", BASE[:BASE.index("providers:")] + BASE[BASE.index("upstreams:"):],
     "routes[0].auth: required needs at least one entry in providers"),
    ("provider without issuer", BASE.replace('    issuer: "https://idp.example"\n', ""), "providers[0].issuer: is required"),
    ("provider two key sources", BASE.replace("    algorithms:", "    jwks_file: keys.json\n    algorithms:"),
     "providers[0]: needs exactly one of jwks_url, jwks_file, hmac_secret_file"),
    ("provider http to non-loopback", BASE.replace("https://idp.example/.well-known", "http://idp.example/.well-known"),
     "providers[0].jwks_url: plain http is allowed only to loopback"),
    ("provider alg none", BASE.replace("algorithms: [EdDSA]", "algorithms: [none]"), "providers[0].algorithms"),
    ("provider HS with jwks_url", BASE.replace("algorithms: [EdDSA]", "algorithms: [HS256]"),
     "providers[0].algorithms: HS* keys come only from local files"),
    ("provider HS mixed", BASE.replace("algorithms: [EdDSA]", "algorithms: [HS256, RS256]"), "providers[0].algorithms"),
    ("provider leeway negative", BASE.replace("    algorithms:", "    leeway_s: -1\n    algorithms:"),
     "providers[0].leeway_s: must be between"),
    ("provider duplicate issuer", BASE.replace("upstreams:", """  - name: idp2
    issuer: "https://idp.example"
    jwks_url: "https://idp.example/2.json"
    algorithms: [EdDSA]
upstreams:"""), "providers[1].issuer: another provider has the same issuer"),
    ("token source two kinds", BASE + "token_sources: [ { header: A, cookie: b } ]\n",
     "token_sources[0]: needs exactly one of header, cookie, query"),
    ("claim header bad name", BASE + 'claim_headers: { "X User": sub }\n', "claim_headers.X User: is not a valid header name"),
]


class BrokenConfigTest(unittest.TestCase):
    def check(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(text)
        try:
            return run_claimgate(["--check-config", f.name], timeout=20)
        finally:
            os.unlink(f.name)

    def test_base_is_valid(self):
        r = self.check(BASE)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_each_broken_config_names_its_key(self):
        self.assertGreaterEqual(len(CASES), 30)
        for name, text, expected in CASES:
            with self.subTest(name):
                r = self.check(text)
                self.assertEqual(r.returncode, 1, name + ": accepted")
                self.assertIn(expected, r.stderr, name)
                self.assertRegex(r.stderr, r"\.yaml:\d+: ", name + ": no file:line prefix")

    def test_secrets_pasted_into_a_config_are_not_echoed(self):
        """A secret or token as the value of a key where it does not belong: refused, by key and line,
        without the value. (Keys themselves are named in errors by design.)"""
        key = SigningKey("HS256", secret=secret_value(b64u(os.urandom(33)) + "+/=!").encode())
        secret = key.secret.decode()
        token = mint(SigningKey("EdDSA"), {"sub": "u"})
        opaque = opaque_token()
        provider_key = BASE.replace("    algorithms: [EdDSA]", "    algorithms: [EdDSA]\n    hmac_secret: \"%s\"" % secret)
        cases = [
            ("secret under an unknown provider key", provider_key, "providers[0].hmac_secret: unknown key"),
            ("token under an unknown top-level key", BASE + "test_token: \"%s\"\n" % token, "test_token: unknown key"),
            ("secret as an integer", BASE + "threads: \"%s\"\n" % opaque, "threads: must be an integer"),
            ("secret as a bool", BASE + "access_log: \"%s\"\n" % secret, "access_log: must be true or false"),
            ("secret in a provider number",
             BASE.replace("    algorithms:", "    leeway_s: \"%s\"\n    algorithms:" % secret), "providers[0].leeway_s"),
            ("secret on a YAML syntax error line", BASE + "secret: [%s\n" % secret, "YAML syntax error"),
            ("secret twice", BASE + "jwt_secret: %s\njwt_secret: %s\n" % (opaque, opaque), "jwt_secret"),
        ]
        for name, text, expected in cases:
            with self.subTest(name):
                r = self.check(text)  # run_claimgate raises if the output holds a secret
                self.assertEqual(r.returncode, 1, name + ": accepted")
                self.assertIn(expected, r.stderr, name)


if __name__ == "__main__":
    main()
