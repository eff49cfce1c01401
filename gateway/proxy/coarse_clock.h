#pragma once
// The steady clock as of the kernel's last tick (up to a few milliseconds behind), read in a
// few nanoseconds instead of a full clock read: for deadlines and idle ages, which several
// times per request need "now" but not its last millisecond. Latency measurements keep the
// precise clock.
#include <time.h>

#include <chrono>

namespace claimgate::proxy {

inline std::chrono::steady_clock::time_point coarse_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);  // the same epoch as steady_clock (CLOCK_MONOTONIC)
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::seconds(ts.tv_sec) +
                                                                      std::chrono::nanoseconds(ts.tv_nsec)));
}

}  // namespace claimgate::proxy
