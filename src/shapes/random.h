#pragma once
// Platform-independent random numbers for ShapesEval. std::mt19937_64's output sequence
// is fixed by the C++ standard, but the std:: distributions are not (libstdc++, libc++
// and MSVC draw differently), so the few distributions needed are written here.

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace flowgrpo::shapes::detail {

class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  uint64_t next() { return engine_(); }

  // Uniform in [0, n) for n >= 1, unbiased (rejection of the incomplete top range).
  uint64_t below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // a multiple of n
    uint64_t x = engine_();
    while (x >= limit) x = engine_();
    return x % n;
  }

  // Uniform in [lo, hi] (lo <= hi).
  int64_t range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }

  // Fisher-Yates, front to back.
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = 0; i + 1 < v.size(); ++i) {
      const size_t j = i + static_cast<size_t>(below(v.size() - i));
      std::swap(v[i], v[j]);
    }
  }

 private:
  std::mt19937_64 engine_;
};

// SplitMix64 finaliser: decorrelates seeds derived from a base seed and an index.
inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace flowgrpo::shapes::detail
