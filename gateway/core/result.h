#pragma once
// The one result type of the project: C++23 std::expected (GCC 12 with -std=c++23).
#include <expected>

namespace claimgate {

template <class T, class E>
using Result = std::expected<T, E>;

template <class E>
constexpr std::unexpected<E> fail(E error) {
  return std::unexpected<E>(std::move(error));
}

}  // namespace claimgate
