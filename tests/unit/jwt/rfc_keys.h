#pragma once
// Public keys published in RFC 7515 appendix A and RFC 8037 appendix A (base64url, as printed).
#include <string_view>

namespace claimgate::test {

// RFC 7515 A.2: RSA, 2048 bits, e = AQAB.
inline constexpr std::string_view kRfc7515RsaN =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-"
    "pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-"
    "UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_"
    "h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";

// RFC 7515 A.3: P-256.
inline constexpr std::string_view kRfc7515P256X = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
inline constexpr std::string_view kRfc7515P256Y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

// RFC 8037 A.2: Ed25519.
inline constexpr std::string_view kRfc8037Ed25519X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

}  // namespace claimgate::test
