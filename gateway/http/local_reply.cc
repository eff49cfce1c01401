#include "http/local_reply.h"

#include "core/log.h"

namespace claimgate::http {

std::string_view to_string(UpstreamError error) {
  switch (error) {
    case UpstreamError::Refused: return "upstream_refused";
    case UpstreamError::Reset: return "upstream_reset";
    case UpstreamError::Timeout: return "upstream_timeout";
    case UpstreamError::BadResponse: return "upstream_bad_response";
    case UpstreamError::Unavailable: return "upstream_unavailable";
    case UpstreamError::TlsFailed: return "upstream_tls_failed";
  }
  return "upstream_error";
}

std::string LocalReply::json_body() const {
  std::string body = "{\"error\":\"";
  log::append_json_escaped(body, error);
  body += "\",\"error_description\":\"";
  log::append_json_escaped(body, description);
  body += "\"}\n";
  return body;
}

LocalReply reply_for(RequestDefect defect) {
  const unsigned status = status_for(defect);
  std::string error = status == 501   ? "not_implemented"
                      : status == 505 ? "http_version_not_supported"
                      : status == 417 ? "expectation_failed"
                      : status == 431 ? "request_header_fields_too_large"
                                      : "bad_request";
  return LocalReply{status, std::move(error), std::string(describe(defect)), true, {}};
}

LocalReply reply_for(UpstreamError error) {
  switch (error) {
    case UpstreamError::Timeout:
      return LocalReply{504, "gateway_timeout", "The upstream did not answer in time.", false, {}};
    case UpstreamError::Refused:
      return LocalReply{502, "bad_gateway", "The upstream refused the connection.", false, {}};
    case UpstreamError::Reset:
      return LocalReply{502, "bad_gateway", "The upstream closed the connection before answering.", false, {}};
    case UpstreamError::BadResponse:
      return LocalReply{502, "bad_gateway", "The upstream sent an invalid response.", false, {}};
    case UpstreamError::Unavailable:
      return LocalReply{502, "bad_gateway", "The upstream could not be reached.", false, {}};
    case UpstreamError::TlsFailed:
      return LocalReply{502, "bad_gateway", "The TLS connection to the upstream failed.", false, {}};
  }
  return LocalReply{502, "bad_gateway", "Upstream error.", false, {}};
}

LocalReply reply_malformed_request(std::string_view detail) {
  return LocalReply{400, "bad_request", "Malformed request: " + std::string(detail) + ".", true, {}};
}

LocalReply reply_header_too_large() {
  return LocalReply{431, "request_header_fields_too_large", "The request header exceeds the configured limit.", true, {}};
}

LocalReply reply_body_too_large() {
  return LocalReply{413, "payload_too_large", "The request body exceeds the configured limit.", true, {}};
}

LocalReply reply_no_route() {
  return LocalReply{404, "not_found", "No route matches this request.", false, {}};
}

LocalReply reply_rejected_path(std::string_view description) {
  return LocalReply{400, "bad_request", std::string(description), false, {}};
}

LocalReply reply_service_unavailable(std::string_view description) {
  return LocalReply{503, "service_unavailable", std::string(description), false, {{"Retry-After", "1"}}};
}

LocalReply reply_forbidden(std::string_view description) {
  return LocalReply{403, "forbidden", std::string(description), false, {}};
}

LocalReply reply_allowed(std::vector<std::pair<std::string, std::string>> headers) {
  return LocalReply{200, "", "", false, std::move(headers)};
}

}  // namespace claimgate::http
