#pragma once
// One client connection, I/O only: reads request heads, asks plan::plan_request what to do,
// and relays bodies between client and upstream through the exchange's buffers without copying
// them. After a 101 to a WebSocket handshake the connection becomes a tunnel, relaying bytes both
// ways through the same two buffers. One timer per connection carries every deadline (head,
// idle, upstream, body reads and writes, the tunnel's idle and token expiry); moving a deadline
// later is a store, not a timer operation.
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "http/local_reply.h"
#include "policy/requirement.h"
#include "tls/peer_certificate.h"
#include "proxy/handler_memory.h"
#include "proxy/exchange.h"
#include "proxy/runtime_config.h"
#include "proxy/tunnel.h"
#include "proxy/upstream_pool.h"

namespace claimgate::proxy {

class Worker;

// What the worker holds of every connection, whatever its byte stream.
class Session {
 public:
  virtual ~Session() = default;
  // Drain: a connection waiting for its next request is closed now; others finish their request
  // and tunnels keep running.
  virtual void on_drain() = 0;
  // drain_timeout_ms ran out: a tunnel ends now (counted), just before the workers stop.
  virtual void on_drain_deadline() = 0;
};

// Stream: the client's byte stream (a TCP socket; a TLS stream over one), see client_stream.h.
template <class Stream>
class ClientSession final : public Session, public std::enable_shared_from_this<ClientSession<Stream>> {
 public:
  ClientSession(Worker& worker, Stream stream);
  ~ClientSession() override;

  void run();
  void on_drain() override;
  void on_drain_deadline() override;

 private:
  using error_code = boost::system::error_code;
  using clock = std::chrono::steady_clock;

  // deadlines
  void set_deadline(std::chrono::milliseconds from_now);
  void set_deadline_at(clock::time_point deadline);
  void on_timer(error_code ec, std::uint64_t generation);
  error_code timeout_or(error_code ec);
  // TLS
  void on_handshake(error_code ec);
  // request head
  void do_read_head();
  void on_readable(error_code ec);
  void on_idle_read(error_code ec, std::size_t bytes);
  void on_read_head(error_code ec, std::size_t bytes);
  void on_head(std::size_t head_bytes);
  void run_plan(bool may_wait, bool may_verify_later = true);
  void wait_for_keys(std::size_t provider);
  void end_key_wait(std::uint64_t wait);
  void prepare_upstream_request();
  // upstream connection
  void acquire_upstream(bool allow_pooled);
  void on_resolved(error_code ec, boost::asio::ip::tcp::resolver::results_type results);
  void on_connected(error_code ec);
  void start_upstream_tls();
  void on_upstream_handshake(error_code ec);
  void note_tls_failure(error_code ec);
  // request relay
  void start_request_relay();
  void send_request_part();
  void on_request_part_written(error_code ec, std::size_t consumed);
  void read_request_body();
  void on_request_body_read(error_code ec, std::size_t bytes);
  // response relay
  void start_response_parser();
  void read_response();
  void on_response_read(error_code ec, std::size_t bytes);
  void parse_response_head();
  void send_response_part();
  void on_response_part_written(error_code ec, std::size_t consumed);
  void finish_exchange();
  // tunnel: each direction reads into its side's buffer, writes all of it on, then reads again
  void start_tunnel(std::size_t response_head_bytes);
  void tunnel_read_client();
  void on_tunnel_client_read(error_code ec, std::size_t bytes);
  void tunnel_write_upstream();
  void on_tunnel_upstream_written(error_code ec, std::size_t bytes);
  void tunnel_read_upstream();
  void on_tunnel_upstream_read(error_code ec, std::size_t bytes);
  void tunnel_write_client();
  void on_tunnel_client_written(error_code ec);
  void extend_tunnel_deadline();
  void end_tunnel(TunnelEnd reason);
  // endings
  void begin_request();
  void complete_request(unsigned status);
  void upstream_failed(error_code ec, bool response_bytes_seen);
  void send_local_reply(const http::LocalReply& reply);
  void on_local_reply_written(error_code ec, bool close);
  void close_gracefully();
  void do_linger();
  void abort();
  bool can_retry(error_code ec) const;
  void release_exchange();

  using IoMemory = HandlerMemory<640, 1>;
  using TimerMemory = HandlerMemory<208, 2>;
  // The handler of a read or write, with its operation stored in `memory`.
  template <class Handler>
  static auto in_memory(IoMemory& memory, Handler&& handler) {
    return boost::asio::bind_allocator(HandlerAllocator<char, IoMemory>(memory), std::forward<Handler>(handler));
  }
  // A read or write on either socket; in a tunnel, of the client-to-upstream direction.
  template <class Handler>
  auto io(Handler&& handler) {
    return in_memory(io_memory_, std::forward<Handler>(handler));
  }

  // Kept until the session ends: the upstream-to-client direction's operations hold their memory here.
  struct Tunnel {
    explicit Tunnel(std::atomic<std::size_t>& open) : open_count(open) {
      open_count.fetch_add(1, std::memory_order_relaxed);
    }
    ~Tunnel() { open_count.fetch_sub(1, std::memory_order_relaxed); }
    Tunnel(const Tunnel&) = delete;
    Tunnel& operator=(const Tunnel&) = delete;

    IoMemory memory;
    std::atomic<std::size_t>& open_count;  // the worker's open-tunnels gauge
    clock::time_point opened{};
    clock::time_point expires = clock::time_point::max();  // close_at_token_expiry
    std::chrono::milliseconds idle_timeout{0};
    std::uint64_t bytes_to_upstream = 0;
    std::uint64_t bytes_to_client = 0;
    bool client_done = false;    // the client's EOF was passed on upstream as a half-close
    bool upstream_done = false;  // and the upstream's to the client
    bool ended = false;
  };

  Worker& worker_;
  RuntimeConfigPtr config_;
  Stream stream_;
  std::string client_ip_;
  std::array<std::uint8_t, 16> client_address_{};
  bool client_is_trusted_ = false;
  // TLS listeners with client certificates: the verified one, its XFCC element and policy view.
  std::optional<tls::PeerCertificate> peer_certificate_;
  std::string forwarded_client_cert_;
  policy::ClientCertificate certificate_facts_;

  boost::asio::steady_timer timer_;
  clock::time_point deadline_{};
  clock::time_point timer_expiry_{};
  std::uint64_t timer_generation_ = 0;
  bool timer_waiting_ = false;
  bool timed_out_ = false;
  bool closed_ = false;
  std::optional<boost::asio::steady_timer> key_wait_timer_;
  std::uint64_t key_wait_id_ = 0;

  std::unique_ptr<Exchange> x_;  // null while the connection is idle
  std::unique_ptr<UpstreamConnection> upstream_;
  std::unique_ptr<Tunnel> tunnel_;
  std::optional<boost::asio::ip::tcp::resolver> resolver_;
  const UpstreamSpec* upstream_spec_ = nullptr;
  int attempt_ = 0;
  bool request_in_progress_ = false;
  bool waiting_for_request_ = false;
  bool keep_alive_ = true;
  bool request_head_sent_ = false;
  clock::time_point head_deadline_{};
  std::array<char, 512> idle_bytes_{};  // the first bytes of the next request (and lingering reads)
  IoMemory io_memory_;
  TimerMemory timer_memory_;
};

}  // namespace claimgate::proxy
