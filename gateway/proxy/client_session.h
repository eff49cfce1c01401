#pragma once
// One client connection: reads requests in order, checks their framing, picks a route, relays
// the request to the upstream and the response back, streaming bodies through a fixed buffer.
#include <boost/beast/core.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "auth/decision.h"
#include "http/local_reply.h"
#include "http/request_head.h"
#include "proxy/runtime_config.h"
#include "proxy/upstream_pool.h"

namespace claimgate::proxy {

class Worker;

class ClientSession : public std::enable_shared_from_this<ClientSession> {
 public:
  ClientSession(Worker& worker, boost::asio::ip::tcp::socket socket);
  ~ClientSession();

  void run();
  // Drain: a connection waiting for its next request is closed now; others finish their request.
  void on_drain();

 private:
  using error_code = boost::system::error_code;
  using BodyRequestParser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;
  using BodyResponseParser = boost::beast::http::response_parser<boost::beast::http::buffer_body>;

  static constexpr std::size_t kBodyChunkBytes = 64 * 1024;

  // request head
  void do_read_head();
  void on_read_head(error_code ec, std::size_t bytes);
  void on_head(std::size_t head_bytes);
  // upstream connection
  void acquire_upstream(bool allow_pooled);
  void on_resolved(error_code ec, boost::asio::ip::tcp::resolver::results_type results);
  void on_connected(error_code ec);
  // request relay
  void do_write_request_header();
  void do_relay_request_body();
  void on_request_body_read(error_code ec, std::size_t);
  void on_request_body_written(error_code ec, std::size_t);
  // response relay
  void do_read_response_header();
  void on_response_header(error_code ec, std::size_t);
  void on_response_header_written(error_code ec, std::size_t);
  void do_relay_response_body();
  void on_response_body_read(error_code ec, std::size_t);
  void on_response_body_written(error_code ec, std::size_t);
  void finish_exchange();
  // endings
  void begin_request();
  void complete_request(unsigned status);
  void upstream_failed(error_code ec, bool response_bytes_seen);
  void send_local_reply(const http::LocalReply& reply);
  void on_local_reply_written(error_code ec, bool close);
  void close_gracefully();
  void do_linger();
  void abort();

  std::string take_forwarded_request();
  void authenticate(bool may_wait);
  void wait_for_keys(std::size_t provider);
  void build_upstream_request(const auth::AuthDecision& decision);
  bool can_retry(error_code ec) const;

  Worker& worker_;
  RuntimeConfigPtr config_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::string client_ip_;
  std::array<std::uint8_t, 16> client_address_{};
  bool client_is_trusted_ = false;
  // the request in progress, for its access-log line and metrics
  bool request_in_progress_ = false;
  std::chrono::steady_clock::time_point request_start_{};
  std::chrono::steady_clock::time_point upstream_start_{};
  std::optional<double> upstream_duration_s_;
  std::string_view auth_outcome_;
  std::string_view auth_reason_;
  auth::IdentityPtr identity_;
  std::uint64_t bytes_in_ = 0;
  std::uint64_t bytes_out_ = 0;
  std::string request_id_;
  bool waiting_for_request_ = false;
  bool keep_alive_ = true;
  std::chrono::steady_clock::time_point head_deadline_{};

  std::optional<BodyRequestParser> parser_;
  http::RequestHead head_;
  std::string normalized_path_;
  // What is authorised: the request itself, or for forward-auth the original one it describes.
  bool forward_auth_ = false;
  std::string auth_method_;
  std::string auth_host_;
  std::string auth_target_;
  policy::RouteMatchResult route_{};
  std::vector<std::pair<std::string_view, std::string_view>> request_fields_;
  boost::asio::steady_timer key_wait_timer_;
  std::uint64_t key_wait_id_ = 0;
  const UpstreamSpec* upstream_spec_ = nullptr;
  int attempt_ = 0;
  std::unique_ptr<UpstreamConnection> upstream_;
  std::optional<boost::asio::ip::tcp::resolver> resolver_;
  boost::beast::http::request<boost::beast::http::buffer_body> upstream_request_;
  std::optional<boost::beast::http::request_serializer<boost::beast::http::buffer_body>> request_serializer_;
  bool request_body_started_ = false;

  boost::beast::flat_buffer upstream_buffer_;
  std::optional<BodyResponseParser> response_parser_;
  boost::beast::http::response<boost::beast::http::buffer_body> client_response_;
  std::optional<boost::beast::http::response_serializer<boost::beast::http::buffer_body>> response_serializer_;
  bool response_started_ = false;

  std::unique_ptr<char[]> body_chunk_;
  boost::beast::http::response<boost::beast::http::string_body> local_response_;
  std::array<char, 512> linger_buffer_{};
};

}  // namespace claimgate::proxy
