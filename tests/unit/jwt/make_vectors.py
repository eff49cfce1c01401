#!/usr/bin/python3
"""Generates the jwt/jwks unit-test fixtures into a directory: fresh keys, JWK Sets and tokens.

Nothing here is a committed secret: every run makes new keys. Tokens come from two independent
implementations (PyJWT and jwcrypto) for every algorithm; the negative tokens are assembled
byte by byte and signed with PyJWT's algorithm objects or the `cryptography` primitives, so
each one breaks exactly one rule.

Files written:
  keys.txt          <kid> <kty> <alg|-> <crv|-> <base64url component>...   (n e | x y | x | k)
  tokens.txt        now <unix time>, then <name> <expected> <options|-> <token>
                    expected is "ok" or a jwt::Error name; options are ';'-separated
                    algs=A,B leeway=N aud=a|b require_exp=0 max_lifetime=N require=path
                    max_bytes=N kids=a,b (key subset) (defaults: every asymmetric algorithm, audience claimgate-api)
  jwks_network.json the public keys as a fetched JWKS would carry them (no oct key)
  jwks_local.json   the same plus the HMAC key, as a local jwks_file
  jwks_mixed.json   one good key per kind among keys that must each be skipped; every kid
                    says whether it must be kept ("keep-...") or skipped ("skip-...")
  hmac_secret.txt   a 40-byte secret followed by a newline, for load_hmac_secret_file
  hmac_secret_token.txt  an HS256 token (no kid) signed with that secret

Usage: make_vectors.py OUTPUT_DIR
"""

import base64
import hashlib
import hmac
import json
import os
import sys

import jwt as pyjwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jwt as jwcrypto_jwt
from jwt.algorithms import get_default_algorithms

NOW = 1_700_000_000
ISSUER = "https://issuer.example"
AUDIENCE = "claimgate-api"
HMAC_ALGS = "algs=HS256,HS384,HS512"

PYJWT_ALGS = get_default_algorithms()
CURVE_ORDER = {
    "P-256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "P-384": int("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
                 "581A0DB248B0A77AECEC196ACCC52973", 16),
    "P-521": int("01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
                 "FA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409", 16),
}
CURVE_BYTES = {"P-256": 32, "P-384": 48, "P-521": 66}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_bytes(value: int, size: int = 0) -> bytes:
    return value.to_bytes(size or (value.bit_length() + 7) // 8, "big")


def compact(header: bytes, payload: bytes, signature: bytes) -> str:
    return f"{b64(header)}.{b64(payload)}.{b64(signature)}"


def to_json(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class Keys:
    def __init__(self):
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = {crv: ec.generate_private_key(curve) for crv, curve in
                   (("P-256", ec.SECP256R1()), ("P-384", ec.SECP384R1()), ("P-521", ec.SECP521R1()))}
        self.ed = ed25519.Ed25519PrivateKey.generate()
        self.hmac = os.urandom(64)
        self.evil_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.evil_ed = ed25519.Ed25519PrivateKey.generate()

    # kid -> (private key, public JWK dict)
    def signing_keys(self):
        out = {"rsa-1": (self.rsa, rsa_jwk(self.rsa.public_key(), "rsa-1")),
               "rsa-rs256": (self.rsa, rsa_jwk(self.rsa.public_key(), "rsa-rs256", alg="RS256")),
               "ed-1": (self.ed, ed_jwk(self.ed.public_key(), "ed-1")),
               "hmac-1": (self.hmac, {"kty": "oct", "kid": "hmac-1", "k": b64(self.hmac)})}
        for crv, key in self.ec.items():
            kid = "ec-" + crv.lower().replace("-", "")
            out[kid] = (key, ec_jwk(key.public_key(), kid, crv))
        return out


def rsa_jwk(public, kid, alg=None, use="sig"):
    numbers = public.public_numbers()
    jwk = {"kty": "RSA", "kid": kid, "n": b64(int_bytes(numbers.n)), "e": b64(int_bytes(numbers.e))}
    if use:
        jwk["use"] = use
    if alg:
        jwk["alg"] = alg
    return jwk


def ec_jwk(public, kid, crv):
    numbers = public.public_numbers()
    size = CURVE_BYTES[crv]
    return {"kty": "EC", "kid": kid, "crv": crv, "x": b64(int_bytes(numbers.x, size)),
            "y": b64(int_bytes(numbers.y, size))}


def ed_jwk(public, kid):
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64(raw)}


def raw_sign(alg: str, key, signing_input: bytes) -> bytes:
    """A JWS signature over arbitrary bytes (ECDSA as raw r||s)."""
    if alg.startswith("HS"):
        return hmac.new(key, signing_input, getattr(hashlib, "sha" + alg[2:])).digest()
    return PYJWT_ALGS[alg].sign(signing_input, key)


def signed(alg: str, key, header: dict | bytes, payload: dict | bytes) -> str:
    header_bytes = header if isinstance(header, bytes) else to_json(header)
    payload_bytes = payload if isinstance(payload, bytes) else to_json(payload)
    signing_input = f"{b64(header_bytes)}.{b64(payload_bytes)}".encode()
    return f"{signing_input.decode()}.{b64(raw_sign(alg, key, signing_input))}"


def claims(**changes):
    base = {"iss": ISSUER, "sub": "user-1", "aud": AUDIENCE, "iat": NOW - 60, "nbf": NOW - 60, "exp": NOW + 600,
            "permissions": {"pma": {"role": "admin"}}, "scope": "read write"}
    for name, value in changes.items():
        if value is None:
            base.pop(name, None)
        else:
            base[name] = value
    return base


def ecdsa_parts(token: str, crv: str):
    header, payload, signature = token.split(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    size = CURVE_BYTES[crv]
    return f"{header}.{payload}", int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big")


def with_rs(signing_input: str, r: int, s: int, crv: str) -> str:
    size = CURVE_BYTES[crv]
    return f"{signing_input}.{b64(int_bytes(r, size) + int_bytes(s, size))}"


def replace_segment(token: str, index: int, text: str) -> str:
    parts = token.split(".")
    parts[index] = text
    return ".".join(parts)


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    keys = Keys()
    signing = keys.signing_keys()
    rows = []

    def add(name, expected, token, options="-"):
        rows.append(f"{name} {expected} {options} {token}")

    # Every algorithm from both independent implementations.
    for alg, kid in [("RS256", "rsa-1"), ("RS384", "rsa-1"), ("RS512", "rsa-1"), ("PS256", "rsa-1"),
                     ("PS384", "rsa-1"), ("PS512", "rsa-1"), ("ES256", "ec-p256"), ("ES384", "ec-p384"),
                     ("ES512", "ec-p521"), ("EdDSA", "ed-1"), ("HS256", "hmac-1"), ("HS384", "hmac-1"),
                     ("HS512", "hmac-1")]:
        private, public = signing[kid]
        options = HMAC_ALGS if alg.startswith("HS") else "-"
        add(f"pyjwt-{alg}", "ok", pyjwt.encode(claims(), private, algorithm=alg, headers={"kid": kid}), options)
        if alg.startswith("HS"):
            jwcrypto_key = jwcrypto_jwk.JWK(kty="oct", k=b64(private))
        else:
            pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
            jwcrypto_key = jwcrypto_jwk.JWK.from_pem(pem)
        token = jwcrypto_jwt.JWT(header={"alg": alg, "kid": kid}, claims=claims())
        token.make_signed_token(jwcrypto_key)
        add(f"jwcrypto-{alg}", "ok", token.serialize(), options)

    rsa_key, ed_key, p256 = keys.rsa, keys.ed, keys.ec["P-256"]
    rs256 = lambda payload, header=None: signed("RS256", rsa_key, header or {"alg": "RS256", "kid": "rsa-1"}, payload)
    ed = lambda payload, header=None: signed("EdDSA", ed_key, header or {"alg": "EdDSA", "kid": "ed-1"}, payload)

    # Header and key selection.
    add("eddsa-no-kid-single-key", "ok", ed(claims(), {"alg": "EdDSA"}))
    add("rs256-no-kid-two-rsa-keys", "unknown_kid", rs256(claims(), {"alg": "RS256"}))
    add("unknown-kid", "unknown_kid", rs256(claims(), {"alg": "RS256", "kid": "rsa-2"}))
    add("kid-is-a-path", "unknown_kid", rs256(claims(), {"alg": "RS256", "kid": "../../etc/passwd"}))
    add("kid-not-string", "malformed", rs256(claims(), {"alg": "RS256", "kid": 7}))
    add("missing-alg", "missing_alg", rs256(claims(), {"kid": "rsa-1"}))
    add("alg-lowercase", "alg_not_allowed", rs256(claims(), {"alg": "rs256", "kid": "rsa-1"}))
    add("alg-unknown", "alg_not_allowed", rs256(claims(), {"alg": "RS1", "kid": "rsa-1"}))
    add("alg-not-in-allow-list", "alg_not_allowed", rs256(claims()), "algs=ES256,EdDSA")
    for spelling in ("none", "None", "NONE", "nOnE"):
        unsigned = f"{b64(to_json({'alg': spelling}))}.{b64(to_json(claims()))}."
        add(f"alg-{spelling}", "alg_none", unsigned)
        add(f"alg-{spelling}-allowing-hs", "alg_none", unsigned, HMAC_ALGS)
    add("alg-none-with-signature", "alg_none", replace_segment(rs256(claims()), 0, b64(b'{"alg":"none"}')))
    add("rs384-under-key-declared-rs256", "alg_key_mismatch",
        signed("RS384", rsa_key, {"alg": "RS384", "kid": "rsa-rs256"}, to_json(claims())))
    add("rs256-under-key-declared-rs256", "ok",
        signed("RS256", rsa_key, {"alg": "RS256", "kid": "rsa-rs256"}, to_json(claims())))
    header = b64(to_json({"alg": "ES384", "kid": "ec-p256"}))
    signing_input = f"{header}.{b64(to_json(claims()))}"
    r, s = decode_dss_signature(p256.sign(signing_input.encode(), ec.ECDSA(hashes.SHA384())))
    add("es384-with-p256-key", "alg_key_mismatch", with_rs(signing_input, r, s, "P-256"))
    add("eddsa-with-rsa-kid", "alg_key_mismatch", ed(claims(), {"alg": "EdDSA", "kid": "rsa-1"}))

    # Algorithm confusion: the RSA public key (PEM, DER, JWK n) used as an HMAC secret.
    public_pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    n_bytes = int_bytes(rsa_key.public_key().public_numbers().n)
    for label, secret in (("pem", public_pem), ("jwk-n-bytes", n_bytes), ("jwk-n-text", b64(n_bytes).encode())):
        token = signed("HS256", secret, {"alg": "HS256", "kid": "rsa-1"}, to_json(claims()))
        add(f"confusion-{label}", "alg_not_allowed", token)
        add(f"confusion-{label}-misconfigured", "alg_key_mismatch", token, "algs=HS256,RS256")
        add(f"confusion-{label}-no-kid", "alg_key_mismatch",
            signed("HS256", secret, {"alg": "HS256"}, to_json(claims())), "algs=HS256,RS256;kids=rsa-1")

    # crit: nothing is supported, so every critical extension is refused.
    for label, header in (("exp", {"alg": "RS256", "kid": "rsa-1", "crit": ["exp"], "exp": NOW}),
                          ("b64", {"alg": "RS256", "kid": "rsa-1", "b64": False, "crit": ["b64"]}),
                          ("private", {"alg": "RS256", "kid": "rsa-1", "crit": ["http://example.com/x"],
                                       "http://example.com/x": True}),
                          ("empty", {"alg": "RS256", "kid": "rsa-1", "crit": []})):
        add(f"crit-{label}", "unsupported_crit", rs256(claims(), header))

    # jku / x5u / jwk / x5c never select or fetch a key.
    evil_jwk = rsa_jwk(keys.evil_rsa.public_key(), "evil")
    add("jku-signed-by-us", "ok", rs256(claims(), {"alg": "RS256", "kid": "rsa-1", "jku": "https://evil.example/jwks",
                                                   "x5u": "https://evil.example/cert"}))
    add("jku-evil-kid", "unknown_kid",
        signed("RS256", keys.evil_rsa, {"alg": "RS256", "kid": "evil", "jku": "https://evil.example/jwks"},
               to_json(claims())))
    add("jku-our-kid-evil-key", "bad_signature",
        signed("RS256", keys.evil_rsa, {"alg": "RS256", "kid": "rsa-1", "jku": "https://evil.example/jwks"},
               to_json(claims())))
    add("jwk-embedded-evil-key", "bad_signature",
        signed("RS256", keys.evil_rsa, {"alg": "RS256", "kid": "rsa-1", "jwk": evil_jwk}, to_json(claims())))
    add("jwk-embedded-no-kid", "unknown_kid",
        signed("RS256", keys.evil_rsa, {"alg": "RS256", "jwk": evil_jwk}, to_json(claims())))
    add("eddsa-evil-key", "bad_signature",
        signed("EdDSA", keys.evil_ed, {"alg": "EdDSA", "kid": "ed-1"}, to_json(claims())))
    add("hs256-wrong-secret", "bad_signature",
        signed("HS256", os.urandom(64), {"alg": "HS256", "kid": "hmac-1"}, to_json(claims())), HMAC_ALGS)

    # ECDSA signature encodings.
    es256 = signed("ES256", p256, {"alg": "ES256", "kid": "ec-p256"}, to_json(claims()))
    signing_input, r, s = ecdsa_parts(es256, "P-256")
    n = CURVE_ORDER["P-256"]
    der = p256.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    add("es256-der-signature", "bad_signature", f"{signing_input}.{b64(der)}")
    add("es256-r-zero", "bad_signature", with_rs(signing_input, 0, s, "P-256"))
    add("es256-s-zero", "bad_signature", with_rs(signing_input, r, 0, "P-256"))
    add("es256-r-equals-n", "bad_signature", with_rs(signing_input, n, s, "P-256"))
    add("es256-s-equals-n", "bad_signature", with_rs(signing_input, r, n, "P-256"))
    add("es256-s-all-ones", "bad_signature", with_rs(signing_input, r, 2**256 - 1, "P-256"))
    add("es256-high-s", "ok", with_rs(signing_input, r, n - s, "P-256"))  # (r, n-s) is valid ECDSA
    add("es256-one-byte-short", "bad_signature", f"{signing_input}.{b64((int_bytes(r, 32) + int_bytes(s, 32))[:-1])}")
    es512 = signed("ES512", keys.ec["P-521"], {"alg": "ES512", "kid": "ec-p521"}, to_json(claims()))
    signing_input, r, s = ecdsa_parts(es512, "P-521")
    add("es512-r-equals-n", "bad_signature", with_rs(signing_input, CURVE_ORDER["P-521"], s, "P-521"))
    add("es512-high-s", "ok", with_rs(signing_input, r, CURVE_ORDER["P-521"] - s, "P-521"))

    # RSA: a signature one octet shorter than the modulus (leading zero dropped) is refused
    # although it is numerically the same; OpenSSL alone would accept it.
    for alg in ("RS256", "PS256"):
        for jti in range(100_000):
            token = signed(alg, rsa_key, {"alg": alg, "kid": "rsa-1"}, to_json(claims(jti=str(jti))))
            header, payload, signature = token.split(".")
            raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
            if raw[0] == 0:
                add(f"{alg.lower()}-leading-zero-full-length", "ok", token)
                add(f"{alg.lower()}-leading-zero-one-byte-short", "bad_signature", f"{header}.{payload}.{b64(raw[1:])}")
                break
    pss_max_salt = rsa_key.sign(f"{b64(to_json({'alg': 'PS256', 'kid': 'rsa-1'}))}.{b64(to_json(claims()))}".encode(),
                                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH),
                                hashes.SHA256())
    add("ps256-salt-not-hash-length", "bad_signature",
        f"{b64(to_json({'alg': 'PS256', 'kid': 'rsa-1'}))}.{b64(to_json(claims()))}.{b64(pss_max_salt)}")

    # Token shape and encoding.
    good = rs256(claims())
    header, payload, signature = good.split(".")
    add("two-segments", "malformed", f"{header}.{payload}")
    add("four-segments", "malformed", f"{good}.{signature}")
    add("empty-header", "malformed", f".{payload}.{signature}")
    add("empty-signature", "bad_signature", f"{header}.{payload}.")
    add("oversized", "token_too_large", rs256(claims(padding="x" * 16_384)))
    add("under-raised-limit", "ok", rs256(claims(padding="x" * 16_384)), "max_bytes=32768")
    add("header-padded", "bad_base64", f"{b64(to_json({'alg': 'RS256', 'kid': 'rsa-1', 'x': 'a'}))}=.{payload}.{signature}")
    plus_payload = b64(to_json(claims(note=">>>???"))).replace("-", "+").replace("_", "/")
    assert "+" in plus_payload or "/" in plus_payload
    add("payload-plus-slash", "bad_base64", f"{header}.{plus_payload}.{signature}")
    add("payload-whitespace", "bad_base64", f"{header}.{payload[:10]} {payload[10:]}.{signature}")
    add("payload-tab", "bad_base64", f"{header}.{payload[:10]}\t{payload[10:]}.{signature}")
    add("signature-padded", "bad_base64", f"{header}.{payload}.{signature}==")
    add("signature-plus", "bad_base64", f"{header}.{payload}.+{signature[1:]}")
    # 256 bytes take 342 characters, the last carrying 4 unused bits; setting one is non-canonical.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    noncanonical = alphabet[alphabet.index(signature[-1]) ^ 1]
    add("signature-noncanonical-bits", "bad_base64", f"{header}.{payload}.{signature[:-1]}{noncanonical}")

    # JSON.
    add("header-not-json", "bad_json", f"{b64(b'{alg:RS256}')}.{payload}.{signature}")
    add("payload-not-json", "bad_json", rs256(b"not json"))
    add("payload-array", "bad_json", rs256(b"[1,2]"))
    add("payload-bad-utf8", "bad_json", rs256(b'{"iss":"' + ISSUER.encode() + b'","x":"\xff\xfe"}'))
    add("header-duplicate-alg", "duplicate_member",
        rs256(to_json(claims()), b'{"alg":"RS256","kid":"rsa-1","alg":"RS256"}'))
    add("payload-duplicate-iss", "duplicate_member",
        rs256(b'{"iss":"https://evil.example","iss":"' + ISSUER.encode() + b'","exp":' + str(NOW + 600).encode() + b'}'))
    add("payload-duplicate-escaped", "duplicate_member",
        rs256(b'{"iss":"' + ISSUER.encode() + b'","\\u0069ss":"x","exp":' + str(NOW + 600).encode() + b'}'))
    add("payload-duplicate-nested", "duplicate_member",
        rs256(to_json(claims())[:-1] + b',"permissions2":{"a":1,"a":2}}'))

    def nested(depth):
        value = "leaf"
        for _ in range(depth - 1):  # the payload object itself is the first level
            value = {"d": value}
        return claims(deep=value)

    add("payload-depth-32", "ok", rs256(nested(32)))
    add("payload-depth-33", "json_too_deep", rs256(nested(33)))
    add("payload-depth-2000", "json_too_deep", rs256(b'{"a":' + b"[" * 2000 + b"]" * 2000 + b"}"))

    # Registered claims.
    add("exp-float", "ok", rs256(claims(exp=NOW + 0.5)))
    add("exp-string", "bad_exp", rs256(claims(exp=str(NOW + 600))))
    add("exp-array", "bad_exp", rs256(claims(exp=[NOW + 600])))
    add("nbf-string", "bad_nbf", rs256(claims(nbf=str(NOW - 60))))
    add("iat-bool", "bad_iat", rs256(claims(iat=True)))
    add("exp-missing", "missing_exp", rs256(claims(exp=None)))
    add("exp-missing-not-required", "ok", rs256(claims(exp=None)), "require_exp=0")
    add("exp-missing-with-max-lifetime", "missing_exp", rs256(claims(exp=None)), "require_exp=0;max_lifetime=3600")
    add("expired", "expired", rs256(claims(exp=NOW - 1)))
    add("expired-at-now", "expired", rs256(claims(exp=NOW)))
    add("expired-float", "expired", rs256(claims(exp=NOW - 0.5)))
    add("expired-within-leeway", "ok", rs256(claims(exp=NOW - 10)), "leeway=30")
    add("expired-beyond-leeway", "expired", rs256(claims(exp=NOW - 30)), "leeway=30")
    add("nbf-future", "not_yet_valid", rs256(claims(nbf=NOW + 1)))
    add("nbf-future-within-leeway", "ok", rs256(claims(nbf=NOW + 30)), "leeway=30")
    add("nbf-now", "ok", rs256(claims(nbf=NOW)))
    add("iat-future", "issued_in_future", rs256(claims(iat=NOW + 1)))
    add("iat-future-within-leeway", "ok", rs256(claims(iat=NOW + 30)), "leeway=30")
    add("lifetime-too-long", "lifetime_too_long", rs256(claims()), "max_lifetime=600")
    add("lifetime-exact", "ok", rs256(claims()), "max_lifetime=660")
    add("lifetime-no-iat-uses-now", "lifetime_too_long", rs256(claims(iat=None, exp=NOW + 601)), "max_lifetime=600")
    add("lifetime-no-iat-ok", "ok", rs256(claims(iat=None, exp=NOW + 600)), "max_lifetime=600")
    add("iss-missing", "missing_issuer", rs256(claims(iss=None)))
    add("iss-wrong", "wrong_issuer", rs256(claims(iss="https://evil.example")))
    add("iss-number", "wrong_issuer", rs256(claims(iss=7)))
    add("iss-case", "wrong_issuer", rs256(claims(iss=ISSUER.upper())))
    add("sub-number", "bad_subject", rs256(claims(sub=42)))
    add("aud-array", "ok", rs256(claims(aud=["other", AUDIENCE])))
    add("aud-wrong", "wrong_audience", rs256(claims(aud="other")))
    add("aud-wrong-array", "wrong_audience", rs256(claims(aud=["other", "another"])))
    add("aud-array-non-string", "wrong_audience", rs256(claims(aud=[AUDIENCE, 7])))
    add("aud-missing", "wrong_audience", rs256(claims(aud=None)))
    add("aud-second-configured", "ok", rs256(claims(aud="other")), "aud=claimgate-api|other")
    add("aud-not-configured", "ok", rs256(claims(aud="anything")), "aud=")
    add("required-present", "ok", rs256(claims()), "require=permissions.pma.role")
    add("required-missing", "missing_required_claim", rs256(claims()), "require=permissions.pma.team")
    add("required-null", "missing_required_claim", rs256(dict(claims(), tenant=None)), "require=tenant")

    with open(os.path.join(out_dir, "tokens.txt"), "w") as f:
        f.write(f"now {NOW}\n")
        f.write("\n".join(rows) + "\n")

    with open(os.path.join(out_dir, "keys.txt"), "w") as f:
        for kid, (_, jwk) in signing.items():
            parts = {"RSA": ("n", "e"), "EC": ("x", "y"), "OKP": ("x",), "oct": ("k",)}[jwk["kty"]]
            f.write(" ".join([kid, jwk["kty"], jwk.get("alg", "-"), jwk.get("crv", "-")] + [jwk[p] for p in parts]))
            f.write("\n")

    public_jwks = [jwk for _, jwk in signing.values() if jwk["kty"] != "oct"]
    write_json(out_dir, "jwks_network.json", {"keys": public_jwks})
    write_json(out_dir, "jwks_local.json", {"keys": public_jwks + [signing["hmac-1"][1]]})
    write_json(out_dir, "jwks_mixed.json", {"keys": mixed_jwks(keys)})
    secret = os.urandom(20).hex().encode()  # 40 bytes of text, as a generated secret file holds
    with open(os.path.join(out_dir, "hmac_secret.txt"), "wb") as f:
        f.write(secret + b"\n")
    with open(os.path.join(out_dir, "hmac_secret_token.txt"), "w") as f:
        f.write(pyjwt.encode(claims(), secret, algorithm="HS256") + "\n")


def mixed_jwks(keys):
    """Good keys ("keep-...") among keys that each break one JWKS rule ("skip-...")."""
    rsa_public = keys.rsa.public_key()
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    p256 = ec_jwk(keys.ec["P-256"].public_key(), "keep-ec", "P-256")
    off_curve = dict(p256, kid="skip-off-curve")
    y = bytearray(base64.urlsafe_b64decode(p256["y"] + "="))
    y[-1] ^= 1
    off_curve["y"] = b64(bytes(y))
    short_x = dict(p256, kid="skip-short-x", x=b64(base64.urlsafe_b64decode(p256["x"] + "=")[1:]))
    rsa_good = rsa_jwk(rsa_public, "keep-rsa")
    leading_zero = dict(rsa_good, kid="skip-rsa-leading-zero",
                        n=b64(b"\0" + base64.urlsafe_b64decode(rsa_good["n"] + "==")))
    ed448_x = ed448.Ed448PrivateKey.generate().public_key().public_bytes(serialization.Encoding.Raw,
                                                                       serialization.PublicFormat.Raw)
    ed_good = ed_jwk(keys.ed.public_key(), "keep-ed")
    return [
        rsa_good,
        rsa_jwk(rsa_public, "keep-rsa-without-use", use=None),
        rsa_jwk(rsa_public, "keep-rsa-key-ops") | {"key_ops": ["verify"]},
        p256,
        ed_good,
        rsa_jwk(rsa_public, "skip-use-enc", use="enc"),
        rsa_jwk(rsa_public, "skip-key-ops-sign", use=None) | {"key_ops": ["sign"]},
        rsa_jwk(small, "skip-rsa-1024"),
        leading_zero,
        {k: v for k, v in rsa_jwk(rsa_public, "skip-rsa-no-n").items() if k != "n"},
        rsa_jwk(rsa_public, "skip-rsa-n-number") | {"n": 12345},
        rsa_jwk(rsa_public, "skip-rsa-n-padded") | {"n": rsa_good["n"] + "="},
        rsa_jwk(rsa_public, "skip-rsa-alg-es256", alg="ES256"),
        rsa_jwk(rsa_public, "skip-rsa-alg-none", alg="none"),
        off_curve,
        short_x,
        dict(p256, kid="skip-ec-secp256k1", crv="secp256k1"),
        {"kty": "OKP", "kid": "skip-ed448", "crv": "Ed448", "x": b64(ed448_x)},
        dict(ed_good, kid="skip-ed-short", x=b64(base64.urlsafe_b64decode(ed_good["x"] + "=")[:31])),
        {"kty": "oct", "kid": "skip-oct-from-network", "k": b64(os.urandom(32))},
        {"kty": "XYZ", "kid": "skip-kty-unknown"},
        {"kid": "skip-no-kty", "n": rsa_good["n"], "e": "AQAB"},
        "skip-not-an-object",
    ]


def write_json(out_dir, name, value):
    with open(os.path.join(out_dir, name), "w") as f:
        json.dump(value, f, indent=1)


if __name__ == "__main__":
    main()
