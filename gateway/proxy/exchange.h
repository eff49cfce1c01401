#pragma once
// The state of one request/response exchange, and the per-worker pool it comes from. A session
// holds an Exchange only while bytes are in flight: an idle keep-alive connection holds none,
// and a busy worker reuses the same few (buffers, head text and vectors keep their capacity).
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_head.h"
#include "plan/request_plan.h"

namespace claimgate::proxy {

// Beast's HTTP/1 parser with the message kept as views into the caller's buffer: fields and body
// pieces point into the bytes given to put(), nothing is copied or allocated.
template <bool isRequest>
class ViewParser final : public boost::beast::http::basic_parser<isRequest> {
 public:
  using error_code = boost::system::error_code;
  using string_view = boost::beast::string_view;

  std::vector<http::Field>* fields = nullptr;       // response head fields land here
  std::vector<std::string_view>* pieces = nullptr;  // body bytes of each put()
  unsigned status = 0;
  std::string_view reason;

 private:
  static std::string_view view(string_view s) { return {s.data(), s.size()}; }
  void on_request_impl(boost::beast::http::verb, string_view, string_view, int, error_code&) override {}
  void on_response_impl(int code, string_view text, int, error_code&) override {
    status = static_cast<unsigned>(code);
    reason = view(text);
  }
  void on_field_impl(boost::beast::http::field, string_view name, string_view value, error_code&) override {
    if (fields) fields->emplace_back(view(name), view(value));
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(string_view body, error_code&) override {
    if (!body.empty()) pieces->push_back(view(body));
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override {
    if (!body.empty()) pieces->push_back(view(body));
    return body.size();
  }
  void on_finish_impl(error_code&) override {}
};

// Page-granular memory straight from the kernel: freed exchanges give their pages back at once,
// so a burst of connections does not leave the heap (and RSS) at its high-water mark.
class PageBlock {
 public:
  PageBlock() = default;
  explicit PageBlock(std::size_t bytes);
  PageBlock(PageBlock&& other) noexcept : data_(other.data_), size_(other.size_) { other.data_ = nullptr; other.size_ = 0; }
  PageBlock& operator=(PageBlock&& other) noexcept;
  ~PageBlock();
  char* get() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
};

// A byte buffer read into from one side: [begin, end) is received and not yet used.
struct InputBuffer {
  PageBlock data;
  std::size_t capacity = 0;
  std::size_t begin = 0;
  std::size_t end = 0;

  std::size_t size() const { return end - begin; }
  std::string_view bytes() const { return {data.get() + begin, end - begin}; }
  char at(std::size_t i) const { return data.get()[i]; }
  void consume(std::size_t n) {
    begin += n;
    if (begin == end) begin = end = 0;
  }
  // Moves what is left to the front, so the rest of the buffer is free for the next read.
  void compact();
  boost::asio::mutable_buffer free_space() { return {data.get() + end, capacity - end}; }
  void ensure(std::size_t bytes);
};

struct Exchange {
  static constexpr std::size_t kBufferBytes = 64 * 1024;

  InputBuffer client_in;    // request heads and bodies, in arrival order (pipelining included)
  InputBuffer upstream_in;  // the response
  http::RequestHead head;
  plan::RequestPlan plan;
  std::string out_head;  // the head being written (upstream request, or client response)
  std::vector<http::Field> response_fields;
  std::vector<std::string_view> pieces;
  std::vector<boost::asio::const_buffer> gather;
  std::array<char, 24> chunk_header{};
  std::optional<ViewParser<true>> request_body;  // chunked requests only
  std::optional<ViewParser<false>> response;

  // The request in progress, for its access-log line and metrics.
  std::chrono::steady_clock::time_point start{};
  std::chrono::steady_clock::time_point upstream_start{};
  std::optional<double> upstream_duration_s;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t request_body_left = 0;  // Content-Length bodies
  bool request_body_done = true;
  bool request_body_started = false;
  bool response_started = false;
  bool response_head_written = false;
  bool response_chunked = false;  // re-framed as chunked for the client
  unsigned response_status = 0;
  std::array<char, 32> request_id{};
  std::size_t request_id_size = 0;

  std::string_view request_id_view() const { return {request_id.data(), request_id_size}; }
  // Clears the per-request state; buffers keep their contents and every capacity stays.
  void begin_request();
};

class ExchangePool {
 public:
  explicit ExchangePool(std::size_t max_idle = 256) : max_idle_(max_idle) {}
  // client_in holds at least `client_buffer_bytes` (a whole request head).
  std::unique_ptr<Exchange> take(std::size_t client_buffer_bytes);
  void give_back(std::unique_ptr<Exchange> exchange);

 private:
  std::vector<std::unique_ptr<Exchange>> idle_;
  std::size_t max_idle_;
};

}  // namespace claimgate::proxy
