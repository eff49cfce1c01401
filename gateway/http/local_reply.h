#pragma once
// The one table of answers the gateway makes itself: outcome -> status, JSON body, headers.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/request_head.h"

namespace claimgate::http {

enum class UpstreamError { Refused, Reset, Timeout, BadResponse, Unavailable, TlsFailed };

std::string_view to_string(UpstreamError error);

struct LocalReply {
  unsigned status = 500;
  std::string error;        // stable snake_case name, the JSON "error"
  std::string description;  // the JSON "error_description"
  bool close_connection = false;
  std::vector<std::pair<std::string, std::string>> headers;

  std::string json_body() const;
};

LocalReply reply_for(RequestDefect defect);
LocalReply reply_for(UpstreamError error);
LocalReply reply_malformed_request(std::string_view detail);  // Beast's parser refused the bytes
LocalReply reply_header_too_large();
LocalReply reply_body_too_large();
LocalReply reply_no_route();
// A well-framed request whose path normalisation refused (the connection stays open).
LocalReply reply_rejected_path(std::string_view description);
LocalReply reply_service_unavailable(std::string_view description);
LocalReply reply_forbidden(std::string_view description);
// Forward-auth: the request may pass; `headers` go back to the calling gateway.
LocalReply reply_allowed(std::vector<std::pair<std::string, std::string>> headers);

}  // namespace claimgate::http
