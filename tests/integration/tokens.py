"""Test keys, JWKS documents and tokens, made by independent implementations (python3-cryptography
for the keys and signatures, python3-jwcrypto to check what `claimgate mint` signs).

    key = SigningKey("EdDSA", kid="a1")           # also ES256, RS256, HS256
    jwks_json([key.public_jwk()])                 # {"keys": [...]}
    mint(key, {"iss": ..., "sub": ...})           # compact JWS; iat/exp added unless given
    mint(key, claims, header={"kid": "other"})    # any header member overridden or added
"""
import base64
import json
import os
import re
import threading
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
import hmac as _hmac
import hashlib


def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# Every token signature and private-key encoding this test process creates. The harness scans each
# gateway's log, each reply the gateway makes itself and `explain`'s output for them
# (harness.assert_no_secret_in): no test needs to remember to.
SECRETS = set()
MIN_SECRET_CHARS = 16
# The scan's index, kept as secrets arrive (a soak mints hundreds of thousands): base64url secrets
# by their first MIN_SECRET_CHARS characters, and the few others (printable HMAC secrets, cookie
# values) in a list searched as plain substrings.
SECRETS_BY_PREFIX = {}
OTHER_SECRETS = []
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_secrets_lock = threading.Lock()


def remember_secret(text):
    """Adds `text` (str, or ASCII bytes) to SECRETS; shorter than MIN_SECRET_CHARS is ignored."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    if len(text) < MIN_SECRET_CHARS:
        return
    with _secrets_lock:
        if text in SECRETS:
            return
        SECRETS.add(text)
        if _BASE64URL.fullmatch(text):
            SECRETS_BY_PREFIX.setdefault(text[:MIN_SECRET_CHARS], []).append(text)
        else:
            OTHER_SECRETS.append(text)


def secret_value(text):
    """Remembers a non-JWT secret a test sends (a cookie value, an opaque token, a Basic
    credential) and returns it unchanged: `cookie = secret_value("s=" + b64u(os.urandom(18)))`."""
    remember_secret(text)
    return text


def opaque_token(nbytes=24):
    """A random opaque (non-JWT) bearer token, remembered as a secret."""
    return secret_value(b64u(os.urandom(nbytes)))


# The private members of a JWK (RFC 7518 section 6): EC/OKP "d", RSA "d", "p", "q", "dp", "dq", "qi", oct "k".
PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")


def remember_private_jwk(jwk):
    """Remembers every private member of `jwk` (a dict or JSON text), e.g. of `claimgate keygen`'s
    private.jwk. Returns how many members it found."""
    if isinstance(jwk, (str, bytes)):
        jwk = json.loads(jwk)
    found = 0
    for name in PRIVATE_JWK_MEMBERS:
        value = jwk.get(name)
        if isinstance(value, str):
            remember_secret(value)
            found += 1
    return found


def remember_token(token):
    """Remembers the signature of a compact JWS made elsewhere (e.g. by `claimgate mint`); returns the token."""
    token = token.strip()
    remember_secret(token.rsplit(".", 1)[-1])
    return token


def _printable_ascii(data):
    return all(0x20 <= b < 0x7f for b in data)


def _int_bytes(n, size=None):
    size = size or (n.bit_length() + 7) // 8
    return n.to_bytes(size, "big")


class SigningKey:
    """A key pair (or HMAC secret) with its JWK and a signer for compact JWS."""

    def __init__(self, alg="EdDSA", kid=None, secret=None):
        self.alg = alg
        self.kid = kid if kid is not None else b64u(os.urandom(6))
        if alg == "EdDSA":
            self.private = ed25519.Ed25519PrivateKey.generate()
        elif alg == "ES256":
            self.private = ec.generate_private_key(ec.SECP256R1())
        elif alg == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif alg == "HS256":
            self.private = None
            self.secret = secret if secret is not None else os.urandom(32)
        else:
            raise ValueError("unsupported alg " + alg)
        self._remember_private_parts()

    def _remember_private_parts(self):
        if self.alg == "HS256":
            remember_secret(b64u(self.secret))
            remember_secret(self.secret.hex())
            if _printable_ascii(self.secret):  # e.g. b64u(os.urandom(32)).encode(), as a secret file holds it
                remember_secret(self.secret.decode("ascii"))
        elif self.alg == "EdDSA":
            remember_secret(b64u(self.private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                            serialization.NoEncryption())))
        elif self.alg == "ES256":
            remember_secret(b64u(_int_bytes(self.private.private_numbers().private_value, 32)))
        else:
            numbers = self.private.private_numbers()
            for part in (numbers.d, numbers.p, numbers.q, numbers.dmp1, numbers.dmq1, numbers.iqmp):
                remember_secret(b64u(_int_bytes(part)))

    def public_jwk(self, with_alg=True, use="sig"):
        if self.alg == "EdDSA":
            raw = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64u(raw)}
        elif self.alg == "ES256":
            nums = self.private.public_key().public_numbers()
            jwk = {"kty": "EC", "crv": "P-256", "x": b64u(_int_bytes(nums.x, 32)), "y": b64u(_int_bytes(nums.y, 32))}
        elif self.alg == "RS256":
            nums = self.private.public_key().public_numbers()
            jwk = {"kty": "RSA", "n": b64u(_int_bytes(nums.n)), "e": b64u(_int_bytes(nums.e))}
        else:
            jwk = {"kty": "oct", "k": b64u(self.secret)}
        jwk["kid"] = self.kid
        if with_alg:
            jwk["alg"] = self.alg
        if use:
            jwk["use"] = use
        return jwk

    def private_jwk(self):
        """public_jwk() plus the private members (RFC 7518 section 6): what must never be published."""
        jwk = self.public_jwk()
        if self.alg == "EdDSA":
            jwk["d"] = b64u(self.private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                       serialization.NoEncryption()))
        elif self.alg == "ES256":
            jwk["d"] = b64u(_int_bytes(self.private.private_numbers().private_value, 32))
        elif self.alg == "RS256":
            n = self.private.private_numbers()
            for name, part in (("d", n.d), ("p", n.p), ("q", n.q), ("dp", n.dmp1), ("dq", n.dmq1), ("qi", n.iqmp)):
                jwk[name] = b64u(_int_bytes(part))
        remember_private_jwk(jwk)
        return jwk

    def sign(self, signing_input):
        data = signing_input.encode("ascii")
        if self.alg == "EdDSA":
            return self.private.sign(data)
        if self.alg == "ES256":
            r, s = decode_dss_signature(self.private.sign(data, ec.ECDSA(hashes.SHA256())))
            return _int_bytes(r, 32) + _int_bytes(s, 32)
        if self.alg == "RS256":
            return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return _hmac.new(self.secret, data, hashlib.sha256).digest()


def jwks_json(jwks):
    """`jwks` is a list of public JWK dicts (or SigningKeys)."""
    keys = [k.public_jwk() if isinstance(k, SigningKey) else k for k in jwks]
    return json.dumps({"keys": keys})


def mint(key, claims, header=None, ttl_s=3600, now=None, drop=()):
    """A compact JWS over `claims` (a dict, or raw payload text). iat and exp are added to a dict
    unless present or listed in `drop`. `header` members replace the defaults {alg, typ, kid}
    (a value None removes the member)."""
    now = int(time.time()) if now is None else now
    if isinstance(claims, dict):
        claims = dict(claims)
        if "iat" not in claims and "iat" not in drop:
            claims["iat"] = now
        if "exp" not in claims and "exp" not in drop:
            claims["exp"] = now + ttl_s
        payload = json.dumps(claims, separators=(",", ":"))
    else:
        payload = claims
    h = {"alg": key.alg, "typ": "JWT", "kid": key.kid}
    for name, value in (header or {}).items():
        if value is None:
            h.pop(name, None)
        else:
            h[name] = value
    signing_input = b64u(json.dumps(h, separators=(",", ":"))) + "." + b64u(payload)
    signature = b64u(key.sign(signing_input))
    remember_secret(signature)
    return signing_input + "." + signature


def verify_with_jwcrypto(token, jwks_text, issuer=None, audience=None):
    """Verifies `token` with python3-jwcrypto against a JWKS document; returns the claims dict.
    Raises on any failure."""
    from jwcrypto import jwk, jwt
    keyset = jwk.JWKSet.from_json(jwks_text)
    check = {}
    if issuer is not None:
        check["iss"] = issuer
    if audience is not None:
        check["aud"] = audience
    t = jwt.JWT(jwt=token, key=keyset, check_claims=check or None,
                algs=["EdDSA", "ES256", "RS256"])
    return json.loads(t.claims)


def usso_claims(issuer, audience="your-app", **extra):
    """A USSO-style identity: subject, tenant, workspace, roles and scopes."""
    claims = {
        "iss": issuer, "aud": audience, "sub": "user:alice123", "tenant_id": "tenant-42",
        "workspace_id": "ws-7", "roles": ["editor"], "scopes": ["read:users", "write:posts"],
    }
    claims.update(extra)
    return claims
