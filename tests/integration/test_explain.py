#!/usr/bin/python3
"""`claimgate explain`. One golden output per outcome: each reason name explain can produce
offline, each requirement kind, no route (404), a rejected path (400), and the --json shape.

Determinism: every run passes --now NOW, tokens carry fixed iat/exp/nbf around NOW, the key ids are
fixed, and explain runs with the temp dir as its working directory so file names are relative. The
keys themselves are random per run, which the output cannot show: explain never prints a signature
or key material.

CLAIMGATE_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing (review the diff)."""
import json
import os
import shutil
import tempfile
import unittest

from harness import main, provider_yaml, run_claimgate
from jwks_server import JwksServer
from tokens import SigningKey, jwks_json, mint

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden", "explain")
UPDATE = os.environ.get("CLAIMGATE_UPDATE_GOLDEN") == "1"

NOW = 1700000000
ISSUER = "https://issuer.test"
AUD = "your-app"

ROUTES = """
  - name: public
    match: { path_prefix: /public/ }
    upstream: app
    auth: anonymous
  - name: admin
    match: { path_prefix: /admin }
    upstream: app
    require: { roles_any: [admin] }
  - name: editors
    match: { path_prefix: /edit/ }
    upstream: app
    require: { roles_all: [admin, editor] }
  - name: readers
    match: { path_prefix: /read/ }
    upstream: app
    require: { scopes_any: ["read:users", "read:all"] }
  - name: posts
    match: { path: /posts, methods: [POST] }
    upstream: app
    require: { scopes_all: ["write:posts"] }
  - name: pma
    match: { path_prefix: /pma/ }
    upstream: app
    require: { claims: { permissions.pma.role: admin } }
  - name: tiers
    match: { path_glob: "/tiers/*" }
    upstream: app
    require: { claims: { tier: [gold, silver] } }
  - name: mail
    match: { path_prefix: /mail/, host: mail.example.com }
    upstream: app
    require: { claims: { email: { exists: true } } }
  - name: orgs
    match: { path_prefix: /orgs/ }
    upstream: app
    require: { claims: { tenant_id: { regex: "org_.*" } } }
  - name: tenants
    match: { path_regex: "^/tenants/([^/]+)/.*" }
    upstream: app
    require: { path_claims: { tenant_id: 1 } }
  - name: either
    match: { path_prefix: /either/ }
    upstream: app
    require: { any: [ { roles_any: [admin] }, { scopes_any: ["read:users"] } ] }
  - name: both
    match: { path_prefix: /both/ }
    upstream: app
    require: { all: [ { roles_any: [editor] }, { claims: { tenant_id: tenant-42 } } ] }
  - name: app
    match: { path_prefix: /app/ }
    upstream: app
"""


def config_text(jwks_url):
    provider = provider_yaml(name="main", issuer=ISSUER, audiences=[AUD], jwks_url=jwks_url, algorithms=["EdDSA"],
                             allow_insecure_http=True)
    return """listen: "127.0.0.1:18080"
admin: "127.0.0.1:19901"
startup_timeout_ms: 5000
providers:
%s
upstreams:
  app: { url: "http://127.0.0.1:18081" }
routes:%s""" % (provider, ROUTES)


def claims(**extra):
    c = {"iss": ISSUER, "aud": AUD, "sub": "user:alice123", "tenant_id": "tenant-42", "roles": ["editor"],
         "scopes": ["read:users", "write:posts"], "iat": NOW - 60, "exp": NOW + 3600}
    c.update(extra)
    return c


class ExplainTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="claimgate-explain-")
        cls.key = SigningKey("EdDSA", kid="k1")
        cls.stranger = SigningKey("EdDSA", kid="k1")  # same kid, other key: bad_signature
        with open(os.path.join(cls.dir, "jwks.json"), "w") as f:
            f.write(jwks_json([cls.key]))
        # Offline cases never fetch: --jwks-file replaces this (unused) URL.
        with open(os.path.join(cls.dir, "config.yaml"), "w") as f:
            f.write(config_text("http://127.0.0.1:9/jwks.json"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def token(self, key=None, **extra):
        return mint(key or self.key, claims(**extra))

    def explain(self, *args, config="config.yaml", offline=True):
        argv = ["explain", "--config", config, "--now", str(NOW)] + list(args)
        if offline:
            argv += ["--jwks-file", "jwks.json"]
        r = run_claimgate(argv, where="explain's output", cwd=self.dir)  # scans stdout and stderr
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.replace(self.dir, "$TMP")

    def check_golden(self, name, output):
        path = os.path.join(GOLDEN, name)
        if UPDATE:
            os.makedirs(GOLDEN, exist_ok=True)
            with open(path, "w") as f:
                f.write(output)
            return
        with open(path) as f:
            expected = f.read()
        self.maxDiff = None
        self.assertEqual(output, expected, "golden file " + name)

    def golden(self, name, *args, **kwargs):
        out = self.explain(*args, **kwargs)
        self.check_golden(name + ".txt", out)
        return out

    # ---- reasons (final answer 401, each from auth::reply_*)

    def test_missing_token(self):
        out = self.golden("missing_token", "--path", "/app/x")
        self.assertIn('WWW-Authenticate: Bearer realm="claimgate"\n', out)

    def test_expired(self):
        out = self.golden("expired", "--path", "/app/x", "--token", self.token(exp=NOW - 10))
        self.assertIn('error="invalid_token", error_description="expired"', out)

    def test_bad_signature(self):
        self.golden("bad_signature", "--path", "/app/x", "--token", self.token(key=self.stranger))

    def test_unknown_kid(self):
        out = self.golden("unknown_kid", "--path", "/app/x", "--token",
                          mint(self.key, claims(), header={"kid": "k9"}))
        self.assertIn("unknown_kid", out)

    def test_wrong_audience(self):
        self.golden("wrong_audience", "--path", "/app/x", "--token", self.token(aud="other-app"))

    def test_unknown_issuer(self):
        out = self.golden("unknown_issuer", "--path", "/app/x", "--token", self.token(iss="https://unknown.test"))
        self.assertIn("--jwks-file not used", out)

    def test_not_yet_valid(self):
        self.golden("not_yet_valid", "--path", "/app/x", "--token", self.token(nbf=NOW + 600))

    def test_malformed_credentials(self):
        self.golden("malformed_credentials", "--path", "/app/x", "--header", "Authorization: Bearer a b")

    # ---- requirement kinds

    def test_roles_any(self):
        out = self.golden("roles_any", "--path", "/admin/x", "--token", self.token())
        self.assertIn("403 insufficient_scope", out)

    def test_roles_all(self):
        self.golden("roles_all", "--path", "/edit/x", "--token", self.token(roles=["admin", "editor"]))

    def test_scopes_any(self):
        self.golden("scopes_any", "--path", "/read/users", "--token", self.token())

    def test_scopes_all(self):
        out = self.golden("scopes_all", "--method", "POST", "--path", "/posts", "--token",
                          self.token(scopes=["read:users"]))
        self.assertIn('scope="write:posts"', out)

    def test_claims_equality(self):
        self.golden("claims_equality", "--path", "/pma/x", "--token",
                    self.token(permissions={"pma": {"role": "admin"}}))

    def test_claims_one_of(self):
        self.golden("claims_one_of", "--path", "/tiers/t1", "--token", self.token(tier="bronze"))

    def test_claims_exists(self):
        self.golden("claims_exists", "--path", "/mail/inbox", "--host", "Mail.Example.com:443", "--token",
                    self.token(email="alice@example.com"))

    def test_claims_regex(self):
        self.golden("claims_regex", "--path", "/orgs/x", "--token", self.token())

    def test_path_claims(self):
        self.golden("path_claims", "--path", "/tenants/tenant-42/projects", "--token", self.token())

    def test_any(self):
        self.golden("any", "--path", "/either/x", "--token", self.token())

    def test_all(self):
        self.golden("all", "--path", "/both/x", "--token", self.token(tenant_id="tenant-7"))

    # ---- before authentication

    def test_no_route(self):
        out = self.golden("no_route", "--path", "/nowhere", "--token", self.token())
        self.assertIn("answer:    404 not_found", out)

    def test_host_and_method_misses(self):
        out = self.explain("--path", "/mail/x/../inbox", "--host", "other.example.com")
        out += self.explain("--method", "GET", "--path", "/posts")
        self.check_golden("route_misses.txt", out)
        self.assertIn('no: method "GET" is not in [POST]', out)

    def test_rejected_path(self):
        out = self.golden("rejected_path", "--path", "/files/a%2Fb", "--token", self.token())
        self.assertIn("answer:    400 bad_request", out)

    def test_anonymous_route(self):
        self.golden("anonymous", "--path", "/public/x", "--token", self.token(exp=NOW - 10))

    # ---- --json

    def json_golden(self, name, *args):
        out = self.explain("--json", *args)
        report = json.loads(out)
        self.check_golden(name + ".json", json.dumps(report, indent=2) + "\n")
        return report

    def test_json_forbidden(self):
        report = self.json_golden("json_forbidden", "--path", "/admin/x", "--token", self.token())
        self.assertEqual(sorted(report), ["answer", "notes", "path", "request", "requirements", "route", "routes",
                                          "token_error", "tokens"])
        self.assertEqual(report["answer"]["status"], 403)
        self.assertEqual(report["requirements"]["decision"], "missing_role")

    def test_json_allowed(self):
        report = self.json_golden("json_allowed", "--path", "/app/x", "--cookie", "theme=dark", "--token", self.token())
        self.assertTrue(report["answer"]["forwarded"])
        self.assertIn(["X-User-Id", "user:alice123"], report["answer"]["injected_headers"])

    # ---- never prints the signature

    def test_signature_never_printed(self):
        token = self.token()
        signature = token.rsplit(".", 1)[1]
        for extra in ([], ["--json"]):
            out = self.explain("--path", "/app/x", "--token", token, *extra)
            self.assertNotIn(signature, out)
            self.assertNotIn(token.rsplit(".", 1)[0], out)  # nor the raw token

    # ---- keys fetched as the gateway fetches them (not golden: the URL has a random port)

    def test_fetches_jwks(self):
        server = JwksServer()
        try:
            server.serve_jwks(jwks_json([self.key]))
            path = os.path.join(self.dir, "fetch.yaml")
            with open(path, "w") as f:
                f.write(config_text(server.url()))
            out = self.explain("--path", "/app/x", "--token", self.token(), config=path, offline=False)
            self.assertIn("keys:    1 key from " + server.url() + ', kid "k1"', out)
            self.assertIn('answer:    forwarded to upstream "app"', out)
            self.assertEqual(server.fetches(), 1)
        finally:
            server.stop()

    def test_usage(self):
        r = run_claimgate(["explain", "--path", "/"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("--config is required", r.stderr)


if __name__ == "__main__":
    main()
