#include "proxy/exchange.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace claimgate::proxy {

#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer maps metadata for every mapping and runs out with thousands of them (the
// 10,000-connection test): under TSan the blocks come from the heap.
PageBlock::PageBlock(std::size_t bytes) : data_(new char[bytes]), size_(bytes) {}
static void release_pages(char* p, std::size_t) { delete[] p; }
#else
PageBlock::PageBlock(std::size_t bytes) : size_(bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  data_ = static_cast<char*>(p);
}
static void release_pages(char* p, std::size_t bytes) { ::munmap(p, bytes); }
#endif

PageBlock& PageBlock::operator=(PageBlock&& other) noexcept {
  if (this != &other) {
    if (data_) release_pages(data_, size_);
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

PageBlock::~PageBlock() {
  if (data_) release_pages(data_, size_);
}

void InputBuffer::compact() {
  if (begin == 0) return;
  std::memmove(data.get(), data.get() + begin, end - begin);
  end -= begin;
  begin = 0;
}

void InputBuffer::ensure(std::size_t bytes) {
  if (capacity >= bytes) return;
  PageBlock bigger(bytes);
  if (end > begin) std::memcpy(bigger.get(), data.get() + begin, end - begin);
  end -= begin;
  begin = 0;
  data = std::move(bigger);
  capacity = bytes;
}

void Exchange::begin_request() {
  start = std::chrono::steady_clock::now();
  upstream_duration_s.reset();
  bytes_in = 0;
  bytes_out = 0;
  request_body_left = 0;
  request_body_done = true;
  request_body_started = false;
  response_started = false;
  response_head_written = false;
  response_chunked = false;
  response_status = 0;
  request_id_size = 0;
  request_body.reset();
  response.reset();
  upstream_in.begin = upstream_in.end = 0;
}

std::unique_ptr<Exchange> ExchangePool::take(std::size_t client_buffer_bytes) {
  std::unique_ptr<Exchange> x;
  if (!idle_.empty()) {
    x = std::move(idle_.back());
    idle_.pop_back();
  } else {
    x = std::make_unique<Exchange>();
    x->upstream_in.data = PageBlock(Exchange::kBufferBytes);
    x->upstream_in.capacity = Exchange::kBufferBytes;
  }
  x->client_in.ensure(std::max(client_buffer_bytes, Exchange::kBufferBytes));
  return x;
}

void ExchangePool::give_back(std::unique_ptr<Exchange> x) {
  x->plan.auth.identity.reset();
  x->plan.route = {};
  x->request_body.reset();
  x->response.reset();
  x->client_in.begin = x->client_in.end = 0;
  x->upstream_in.begin = x->upstream_in.end = 0;
  if (idle_.size() < max_idle_) idle_.push_back(std::move(x));
}

}  // namespace claimgate::proxy
