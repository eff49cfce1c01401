#!/usr/bin/python3
"""Provider keys at run time, against a real JWKS server process (jwks_server.py):
rotation, unknown-kid rate limit, the server down / slow / broken, HTTPS with a test CA,
several providers, local JWKS and HMAC files, and keys made by `claimgate keygen`/`mint`."""
import json
import os
import shutil
import tempfile
import threading
import time
import unittest

from harness import (Upstream, assert_no_secret_in, auth_config, bearer, challenge_params, free_port, main, readyz,
                     request, run_claimgate, start_gateway, wait_ready)
from jwks_server import JwksServer, make_test_pki
from tokens import (SigningKey, b64u, b64u_decode, jwks_json, mint, opaque_token, remember_private_jwk, remember_token,
                    usso_claims, verify_with_jwcrypto)

AUD = "your-app"

# Every gateway of this file logs at debug level, so the secret scan of its log (Gateway.stop)
# covers the debug lines too (jwks_key_ignored, request_rejected).
DEBUG_LOG = "log_level: debug"


def provider(name, issuer, url=None, **extra):
    p = {"name": name, "issuer": issuer, "audiences": [AUD], "algorithms": ["EdDSA", "ES256", "RS256"],
         "leeway_s": 10, "refresh_interval_s": 300, "min_refresh_interval_s": 1, "max_refresh_interval_s": 3600,
         "fetch_timeout_ms": 1000, "max_stale_s": 86400, "unknown_kid_wait_ms": 1000}
    if url is not None:
        p["jwks_url"] = url
    p.update(extra)
    return p


def sent_headers(resp):
    """What the upstream received, names lowercased."""
    return {n.lower(): v for n, v in resp.json()["headers"]}


def poll(fn, timeout, interval=0.1):
    """Calls fn() until it returns a truthy value or `timeout` passes; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


class KeysTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.upstream = Upstream()
        cls.tmp = tempfile.mkdtemp(prefix="claimgate-keys-")

    @classmethod
    def tearDownClass(cls):
        cls.upstream.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.port = free_port()
        self.admin = free_port()
        self.gateways = []
        self.servers = []

    def tearDown(self):
        failed = any(e for _, e in (getattr(self._outcome, "errors", None) or []))
        leak = None
        bad_exits = []
        for gw in self.gateways:
            try:
                code = gw.stop()  # raises if the (debug-level) log holds a test secret
            except AssertionError as e:
                code, leak = gw.proc.returncode, leak or e
            if code != 0:
                bad_exits.append(code)
            if code != 0 or failed:
                print("---- gateway log (%s, exit %s)\n%s" % (self.id(), code, gw.logs()[-4000:]))
        for s in self.servers:
            s.stop()
        if leak is not None:
            raise leak
        # A sanitizer report at shutdown shows only as the exit code.
        self.assertEqual(bad_exits, [], "claimgate exited with these codes")

    def jwks_server(self, tls=None):
        s = JwksServer(tls)
        self.servers.append(s)
        return s

    def gateway(self, providers, startup_timeout_ms=10000, ready=True, extra=""):
        extra = DEBUG_LOG + "\n" + extra
        gw = start_gateway(auth_config(self.port, self.admin, self.upstream.port, providers, extra=extra,
                                       startup_timeout_ms=startup_timeout_ms))
        self.gateways.append(gw)
        if ready:
            wait_ready(self.admin, timeout=startup_timeout_ms / 1000 + 5)
        return gw

    def get(self, token, path="/me", case=None):
        headers = bearer(token) if token else []
        return request(self.port, path=path, headers=headers + [("X-Case", case or self.id())])

    def assert_status(self, resp, status, reason=None):
        self.assertEqual(resp.status, status, resp.body[:300])
        if reason is not None:
            self.assertEqual(challenge_params(resp).get("error_description"), reason, resp.header("WWW-Authenticate"))


class RotationTest(KeysTestCase):
    def test_new_kid_verifies_after_unknown_kid_refetch(self):
        a, b = SigningKey("EdDSA", kid="a"), SigningKey("ES256", kid="b")
        s = self.jwks_server()
        s.serve_jwks(jwks_json([a]))
        iss = s.origin()
        self.gateway([provider("usso", iss, s.url())])
        self.assert_status(self.get(mint(a, usso_claims(iss))), 200)
        before = s.fetches()
        s.serve_jwks(jwks_json([a, b]))
        time.sleep(1.2)  # past min_refresh_interval_s since the last fetch
        self.assert_status(self.get(mint(b, usso_claims(iss))), 200)
        self.assertEqual(s.fetches(), before + 1)
        self.assert_status(self.get(mint(a, usso_claims(iss))), 200)

    def test_periodic_refresh_picks_up_rotation_and_drops_old_key(self):
        a, b = SigningKey("RS256", kid="a"), SigningKey("EdDSA", kid="b")
        s = self.jwks_server()
        s.serve_jwks(jwks_json([a]))
        iss = s.origin()
        self.gateway([provider("usso", iss, s.url(), refresh_interval_s=1, unknown_kid_wait_ms=0)])
        token_a = mint(a, usso_claims(iss))
        self.assert_status(self.get(token_a), 200)
        self.assert_status(self.get(token_a), 200)
        s.serve_jwks(jwks_json([b]))
        token_b = mint(b, usso_claims(iss))
        self.assertEqual(poll(lambda: self.get(token_b).status == 200, 6), True, "key b never accepted")
        # a left the set: its kid is unknown now, for a new token and for one verified (and
        # cached) before the rotation.
        self.assert_status(self.get(mint(a, usso_claims(iss))), 401, "unknown_kid")
        self.assert_status(self.get(token_a), 401, "unknown_kid")

    def test_cache_control_max_age_drives_refresh(self):
        a = SigningKey("EdDSA", kid="a")
        s = self.jwks_server()
        s.serve_jwks(jwks_json([a]), max_age=1)
        self.gateway([provider("usso", s.origin(), s.url(), refresh_interval_s=300)])
        start = s.fetches()
        time.sleep(3.5)
        # max-age 1 (clamped to min_refresh_interval_s 1): about one fetch a second, not one per 300 s.
        self.assertGreaterEqual(s.fetches() - start, 2)
        self.assertLessEqual(s.fetches() - start, 5)


class RateLimitTest(KeysTestCase):
    def flood(self, iss, seconds, threads=4):
        """Tokens with random kids from `threads` clients for `seconds`; returns (statuses, elapsed)."""
        attacker = SigningKey("EdDSA")
        statuses = []
        lock = threading.Lock()
        start = time.monotonic()

        def client(n):
            i = 0
            while time.monotonic() - start < seconds:
                token = mint(attacker, usso_claims(iss), header={"kid": b64u(os.urandom(9))})
                r = self.get(token, case="flood-%d-%d" % (n, i))
                with lock:
                    statuses.append((r.status, challenge_params(r).get("error_description") if r.status == 401 else None))
                i += 1
                time.sleep(0.02)

        workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return statuses, time.monotonic() - start

    def test_unknown_kid_flood_is_rate_limited(self):
        a = SigningKey("EdDSA", kid="a")
        s = self.jwks_server()
        s.serve_jwks(jwks_json([a]))
        iss = s.origin()
        self.gateway([provider("usso", iss, s.url(), min_refresh_interval_s=2, unknown_kid_wait_ms=100)])
        time.sleep(2.1)  # the startup fetch is outside the window
        s.reset_stats()
        statuses, elapsed = self.flood(iss, 4.5)
        self.assertGreater(len(statuses), 40)
        self.assertEqual(set(statuses), {(401, "unknown_kid")})
        fetches = s.stats()["fetches"]
        self.assertGreaterEqual(fetches, 1, "an unknown kid never caused a refetch")
        self.assertLessEqual(fetches, int(elapsed / 2) + 1, "%d fetches in %.1f s" % (fetches, elapsed))
        self.assert_status(self.get(mint(a, usso_claims(iss))), 200)

    def test_unknown_kid_refetch_is_single_flight_while_slow(self):
        a = SigningKey("EdDSA", kid="a")
        s = self.jwks_server()
        s.serve_jwks(jwks_json([a]))
        iss = s.origin()
        self.gateway([provider("usso", iss, s.url(), min_refresh_interval_s=1, unknown_kid_wait_ms=300,
                               fetch_timeout_ms=3000)])
        time.sleep(1.1)
        s.set(delay_ms=2500)
        s.reset_stats()
        statuses, elapsed = self.flood(iss, 2.0, threads=6)
        self.assertEqual(set(statuses), {(401, "unknown_kid")})
        self.assertLessEqual(s.stats()["fetches"], 2, "concurrent unknown kids started parallel fetches")


class UnavailableTest(KeysTestCase):
    def test_nothing_listening_at_start(self):
        dead = free_port()
        iss = "http://127.0.0.1:%d" % dead
        a = SigningKey("EdDSA", kid="a")
        self.gateway([provider("usso", iss, iss + "/.well-known/jwks.json")], startup_timeout_ms=1500, ready=False)
        # The first fetch ends at once (refused), or the startup timeout passes: ready either way.
        self.assertLess(wait_ready(self.admin, timeout=5), 3.0)
        r = self.get(mint(a, usso_claims(iss)))
        self.assertEqual(r.status, 503, r.body)
        self.assertIsNotNone(r.header("Retry-After"))
        self.assertEqual(request(self.port, path="/public/x").status, 200)

    def test_server_error_at_start_then_recovers(self):
        a = SigningKey("EdDSA", kid="a")
        s = self.jwks_server()
        s.set(mode="error", status=500, body=jwks_json([a]))
        iss = s.origin()
        self.gateway([provider("usso", iss, s.url())], startup_timeout_ms=3000)
        token = mint(a, usso_claims(iss))
        r = self.get(token)
        self.assertEqual(r.status, 503, r.body)
        self.assertIsNotNone(r.header("Retry-After"))
        self.assertEqual(request(self.port, path="/public/x").status, 200)
        s.set(mode="ok")
        self.assertTrue(poll(lambda: self.get(token).status == 200, 10), "keys never loaded after the server recovered")

    def test_slow_server_at_start_ready_after_startup_timeout(self):
        a = SigningKey("EdDSA", kid="a")
        s = self.jwks_server()
        s.serve_jwks(jwks_json([a]), delay_ms=4000)
        iss = s.origin()
        started = time.monotonic()
        self.gateway([provider("usso", iss, s.url(), fetch_timeout_ms=3000)], startup_timeout_ms=1000, ready=False)
        self.assertEqual(readyz(self.admin), 503)
        wait_ready(self.admin, timeout=5)
        self.assertLess(time.monotonic() - started, 2.8, "ready only after the fetch timed out, not at startup_timeout_ms")
        r = self.get(mint(a, usso_claims(iss)))
        self.assertEqual(r.status, 503, r.body)
        self.assertEqual(request(self.port, path="/public/x").status, 200)

    def test_server_down_later_keeps_cached_keys(self):
        a = SigningKey("ES256", kid="a")
        s = self.jwks_server()
        s.serve_jwks(jwks_json([a]))
        iss = s.origin()
        self.gateway([provider("usso", iss, s.url(), refresh_interval_s=1)])
        token = mint(a, usso_claims(iss))
        self.assert_status(self.get(token), 200)
        for mode in ({"mode": "close"}, {"mode": "error", "status": 500}, {"mode": "error", "status": 404}):
            before = s.fetches()
            s.set(**mode)
            time.sleep(2.2)
            self.assertGreater(s.fetches(), before, "no refresh attempted in %s" % mode)
            self.assert_status(self.get(token, case=json.dumps(mode)), 200)
        s.stop()
        time.sleep(1.5)
        self.assert_status(self.get(token), 200)

    def test_keys_expire_after_max_stale_s(self):
        a = SigningKey("EdDSA", kid="a")
        s = self.jwks_server()
        s.serve_jwks(jwks_json([a]))
        iss = s.origin()
        self.gateway([provider("usso", iss, s.url(), refresh_interval_s=1, max_stale_s=2)])
        token = mint(a, usso_claims(iss))
        self.assert_status(self.get(token), 200)
        s.set(mode="error", status=500)
        r = poll(lambda: self.get(token).status == 503, 8)
        self.assertTrue(r, "keys still used long after max_stale_s")
        self.assertEqual(request(self.port, path="/public/x").status, 200)
        s.set(mode="ok")
        self.assertTrue(poll(lambda: self.get(token).status == 200, 8), "keys not restored")

    def test_oversized_response_keeps_old_keys(self):
        a = SigningKey("EdDSA", kid="a")
        s = self.jwks_server()
        s.serve_jwks(jwks_json([a]))
        iss = s.origin()
        gw = self.gateway([provider("usso", iss, s.url(), refresh_interval_s=1)])
        token = mint(a, usso_claims(iss))
        big = json.dumps({"keys": [a.public_jwk()] + [{"kty": "oct", "pad": "x" * 1000}] * 20000})
        before = s.fetches()
        s.serve_jwks(big)
        poll(lambda: s.fetches() >= before + 2, 5)
        self.assertIsNone(gw.proc.poll(), "the gateway exited")
        self.assert_status(self.get(token), 200)

    def test_garbage_and_empty_responses_keep_old_keys(self):
        a = SigningKey("EdDSA", kid="a")
        s = self.jwks_server()
        s.serve_jwks(jwks_json([a]))
        iss = s.origin()
        self.gateway([provider("usso", iss, s.url(), refresh_interval_s=1)])
        token = mint(a, usso_claims(iss))
        self.assert_status(self.get(token), 200)
        for body in ("this is not json", '{"keys": "nope"}', '{"keys":[]}', '{"keys":[{"kty":"EC"}]}', "",
                     '<html>502 Bad Gateway</html>'):
            before = s.fetches()
            s.serve_jwks(body)
            poll(lambda: s.fetches() >= before + 2, 4)
            self.assertGreaterEqual(s.fetches(), before + 1, "no refresh with body %r" % body)
            self.assert_status(self.get(token, case="after %r" % body), 200)

    def test_slow_refresh_times_out_and_keeps_old_keys(self):
        a, b = SigningKey("EdDSA", kid="a"), SigningKey("EdDSA", kid="b")
        s = self.jwks_server()
        s.serve_jwks(jwks_json([a]))
        iss = s.origin()
        self.gateway([provider("usso", iss, s.url(), refresh_interval_s=1, fetch_timeout_ms=300,
                               unknown_kid_wait_ms=500)])
        token = mint(a, usso_claims(iss))
        s.serve_jwks(jwks_json([b]), delay_ms=2000)
        time.sleep(2.5)
        self.assert_status(self.get(token), 200)
        # b is only in the slow answer, which never arrives in time.
        t0 = time.monotonic()
        self.assert_status(self.get(mint(b, usso_claims(iss))), 401, "unknown_kid")
        self.assertLess(time.monotonic() - t0, 1.5, "an unknown kid waited longer than unknown_kid_wait_ms")


class TokenCacheTest(KeysTestCase):
    def test_cached_token_still_expires(self):
        a = SigningKey("EdDSA", kid="a")
        s = self.jwks_server()
        s.serve_jwks(jwks_json([a]))
        iss = s.origin()
        self.gateway([provider("usso", iss, s.url(), leeway_s=0)])
        now = int(time.time())
        token = mint(a, usso_claims(iss), now=now, ttl_s=2)
        self.assert_status(self.get(token), 200)
        self.assert_status(self.get(token), 200)  # now from the cache
        time.sleep(max(0.0, now + 2.2 - time.time()))
        self.assert_status(self.get(token), 401, "expired")

    def test_cached_token_not_yet_valid_then_valid(self):
        a = SigningKey("EdDSA", kid="a")
        s = self.jwks_server()
        s.serve_jwks(jwks_json([a]))
        iss = s.origin()
        self.gateway([provider("usso", iss, s.url(), leeway_s=0)])
        now = int(time.time())
        token = mint(a, usso_claims(iss, nbf=now + 2), now=now)
        self.assert_status(self.get(token), 401, "not_yet_valid")
        time.sleep(max(0.0, now + 2.2 - time.time()))
        self.assert_status(self.get(token), 200)


class HttpsTest(KeysTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pki = make_test_pki(cls.tmp)

    def test_https_with_test_ca(self):
        a = SigningKey("ES256", kid="a")
        s = self.jwks_server(tls=(self.pki["cert"], self.pki["key"]))
        s.serve_jwks(jwks_json([a]))
        iss_ip, iss_name = "https://127.0.0.1:%d" % s.port, "https://localhost:%d" % s.port
        self.gateway([provider("by-ip", iss_ip, s.url(), ca_file=self.pki["ca"]),
                      provider("by-name", iss_name, s.url(host="localhost"), ca_file=self.pki["ca"])])
        self.assert_status(self.get(mint(a, usso_claims(iss_ip))), 200)
        self.assert_status(self.get(mint(a, usso_claims(iss_name))), 200)

    def test_https_wrong_host_name_refused(self):
        a = SigningKey("ES256", kid="a")
        s = self.jwks_server(tls=(self.pki["wrong_cert"], self.pki["wrong_key"]))
        s.serve_jwks(jwks_json([a]))
        iss = "https://127.0.0.1:%d" % s.port
        self.gateway([provider("usso", iss, s.url(), ca_file=self.pki["ca"])], startup_timeout_ms=3000)
        r = self.get(mint(a, usso_claims(iss)))
        self.assertEqual(r.status, 503, r.body)
        self.assertEqual(s.stats()["fetches"], 0, "a JWKS request was sent over an unverified connection")
        self.assertEqual(request(self.port, path="/public/x").status, 200)

    def test_https_untrusted_ca_refused(self):
        # The right host name, but the test CA is not given: the system store does not trust it.
        a = SigningKey("ES256", kid="a")
        s = self.jwks_server(tls=(self.pki["cert"], self.pki["key"]))
        s.serve_jwks(jwks_json([a]))
        iss = "https://127.0.0.1:%d" % s.port
        self.gateway([provider("usso", iss, s.url())], startup_timeout_ms=3000)
        self.assertEqual(self.get(mint(a, usso_claims(iss))).status, 503)
        self.assertEqual(s.stats()["fetches"], 0)


class ProvidersTest(KeysTestCase):
    def test_several_providers_side_by_side(self):
        a, b = SigningKey("EdDSA", kid="shared-kid"), SigningKey("ES256", kid="shared-kid")
        c = SigningKey("RS256", kid="c")
        s = self.jwks_server()
        s.serve_jwks(jwks_json([a]), path="/a/jwks.json")
        s.serve_jwks(jwks_json([b, c]), path="/b/jwks.json")
        iss_a, iss_b = s.origin() + "/a", s.origin() + "/b"
        self.gateway([provider("a", iss_a, s.url("/a/jwks.json")), provider("b", iss_b, s.url("/b/jwks.json"))])
        for key, iss in ((a, iss_a), (b, iss_b), (c, iss_b)):
            r = self.get(mint(key, usso_claims(iss, sub="%s-user" % key.alg)), path="/echo/me")
            self.assert_status(r, 200)
            self.assertEqual(sent_headers(r).get("x-user-id"), "%s-user" % key.alg)
        # Provider a's iss, signed with provider b's key under the same kid: a's key checks it.
        self.assert_status(self.get(mint(b, usso_claims(iss_a), header={"alg": "EdDSA"})), 401, "bad_signature")
        forged = mint(b, usso_claims(iss_a))  # ES256 with kid shared-kid: a's key is Ed25519
        r = self.get(forged)
        self.assert_status(r, 401)
        self.assertIn(challenge_params(r)["error_description"], ("bad_signature", "alg_key_mismatch", "unknown_kid"))
        # Provider a's iss, provider b's kid c.
        r = self.get(mint(c, usso_claims(iss_a)))
        self.assert_status(r, 401)
        self.assertIn(challenge_params(r)["error_description"], ("unknown_kid", "bad_signature"))
        # Nobody's iss.
        self.assert_status(self.get(mint(a, usso_claims(s.origin() + "/c"))), 401, "unknown_issuer")

    def test_jwks_file_and_hmac_secret_file(self):
        a = SigningKey("EdDSA", kid="file-a")
        h = SigningKey("HS256", kid="ignored", secret=b64u(os.urandom(32)).encode())
        jwks_path = os.path.join(self.tmp, "file-jwks.json")
        with open(jwks_path, "w") as f:
            f.write(jwks_json([a]))
        secret_path = os.path.join(self.tmp, "hmac.secret")
        with open(secret_path, "wb") as f:
            f.write(h.secret + b"\n")  # the loader drops one trailing newline
        file_p = provider("file", "https://file.issuer", jwks_file=jwks_path)
        hmac_p = provider("hmac", "https://hmac.issuer", hmac_secret_file=secret_path, algorithms=["HS256"])
        self.gateway([file_p, hmac_p])
        self.assert_status(self.get(mint(a, usso_claims("https://file.issuer"))), 200)
        self.assert_status(self.get(mint(h, usso_claims("https://hmac.issuer"), header={"kid": None})), 200)
        # An HS256 token under the file provider (its key set has no oct key): refused.
        r = self.get(mint(h, usso_claims("https://file.issuer"), header={"kid": None}))
        self.assert_status(r, 401)
        # An opaque (non-JWT) bearer token: refused, and never logged or echoed.
        self.assert_status(self.get(opaque_token()), 401)
        # Rotation of the file: the new key is picked up without a restart.
        b = SigningKey("ES256", kid="file-b")
        with open(jwks_path + ".new", "w") as f:
            f.write(jwks_json([a, b]))
        os.replace(jwks_path + ".new", jwks_path)
        token_b = mint(b, usso_claims("https://file.issuer"))
        self.assertTrue(poll(lambda: self.get(token_b).status == 200, 10), "rewritten jwks_file not reloaded")


class ToolsTest(KeysTestCase):
    """`claimgate keygen` and `claimgate mint` (the binary), checked by jwcrypto and by the gateway.
    What they make is remembered as a test secret (mint's signatures, keygen's private members),
    so every later gateway log, reply and CLI output of this process is scanned for it."""

    def run_tool(self, *args):
        # mint's stdout is the fresh token; everything else a tool prints is scanned.
        p = run_claimgate(args, secret_stdout=(args[0] == "mint"))
        self.assertEqual(p.returncode, 0, "claimgate %s: %s" % (" ".join(args), p.stderr))
        return p.stdout

    def keygen(self, out_dir, *args):
        printed = self.run_tool("keygen", *args, "--out-dir", out_dir)
        with open(os.path.join(out_dir, "private.jwk")) as f:
            self.assertGreaterEqual(remember_private_jwk(f.read()), 1, "private.jwk without a private member")
        assert_no_secret_in(printed, "claimgate keygen's output")  # again, now that its key is known
        return printed

    def mint_tool(self, *args):
        return remember_token(self.run_tool("mint", *args))

    def test_keygen_mint_verified_by_jwcrypto_and_gateway(self):
        for alg in ("EdDSA", "ES256"):
            with self.subTest(alg=alg):
                out_dir = os.path.join(self.tmp, "keygen-" + alg)
                printed = self.keygen(out_dir, "--alg", alg, "--kid", "kg-" + alg)
                self.assertIn(os.path.join(out_dir, "private.jwk"), printed)
                self.assertEqual(os.stat(os.path.join(out_dir, "private.jwk")).st_mode & 0o777, 0o600)
                with open(os.path.join(out_dir, "jwks.json")) as f:
                    jwks_text = f.read()
                assert_no_secret_in(jwks_text, "keygen's public jwks.json")
                jwk = json.loads(jwks_text)["keys"][0]
                self.assertEqual((jwk["kid"], jwk["alg"], jwk["use"]), ("kg-" + alg, alg, "sig"))
                self.assertNotIn("d", jwk)
                token = self.mint_tool("--key", os.path.join(out_dir, "private.jwk"), "--iss", "https://kg",
                                       "--sub", "user:alice123", "--aud", AUD, "--ttl-s", "600",
                                       "--roles", "admin,editor", "--scope", "read:users write:posts",
                                       "--claim", "tenant_id=t1",
                                       "--claim-json", 'permissions={"pma":{"role":"admin"}}')
                header = json.loads(b64u_decode(token.split(".")[0]))
                self.assertEqual(header, {"alg": alg, "typ": "JWT", "kid": "kg-" + alg})
                claims = verify_with_jwcrypto(token, jwks_text, issuer="https://kg", audience=AUD)
                self.assertEqual(claims["sub"], "user:alice123")
                self.assertEqual(claims["roles"], ["admin", "editor"])
                self.assertEqual(claims["scopes"], ["read:users", "write:posts"])
                self.assertEqual(claims["permissions"], {"pma": {"role": "admin"}})
                self.assertEqual(claims["exp"] - claims["iat"], 600)

    def test_keygen_jwks_served_as_jwks_file(self):
        out_dir = os.path.join(self.tmp, "keygen-file")
        self.keygen(out_dir)
        self.gateway([provider("kg", "https://kg", jwks_file=os.path.join(out_dir, "jwks.json"))])
        token = self.mint_tool("--key", os.path.join(out_dir, "private.jwk"), "--iss", "https://kg",
                               "--sub", "user:bob", "--aud", AUD, "--roles", "admin")
        r = self.get(token, path="/admin/echo")
        self.assert_status(r, 200)
        self.assertEqual(sent_headers(r).get("x-user-id"), "user:bob")
        expired = self.mint_tool("--key", os.path.join(out_dir, "private.jwk"), "--iss", "https://kg",
                                 "--aud", AUD, "--ttl-s", "-60")
        self.assert_status(self.get(expired), 401, "expired")

    def test_tool_errors_print_no_key_material(self):
        out_dir = os.path.join(self.tmp, "keygen-errors")
        self.keygen(out_dir, "--kid", "kg-err")
        private = os.path.join(out_dir, "private.jwk")
        # Refused invocations: each names the problem, none echoes the key (run_claimgate scans).
        for args in (["mint", "--key", private], ["mint", "--key", private, "--iss", "https://kg", "--claim-json", "x={"],
                     ["mint", "--key", os.path.join(out_dir, "jwks.json"), "--iss", "https://kg"],
                     ["keygen", "--alg", "HS256", "--out-dir", os.path.join(self.tmp, "keygen-hs")]):
            with self.subTest(args=args[:3]):
                p = run_claimgate(args)
                self.assertNotEqual(p.returncode, 0, p.stdout)
                self.assertTrue(p.stderr.strip(), "no message")

    def test_private_jwk_as_jwks_file_is_not_echoed(self):
        """The private.jwk (not a JWKS) or a JWKS holding private members, named as jwks_file: what
        --check-config, explain and the gateway (at debug level) print never holds the key."""
        out_dir = os.path.join(self.tmp, "keygen-misused")
        self.keygen(out_dir, "--alg", "ES256", "--kid", "kg-misused")
        private = os.path.join(out_dir, "private.jwk")
        with open(private) as f:
            private_jwk = json.load(f)
        private_jwks = os.path.join(self.tmp, "private-jwks.json")
        other = SigningKey("RS256", kid="rs-private")
        with open(private_jwks, "w") as f:
            f.write(json.dumps({"keys": [private_jwk, other.private_jwk()]}))
        token = self.mint_tool("--key", private, "--iss", "https://misused", "--aud", AUD, "--sub", "user:m")
        rs_token = mint(other, usso_claims("https://jwks-private"))
        for path in (private, private_jwks):
            config = os.path.join(self.tmp, "misused-%s.yaml" % os.path.basename(path))
            with open(config, "w") as f:
                f.write(auth_config(free_port(), free_port(), self.upstream.port,
                                    [provider("m", "https://misused", jwks_file=path)]))
            with self.subTest(path=os.path.basename(path)):
                self.assertEqual(run_claimgate(["--check-config", config]).returncode, 0)
                r = run_claimgate(["explain", "--config", config, "--path", "/me", "--token", token])
                self.assertEqual(r.returncode, 0, r.stderr)
                r = run_claimgate(["explain", "--config", config, "--path", "/me", "--token", token, "--json"])
                self.assertEqual(r.returncode, 0, r.stderr)
        # The gateway itself, on both files; its log is scanned when tearDown stops it.
        self.gateway([provider("m", "https://misused", jwks_file=private),
                      provider("p", "https://jwks-private", jwks_file=private_jwks)], startup_timeout_ms=3000)
        self.assertIn(self.get(token).status, (401, 503))
        self.assertIn(self.get(rs_token).status, (200, 401, 503))

    def test_short_hmac_secret_file_is_not_echoed(self):
        # Printable, 24 characters: under the 32 bytes HS256 needs, so refused; the refusal must not quote it.
        h = SigningKey("HS256", kid="short", secret=b"s3cret+With/Odd=chars!42")
        path = os.path.join(self.tmp, "short-hmac.secret")
        with open(path, "wb") as f:
            f.write(h.secret + b"\n")
        config = os.path.join(self.tmp, "short-hmac.yaml")
        p = provider("hs", "https://hs.issuer", hmac_secret_file=path, algorithms=["HS256"])
        with open(config, "w") as f:
            f.write(auth_config(free_port(), free_port(), self.upstream.port, [p]))
        token = mint(h, usso_claims("https://hs.issuer"), header={"kid": None})
        run_claimgate(["--check-config", config])
        r = run_claimgate(["explain", "--config", config, "--path", "/me", "--token", token])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.gateway([p], startup_timeout_ms=2000)
        self.assertEqual(self.get(token).status, 503)
        self.assertEqual(self.get(opaque_token()).status, 401)


if __name__ == "__main__":
    main()
