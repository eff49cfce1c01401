#!/usr/bin/python3
"""The suite-wide secret scan checks itself (beside test_hostile.SuiteWideSecretScanTest): what
tokens.py remembers (printable HMAC secrets, private JWK members, foreign tokens, cookie values and
opaque tokens), that non-base64url secrets are found too, that run_claimgate scans what the binary
prints, and that RawClient scans the headers, not the echo body, of the test upstream's replies."""
import base64
import os
import shutil
import socket
import tempfile
import threading
import unittest

from harness import RawClient, assert_no_secret_in, leaked_secrets, main, run_claimgate
from tokens import (MIN_SECRET_CHARS, SECRETS, SigningKey, b64u, mint, opaque_token, remember_private_jwk,
                    remember_token, secret_value)


class RememberedSecretsTest(unittest.TestCase):
    def test_printable_hmac_secret_is_remembered_as_is(self):
        # As test_keys writes a secret file: base64url text, not alphanumeric.
        key = SigningKey("HS256", secret=b64u(os.urandom(32)).encode())
        raw = key.secret.decode()
        self.assertIn(raw, SECRETS)
        self.assertEqual(leaked_secrets("hmac_secret_file holds %s\n" % raw), {raw})
        # Printable with characters outside base64url: found as a plain substring.
        odd = SigningKey("HS256", secret=b"pass phrase: " + b64u(os.urandom(12)).encode() + b"+/=!")
        text = odd.secret.decode()
        self.assertIn(text, SECRETS)
        self.assertEqual(leaked_secrets('{"error":"x","value":"%s"}' % text), {text})
        self.assertEqual(leaked_secrets(text[:-1]), set())

    def test_binary_hmac_secret_remembered_by_its_encodings(self):
        key = SigningKey("HS256", secret=b"\x00\x01" + os.urandom(30))
        self.assertNotIn(key.secret.decode("latin-1"), SECRETS)
        self.assertEqual(len(leaked_secrets(b64u(key.secret) + " " + key.secret.hex())), 2)

    def test_secret_value_and_opaque_token(self):
        cookie = secret_value("sess." + b64u(os.urandom(15)))
        token = opaque_token()
        self.assertEqual(leaked_secrets("Cookie: session=%s; a=1" % cookie), {cookie})
        self.assertEqual(leaked_secrets("Authorization: Bearer " + token), {token})
        basic = secret_value(base64.b64encode(b"alice:" + os.urandom(18)).decode())
        self.assertEqual(leaked_secrets("Authorization: Basic " + basic), {basic})
        short = secret_value("x" * (MIN_SECRET_CHARS - 1))
        self.assertNotIn(short, SECRETS)

    def test_private_jwk_members(self):
        for alg, members in (("EdDSA", {"d"}), ("ES256", {"d"}), ("RS256", {"d", "p", "q", "dp", "dq", "qi"})):
            with self.subTest(alg=alg):
                key = SigningKey(alg)
                jwk = key.private_jwk()
                self.assertEqual(set(jwk) & {"d", "p", "q", "dp", "dq", "qi", "k"}, members)
                for name in members:
                    self.assertEqual(leaked_secrets('"%s":"%s"' % (name, jwk[name])), {jwk[name]}, name)
                self.assertEqual(leaked_secrets(str(key.public_jwk())), set())
        # A private JWK made elsewhere (`claimgate keygen`): remembered when read.
        d, k = b64u(os.urandom(32)), b64u(os.urandom(32))
        self.assertEqual(remember_private_jwk('{"kty":"OKP","crv":"Ed25519","x":"abc","d":"%s"}' % d), 1)
        self.assertEqual(remember_private_jwk({"kty": "oct", "k": k}), 1)
        self.assertEqual(remember_private_jwk({"kty": "OKP", "x": "abc"}), 0)
        self.assertEqual(leaked_secrets("d=%s k=%s" % (d, k)), {d, k})

    def test_foreign_token_signature(self):
        token = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1In0." + b64u(os.urandom(64))
        self.assertEqual(remember_token(token + "\n"), token)
        self.assertEqual(leaked_secrets("token=" + token), {token.rsplit(".", 1)[1]})
        self.assertEqual(leaked_secrets(token.rsplit(".", 1)[0]), set())


class RunClaimgateTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="claimgate-scan-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_stderr_is_scanned(self):
        # The binary names the file it cannot open: a file named after a secret shows the scan works.
        secret = opaque_token()
        path = os.path.join(self.tmp, secret + ".yaml")
        with self.assertRaises(AssertionError) as caught:
            run_claimgate(["--check-config", path])
        self.assertIn(secret[:6] + "...", str(caught.exception))
        self.assertNotIn(secret[:16], str(caught.exception))
        r = run_claimgate(["--check-config", os.path.join(self.tmp, "nothing-secret.yaml")])
        self.assertEqual(r.returncode, 1)

    def test_stdout_is_scanned_unless_it_is_the_product(self):
        secret = opaque_token()
        out_dir = os.path.join(self.tmp, secret)
        with self.assertRaises(AssertionError):
            run_claimgate(["keygen", "--out-dir", out_dir])  # prints the directory on stdout
        r = run_claimgate(["keygen", "--out-dir", out_dir + "-2"], secret_stdout=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(out_dir + "-2", "private.jwk")) as f:
            self.assertEqual(remember_private_jwk(f.read()), 1)
        token = run_claimgate(["mint", "--key", os.path.join(out_dir + "-2", "private.jwk"), "--iss", "https://i"],
                              secret_stdout=True).stdout
        remember_token(token)
        self.assertEqual(len(leaked_secrets(token)), 1)


class ReplyScanTest(unittest.TestCase):
    """RawClient.read_response on canned replies from a loopback socket."""

    def reply(self, raw):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)

        def serve():
            conn, _ = srv.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(raw)
        t = threading.Thread(target=serve)
        t.start()
        c = RawClient(srv.getsockname()[1])
        try:
            c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            return c.read_response()
        finally:
            c.close()
            t.join()
            srv.close()

    def test_upstream_echo_body_exempt_headers_scanned(self):
        token = mint(SigningKey("EdDSA"), {"sub": "u"})
        body = ('{"headers":[["Authorization","Bearer %s"]]}' % token).encode()
        ok = self.reply(b"HTTP/1.1 200 X\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        self.assertEqual(ok.status, 200)
        with self.assertRaises(AssertionError) as caught:
            self.reply(b"HTTP/1.1 200 X\r\nX-Echo: %s\r\nContent-Length: 2\r\n\r\n{}" % token.encode())
        self.assertIn("headers", str(caught.exception))
        with self.assertRaises(AssertionError):
            self.reply(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

    def test_cookie_value_in_a_local_reply(self):
        cookie = secret_value("sid-" + b64u(os.urandom(18)))
        with self.assertRaises(AssertionError):
            self.reply(b"HTTP/1.1 400 Bad Request\r\nSet-Cookie: s=%s\r\nContent-Length: 0\r\n\r\n" % cookie.encode())
        assert_no_secret_in("a reply without it", "a sample")


if __name__ == "__main__":
    main()
