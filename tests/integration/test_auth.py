#!/usr/bin/python3
"""The request path with real tokens, a real JWKS server and a real upstream. Assertions
are on what the client got (status, WWW-Authenticate, JSON body) and on what the upstream received
(X-User-* injected, spoofed ones removed, Authorization forwarded, token query parameter dropped)."""
import base64
import json
import os
import re
import time
import unittest
from urllib.parse import quote

from harness import (CONTRACT_ROUTES, RawClient, Upstream, auth_config, bearer, challenge_params, free_port, main, request,
                     start_gateway, wait_ready)
from jwks_server import JwksServer
from tokens import SigningKey, b64u, b64u_decode, jwks_json, mint, opaque_token, secret_value, usso_claims

AUD = "your-app"

# The contract's routes with one more in front: a route that only provider "other" may serve.
ROUTES = """
  - name: only-other
    match: { path_prefix: /only-other/ }
    upstream: app
    providers: [other]
""" + CONTRACT_ROUTES

# log_level debug: this class's gateway logs its debug lines too (request_rejected), and
# Gateway.stop scans the whole log for every signature, key and secret value the tests sent.
EXTRA = """log_level: debug
token_cache_entries: 10000
token_sources:
  - { header: Authorization, prefix: "Bearer " }
  - { header: X-Token }
  - { cookie: access_token }
  - { query: access_token }
claim_headers: { X-User-Id: sub, X-User-Tenant: tenant_id, X-User-Workspace: workspace_id, X-User-Roles: roles, X-User-Scopes: scopes }
payload_header: X-User-Claims
strip_token: false"""

SPOOFED = [("X-User-Id", "evil"), ("X-User-Roles", "admin"), ("X-User-Tenant", "evil-tenant"),
           ("X-User-Scopes", "write:posts"), ("X-User-Workspace", "evil-ws"), ("X-User-Claims", "e30"),
           ("X_User_Id", "evil"), ("X.User.Id", "evil"), ("x-user-id", "evil2"), ("X-USER-ROLES", "admin")]


def sent(resp):
    """The upstream's view: [(name, value)] as received."""
    return [(n, v) for n, v in resp.json()["headers"]]


def sent_values(resp, name):
    return [v for n, v in sent(resp) if n.lower() == name.lower()]


def folded_user_headers(resp):
    """Every received header that folds to x-user-* (case, '_' and '.' ignored)."""
    return [(n, v) for n, v in sent(resp) if re.sub(r"[_.]", "-", n.lower()).startswith("x-user-")]


def split_list(value):
    return [x for x in re.split(r"[ ,]+", value or "") if x]


class AuthTest(unittest.TestCase):
    tokens_seen = []

    @classmethod
    def setUpClass(cls):
        cls.upstream = Upstream()
        cls.jwks = JwksServer()
        cls.ed, cls.es, cls.rs = SigningKey("EdDSA", kid="ed"), SigningKey("ES256", kid="es"), SigningKey("RS256", kid="rs")
        cls.other_key = SigningKey("EdDSA", kid="other")
        cls.jwks.serve_jwks(jwks_json([cls.ed, cls.es, cls.rs]))
        cls.jwks.serve_jwks(jwks_json([cls.other_key]), path="/other/jwks.json")
        cls.iss = cls.jwks.origin()
        cls.other_iss = cls.jwks.origin() + "/other"
        common = {"audiences": [AUD], "algorithms": ["EdDSA", "ES256", "RS256"], "leeway_s": 10,
                  "roles_claim": "roles", "scopes_claim": "scopes", "refresh_interval_s": 300,
                  "min_refresh_interval_s": 30, "max_refresh_interval_s": 3600, "fetch_timeout_ms": 5000,
                  "max_stale_s": 86400, "unknown_kid_wait_ms": 1000}
        providers = [dict(common, name="usso", issuer=cls.iss, jwks_url=cls.jwks.url()),
                     dict(common, name="other", issuer=cls.other_iss, jwks_url=cls.jwks.url("/other/jwks.json"))]
        cls.port, cls.admin = free_port(), free_port()
        try:
            cls.gateway = start_gateway(auth_config(cls.port, cls.admin, cls.upstream.port, providers, routes=ROUTES,
                                                    extra=EXTRA))
            wait_ready(cls.admin)
        except Exception:
            cls.upstream.stop()
            cls.jwks.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            code = cls.gateway.stop()  # raises if the (debug-level) log holds a test secret
        finally:
            cls.upstream.stop()
            cls.jwks.stop()
        if code != 0:
            print(cls.gateway.logs()[-4000:])

    # ------------------------------------------------------------------ helpers

    def token(self, key=None, **claims):
        key = key or self.ed
        header = claims.pop("header", None)
        now = claims.pop("now", None)
        t = mint(key, usso_claims(self.iss if key is not self.other_key else self.other_iss, **claims),
                 header=header, now=now)
        self.tokens_seen.append(t)
        return t

    def req(self, path="/me", method="GET", headers=(), body=b""):
        return request(self.port, method, path, headers=list(headers) + [("X-Case", self.id())], body=body)

    def assert_challenge(self, resp, status, error=None, description=None, body_error=None):
        self.assertEqual(resp.status, status, resp.body[:300])
        params = challenge_params(resp)
        self.assertIsNotNone(params, "no WWW-Authenticate")
        self.assertEqual(params["scheme"], "Bearer")
        self.assertEqual(params.get("realm"), "claimgate")
        self.assertEqual(params.get("error"), error, resp.header("WWW-Authenticate"))
        if description is not None:
            self.assertEqual(params.get("error_description"), description, resp.header("WWW-Authenticate"))
        self.assertEqual(resp.json()["error"], body_error or error)
        return params

    # ------------------------------------------------------------------ the USSO scenario

    def test_usso_scenario(self):
        t = self.token()
        r = self.req("/posts", "POST", bearer(t), b"{}")
        self.assertEqual(r.status, 200, r.body)
        r = self.req("/admin/users", headers=bearer(t))
        p = self.assert_challenge(r, 403, "insufficient_scope", "missing_role")
        self.assertNotIn("scope", p)
        r = self.req("/me", headers=bearer(t))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(sent_values(r, "X-User-Id"), ["user:alice123"])
        self.assertEqual(sent_values(r, "X-User-Tenant"), ["tenant-42"])
        self.assertEqual(sent_values(r, "X-User-Workspace"), ["ws-7"])
        self.assertEqual(split_list(sent_values(r, "X-User-Roles")[0]), ["editor"])
        self.assertEqual(split_list(sent_values(r, "X-User-Scopes")[0]), ["read:users", "write:posts"])
        self.assertEqual(sent_values(r, "Authorization"), ["Bearer " + t])  # forwarded unchanged
        payload = sent_values(r, "X-User-Claims")
        self.assertEqual(len(payload), 1)
        self.assertEqual(json.loads(b64u_decode(payload[0]))["sub"], "user:alice123")

    def test_every_key_type(self):
        for key in (self.ed, self.es, self.rs):
            with self.subTest(alg=key.alg):
                self.assertEqual(self.req("/me", headers=bearer(self.token(key))).status, 200)

    def test_concurrent_fresh_tokens_keep_their_identities(self):
        # Fresh tokens are verified in batches (requests read in one wake-up are decided
        # together): under load, every answer and every forwarded identity must still be its own.
        import threading
        failures = []

        def client(n):
            c = RawClient(self.port)
            try:
                for round_ in range(6):
                    batch = []
                    for i in range(4):  # pipelined: one read can hold several requests
                        sub = "user:%d-%d-%d" % (n, round_, i)
                        kind = (n + round_ + i) % 3  # 0 allowed, 1 lacks the admin role, 2 bad signature
                        t = self.token(sub=sub)
                        if kind == 2:
                            t = t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB")
                        batch.append((sub, kind))
                        c.send(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                                % ("/admin/users" if kind == 1 else "/me", t)).encode())
                    for sub, kind in batch:
                        r = c.read_response()
                        want = (200, 403, 401)[kind]
                        if r.status != want:
                            failures.append((sub, kind, r.status))
                        elif kind == 0 and sent_values(r, "X-User-Id") != [sub]:
                            failures.append((sub, "forwarded as", sent_values(r, "X-User-Id")))
            except Exception as e:  # noqa: BLE001 - reported below with the others
                failures.append((n, repr(e)))
            finally:
                c.close()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(failures, [])

    def test_missing_scope_names_the_scope(self):
        r = self.req("/posts", "POST", bearer(self.token(scopes=["read:users"])), b"{}")
        p = self.assert_challenge(r, 403, "insufficient_scope", "missing_scope")
        self.assertEqual(p.get("scope"), "write:posts")
        # GET /posts is not the POST-only route: the catch-all lets it through.
        self.assertEqual(self.req("/posts", headers=bearer(self.token(scopes=["read:users"]))).status, 200)

    def test_admin_role(self):
        r = self.req("/admin/users", headers=bearer(self.token(roles=["editor", "admin"])))
        self.assertEqual(r.status, 200, r.body)

    def test_more_sso_auth_permissions_claim(self):
        ok = self.token(permissions={"pma": {"role": "admin"}})
        self.assertEqual(self.req("/pma/x", headers=bearer(ok)).status, 200)
        # An array claim matches when one element does (policy/requirement.h, as Istio does).
        any_of = self.token(permissions={"pma": {"role": ["viewer", "admin"]}})
        self.assertEqual(self.req("/pma/x", headers=bearer(any_of)).status, 200)
        for claims in ({"permissions": {"pma": {"role": "user"}}}, {"permissions": {}}, {},
                       {"permissions": {"pma": {"role": "Admin"}}}, {"permissions": {"pma": {"role": ["user"]}}},
                       {"permissions": {"pma": {"role": {"admin": True}}}}, {"permissions.pma.role": "user"}):
            with self.subTest(claims=claims):
                r = self.req("/pma/x", headers=bearer(self.token(**claims)))
                self.assert_challenge(r, 403, "insufficient_scope", "claim_mismatch")

    def test_path_claim_binding(self):
        t = self.token()
        self.assertEqual(self.req("/tenants/tenant-42/things", headers=bearer(t)).status, 200)
        r = self.req("/tenants/tenant-43/things", headers=bearer(t))
        self.assert_challenge(r, 403, "insufficient_scope", "path_binding_mismatch")

    def test_optional_route(self):
        r = self.req("/opt/x")
        self.assertEqual(r.status, 200)
        self.assertEqual(folded_user_headers(r), [])
        r = self.req("/opt/x", headers=bearer(self.token()))
        self.assertEqual(r.status, 200)
        self.assertEqual(sent_values(r, "X-User-Id"), ["user:alice123"])
        r = self.req("/opt/x", headers=bearer(self.token(now=int(time.time()) - 7200)))
        self.assert_challenge(r, 401, "invalid_token", "expired")

    # ------------------------------------------------------------------ statuses

    def test_missing_token(self):
        r = self.req("/me")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.header("WWW-Authenticate"), 'Bearer realm="claimgate"')
        self.assertEqual(r.json()["error"], "missing_token")

    def test_invalid_tokens(self):
        now = int(time.time())
        good = self.token()
        h, p, s = good.split(".")
        sig = bytearray(b64u_decode(s))
        sig[5] ^= 1
        cases = [
            ("expired", self.token(now=now - 7200)),
            ("bad_signature", h + "." + p + "." + b64u(bytes(sig))),
            ("unknown_kid", self.token(header={"kid": "nobody"})),
            ("wrong_audience", self.token(aud="someone-else")),
            ("unknown_issuer", mint(self.ed, usso_claims("https://not-configured"))),
            ("malformed", "abc.def"),
            ("alg_none", mint(self.ed, usso_claims(self.iss), header={"alg": "none"})[:-86]),
            ("alg_not_allowed", mint(SigningKey("HS256"), usso_claims(self.iss))),
            ("not_yet_valid", self.token(nbf=now + 3600)),
        ]
        for reason, token in cases:
            self.tokens_seen.append(token)
            with self.subTest(reason=reason):
                r = self.req("/me", headers=bearer(token))
                self.assert_challenge(r, 401, "invalid_token", reason)

    def test_leeway(self):
        # exp 5 s ago with leeway_s 10: still accepted.
        r = self.req("/me", headers=bearer(self.token(exp=int(time.time()) - 5)))
        self.assertEqual(r.status, 200, r.body)

    def test_provider_not_allowed_on_route(self):
        r = self.req("/only-other/x", headers=bearer(self.token()))
        self.assert_challenge(r, 401, "invalid_token", "provider_not_allowed")
        r = self.req("/only-other/x", headers=bearer(self.token(self.other_key)))
        self.assertEqual(r.status, 200, r.body)

    def test_malformed_credentials(self):
        t = self.token()
        for value in ("Bearer a b", "Bearer ", "Bearer", "Bearer tok,en", "Bearer x=y", "Bearer " + t + " x"):
            with self.subTest(value=value[:30]):
                r = self.req("/me", headers=[("Authorization", value)])
                self.assert_challenge(r, 401, "invalid_token", "malformed_credentials")
        # A control character never reaches the token extractor: the HTTP parser refuses it.
        self.assertEqual(self.req("/me", headers=[("Authorization", "Bearer tok\x01en")]).status, 400)
        # Another scheme is not a bearer token; the scheme name is case-insensitive (RFC 7235);
        # RFC 6750 allows 1*SP after it.
        basic = secret_value(base64.b64encode(b"alice:" + os.urandom(18)).decode())
        self.assertEqual(self.req("/me", headers=[("Authorization", "Basic " + basic)]).json()["error"],
                         "missing_token")
        self.assertEqual(self.req("/me", headers=[("Authorization", "bearer " + t)]).status, 200)
        self.assertEqual(self.req("/me", headers=[("Authorization", "Bearer  " + t)]).status, 200)
        # On an anonymous route a malformed credential is ignored.
        r = self.req("/public/x", headers=[("Authorization", "Bearer a b")])
        self.assertEqual(r.status, 200)
        self.assertEqual(folded_user_headers(r), [])

    def test_two_authorization_headers(self):
        t = self.token()
        for second in (t, self.token(sub="user:bob")):
            r = self.req("/me", headers=bearer(t) + bearer(second))
            self.assert_challenge(r, 400, "invalid_request")
        # On an anonymous route too? The request is still ambiguous: 400 or pass without identity.
        r = self.req("/public/x", headers=bearer(t) + bearer(t))
        self.assertIn(r.status, (200, 400))
        if r.status == 200:
            self.assertEqual(folded_user_headers(r), [])

    def test_conflicting_token_cookies(self):
        a, b = self.token(), self.token(sub="user:bob")
        r = self.req("/me", headers=[("Cookie", "access_token=%s; access_token=%s" % (a, b))])
        self.assert_challenge(r, 400, "invalid_request")
        r = self.req("/me", headers=[("Cookie", "access_token=%s" % a), ("Cookie", "access_token=%s" % b)])
        self.assert_challenge(r, 400, "invalid_request")

    # ------------------------------------------------------------------ spoofing

    def test_spoofed_headers_removed_on_anonymous_route(self):
        r = self.req("/public/x", headers=SPOOFED)
        self.assertEqual(r.status, 200)
        self.assertEqual(folded_user_headers(r), [])

    def test_spoofed_headers_removed_on_protected_route(self):
        r = self.req("/me", headers=SPOOFED + bearer(self.token()))
        self.assertEqual(r.status, 200)
        got = folded_user_headers(r)
        names = sorted(n.lower() for n, _ in got)
        self.assertEqual(names, sorted(["x-user-id", "x-user-tenant", "x-user-workspace", "x-user-roles",
                                        "x-user-scopes", "x-user-claims"]), got)
        self.assertEqual(sent_values(r, "X-User-Id"), ["user:alice123"])
        self.assertEqual(split_list(sent_values(r, "X-User-Roles")[0]), ["editor"])

    def test_claim_values_cannot_inject_headers(self):
        for sub in ("alice\r\nX-Injected: 1", "alice\nX-Injected: 1", "alice\u0000x", "alice\rX-Injected: 1"):
            with self.subTest(sub=sub):
                r = self.req("/me", headers=bearer(self.token(sub=sub, tenant_id="t\r\nX-Injected: 2")))
                if r.status == 200:
                    self.assertEqual(sent_values(r, "X-Injected"), [])
                    for value in sent_values(r, "X-User-Id") + sent_values(r, "X-User-Tenant"):
                        self.assertFalse(set(value) & {"\r", "\n", "\0"}, repr(value))
                else:
                    self.assertEqual(r.status, 401, r.body)
        # Roles and scopes list elements too.
        r = self.req("/me", headers=bearer(self.token(roles=["editor\r\nX-Injected: 3"], scopes=["a\nX-Injected: 4"])))
        if r.status == 200:
            self.assertEqual(sent_values(r, "X-Injected"), [])

    def test_oversized_token(self):
        t = self.token(padding="x" * 17000)  # over the 16 KiB default max_token_bytes
        r = self.req("/me", headers=bearer(t))
        self.assertIn(r.status, (401, 431), r.body[:200])
        if r.status == 401:
            self.assertEqual(challenge_params(r).get("error_description"), "token_too_large")

    def test_absent_claims_inject_nothing(self):
        t = mint(self.ed, {"iss": self.iss, "aud": AUD, "sub": "user:bare"})
        self.tokens_seen.append(t)
        r = self.req("/me", headers=SPOOFED + bearer(t))
        self.assertEqual(r.status, 200)
        names = sorted(n.lower() for n, _ in folded_user_headers(r))
        self.assertEqual(names, ["x-user-claims", "x-user-id"])

    # ------------------------------------------------------------------ path tricks

    def test_path_tricks_need_admin(self):
        editor, admin = self.token(), self.token(roles=["admin"])
        for path in ("/public/../admin/x", "/public/%2e%2e/admin/x", "/public/%2E%2E/admin/x", "/%61dmin/x",
                     "//admin/x", "/public/./../admin/x", "/public//../admin/x"):
            with self.subTest(path=path):
                r = self.req(path)
                self.assertIn(r.status, (400, 401), "anonymous access through %s" % path)
                if r.status == 401:
                    self.assertEqual(r.json()["error"], "missing_token")
                    r = self.req(path, headers=bearer(editor))
                    self.assert_challenge(r, 403, "insufficient_scope", "missing_role")
                    r = self.req(path, headers=bearer(admin))
                    self.assertEqual(r.status, 200, r.body)

    def test_path_parameter_rejected_connection_kept(self):
        c = RawClient(self.port)
        try:
            c.send(b"GET /admin;x/y HTTP/1.1\r\nHost: t\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 400)
            c.send(b"GET /public/after HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 200)
        finally:
            c.close()

    # ------------------------------------------------------------------ token sources

    def test_each_token_source(self):
        t = self.token()
        for name, headers, path in (("authorization", bearer(t), "/me"),
                                    ("x-token", [("X-Token", t)], "/me"),
                                    ("cookie", [("Cookie", "a=1; access_token=%s; session=%s; b=2" %
                                                 (t, secret_value("s." + opaque_token(30))))], "/me"),
                                    ("query", [], "/me?x=1&access_token=%s&y=2" % t)):
            with self.subTest(source=name):
                r = self.req(path, headers=headers)
                self.assertEqual(r.status, 200, r.body)
                self.assertEqual(sent_values(r, "X-User-Id"), ["user:alice123"])
                if name == "query":
                    self.assertNotIn(t, r.json()["target"])
                    self.assertNotIn("access_token", r.json()["target"])
                    self.assertEqual(r.json()["target"], "/me?x=1&y=2")
                if name == "authorization":
                    self.assertEqual(sent_values(r, "Authorization"), ["Bearer " + t])

    def test_query_token_url_encoded_and_stripped(self):
        t = self.token()
        r = self.req("/me?access_token=" + quote(t, safe=""))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["target"], "/me")

    def test_precedence_when_sources_agree_or_both_verify(self):
        alice, bob = self.token(), self.token(sub="user:bob")
        # The same token in every source: fine.
        r = self.req("/me?access_token=" + alice, headers=bearer(alice) + [("X-Token", alice),
                                                                          ("Cookie", "access_token=" + alice)])
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(sent_values(r, "X-User-Id"), ["user:alice123"])
        # Two different valid tokens: both verify; the identity comes from the first source listed.
        for headers, path, expected in ((bearer(alice) + [("X-Token", bob)], "/me", "user:alice123"),
                                        ([("X-Token", bob), ("Cookie", "access_token=" + alice)], "/me", "user:bob"),
                                        ([("Cookie", "access_token=" + bob)], "/me?access_token=" + alice, "user:bob"),
                                        (bearer(bob), "/me?access_token=" + alice, "user:bob")):
            with self.subTest(expected=expected, headers=[n for n, _ in headers], path=path[:20]):
                r = self.req(path, headers=headers)
                self.assertEqual(r.status, 200, r.body)
                self.assertEqual(sent_values(r, "X-User-Id"), [expected])

    def test_multi_token_rule_every_token_must_verify(self):
        good = self.token()
        bad = self.token(now=int(time.time()) - 7200)
        for headers, path in ((bearer(good) + [("X-Token", bad)], "/me"),
                              (bearer(bad) + [("X-Token", good)], "/me"),
                              ([("Cookie", "access_token=" + good)], "/me?access_token=" + bad),
                              (bearer(good), "/me?access_token=%s.%s.%s" % (opaque_token(), opaque_token(),
                                                                            opaque_token()))):
            with self.subTest(headers=[n for n, _ in headers], path=path[:20]):
                r = self.req(path, headers=headers)
                self.assert_challenge(r, 401, "invalid_token")

    # ------------------------------------------------------------------ CORS

    def test_cors_preflight_without_token(self):
        pre = [("Origin", "https://app.example"), ("Access-Control-Request-Method", "POST")]
        r = self.req("/cors/x", "OPTIONS", pre)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["method"], "OPTIONS")
        self.assertEqual(folded_user_headers(r), [])
        # Not a preflight (no Access-Control-Request-Method), or not the cors route: token needed.
        self.assertEqual(self.req("/cors/x", "OPTIONS", [("Origin", "https://app.example")]).status, 401)
        self.assertEqual(self.req("/cors/x", "GET", pre).status, 401)
        self.assertEqual(self.req("/me", "OPTIONS", pre).status, 401)

    # ------------------------------------------------------------------ logs (runs last: "zz")

    def test_zz_tokens_never_logged(self):
        # Some traffic that logs: a denial, an invalid token, a success.
        self.req("/admin/x", headers=bearer(self.token()))
        self.req("/me", headers=bearer(self.token(aud="nope")))
        self.req("/me?access_token=" + self.token())
        # Refused before routing (the target is bad), and on an anonymous route: still not logged.
        for path in ("/admin;x/y?access_token=", "/%zz?access_token=", "/public/x?access_token="):
            self.req(path + self.token())
        self.req("/public/x", headers=[("Cookie", "access_token=" + self.token()), ("X-Token", self.token())])
        # Opaque (non-JWT) tokens and a session cookie, remembered as secrets (tokens.secret_value):
        # Gateway.stop scans the log for them as for signatures.
        for headers, path in ((bearer(opaque_token()), "/me"), ([("X-Token", opaque_token())], "/admin/x"),
                              ([("Cookie", "access_token=%s; session=%s" % (opaque_token(), opaque_token()))], "/me"),
                              ([], "/me?access_token=" + opaque_token()),
                              ([("Authorization", "Bearer %s x" % opaque_token())], "/me"),
                              ([("Cookie", "session=" + opaque_token())], "/public/x")):
            self.assertIn(self.req(path, headers=headers).status, (200, 400, 401, 403))
        # Refused by the head check, which logs at debug level: request_rejected.
        for head in (b"GET /me?access_token=%s#frag HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % self.token().encode(),
                     b"GET /me HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\x01\r\nConnection: close\r\n\r\n" %
                     self.token().encode(),
                     b"GET /me HTTP/1.1\r\nHost: t\r\nX-Token: %s\x7f\r\nConnection: close\r\n\r\n" %
                     opaque_token().encode()):
            c = RawClient(self.port)
            try:
                c.send(head)
                self.assertEqual(c.read_response().status, 400)
            finally:
                c.close()
        time.sleep(0.3)
        logs = self.gateway.logs()
        self.assertTrue(logs.strip(), "the gateway logged nothing at all")
        self.assertIn('"level":"debug"', logs, "log_level debug, yet no debug line: the scan misses them")
        leaked = []
        for t in self.tokens_seen:
            for part in t.split("."):
                if len(part) >= 16 and part in logs:
                    leaked.append(part[:24] + "...")
        self.assertEqual(leaked, [], "token material in the gateway's stderr")


if __name__ == "__main__":
    main()
