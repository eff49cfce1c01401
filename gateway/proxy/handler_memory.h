#pragma once
// Fixed blocks for one connection's asynchronous operations (Asio's custom-allocation pattern):
// a read, a write or a timer wait of steady traffic takes a block here instead of the heap. Two
// `kBlocks` blocks: a timer needs two, since a cancelled wait still holds its block while the new
// one starts; a connection's socket operations run one at a time.
#include <array>
#include <cstddef>
#include <new>

namespace claimgate::proxy {

template <std::size_t kBlockBytes, std::size_t kBlocks>
class HandlerMemory {
 public:
  HandlerMemory() = default;
  HandlerMemory(const HandlerMemory&) = delete;
  HandlerMemory& operator=(const HandlerMemory&) = delete;

  void* allocate(std::size_t size) {
    if (size <= kBlockBytes) {
      for (Block& b : blocks_) {
        if (!b.used) {
          b.used = true;
          return b.storage;
        }
      }
    }
    return ::operator new(size);
  }

  void deallocate(void* p) {
    for (Block& b : blocks_) {
      if (p == b.storage) {
        b.used = false;
        return;
      }
    }
    ::operator delete(p);
  }

 private:
  struct Block {
    alignas(std::max_align_t) unsigned char storage[kBlockBytes];
    bool used = false;
  };
  std::array<Block, kBlocks> blocks_;
};

template <class T, class Memory>
class HandlerAllocator {
 public:
  using value_type = T;
  explicit HandlerAllocator(Memory& memory) : memory_(&memory) {}
  template <class U>
  HandlerAllocator(const HandlerAllocator<U, Memory>& other) noexcept : memory_(other.memory_) {}

  T* allocate(std::size_t n) { return static_cast<T*>(memory_->allocate(sizeof(T) * n)); }
  void deallocate(T* p, std::size_t) { memory_->deallocate(p); }
  bool operator==(const HandlerAllocator& other) const noexcept { return memory_ == other.memory_; }

 private:
  template <class, class>
  friend class HandlerAllocator;
  Memory* memory_;
};

}  // namespace claimgate::proxy
