#!/usr/bin/python3
"""Regenerates tests/fuzz/keys/jwks.json and the signed seeds of tests/fuzz/corpus/jwt/.

The fuzz key set is public keys only: fresh EdDSA, ES256 and RS256 key pairs and an HS256 secret
are made here (python3-cryptography, via tests/integration/tokens.py), the seeds are signed with
them, and the private halves are thrown away. The HS256 secret is in the JWKS as a "oct" key
(fuzz_jwt loads the set as a local file, where symmetric keys are allowed); it protects nothing.
Run it again whenever the claim checks change shape; the fuzzer only needs the seeds to verify.

    /usr/bin/python3 tests/fuzz/make_corpus.py
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from tokens import SigningKey, b64u, jwks_json, mint  # noqa: E402

ISSUER = "https://issuer.fuzz.example"
AUDIENCE = "fuzz-api"
NOW = 1700000000  # fuzz_jwt.cc kNow


def main():
    keys = [SigningKey("EdDSA", kid="ed"), SigningKey("ES256", kid="es"), SigningKey("RS256", kid="rs"),
            SigningKey("HS256", kid="hs")]
    os.makedirs(os.path.join(HERE, "keys"), exist_ok=True)
    with open(os.path.join(HERE, "keys", "jwks.json"), "w") as f:
        f.write(json.dumps(json.loads(jwks_json(keys)), indent=1) + "\n")

    out = os.path.join(HERE, "corpus", "jwt")
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        os.remove(os.path.join(out, name))
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user:alice", "tenant_id": "t-1",
            "roles": ["editor", "viewer"], "scope": "read:a write:b", "permissions": {"pma": {"role": "admin"}}}
    seeds = {}
    for k in keys:
        seeds["valid_" + k.alg] = mint(k, base, now=NOW)
    ed = keys[0]
    seeds["aud_array"] = mint(ed, dict(base, aud=["x", AUDIENCE]), now=NOW)
    seeds["no_kid"] = mint(ed, base, header={"kid": None}, now=NOW)
    seeds["expired"] = mint(ed, base, now=NOW - 7200)
    seeds["nbf_future"] = mint(ed, dict(base, nbf=NOW + 600), now=NOW)
    seeds["wrong_iss"] = mint(ed, dict(base, iss="https://other"), now=NOW)
    seeds["wrong_aud"] = mint(ed, dict(base, aud="other"), now=NOW)
    seeds["no_exp"] = mint(ed, base, now=NOW, drop=("exp",))
    seeds["float_times"] = mint(ed, dict(base, exp=NOW + 60.5, iat=NOW - 0.5), now=NOW)
    seeds["crit"] = mint(ed, base, header={"crit": ["exp"]}, now=NOW)
    seeds["alg_none"] = b64u('{"alg":"none","typ":"JWT"}') + "." + mint(ed, base, now=NOW).split(".")[1] + "."
    seeds["dup_member"] = mint(ed, '{"iss":"%s","iss":"%s","exp":%d}' % (ISSUER, ISSUER, NOW + 60), now=NOW)
    seeds["unicode"] = mint(ed, dict(base, sub="\u00e9\U0001F600\\\"", nested={"a": [1, 2.5e3, None, True]}), now=NOW)
    seeds["alg_key_mismatch"] = mint(keys[1], base, header={"kid": "ed"}, now=NOW)
    for name, token in seeds.items():
        with open(os.path.join(out, name), "w") as f:
            f.write(token)


if __name__ == "__main__":
    main()
