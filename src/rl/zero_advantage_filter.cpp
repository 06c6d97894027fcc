#include "flowgrpo/rl/zero_advantage_filter.h"

#include <algorithm>
#include <random>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace flowgrpo::rl {

namespace {

// Uniform integer in [0, n) from a 64-bit engine, by rejection (as arc4random_uniform),
// so the result does not depend on the standard library's distribution implementation.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;  // 2^64 mod n: reject the low partial block
  uint64_t x = 0;
  do {
    x = rng();
  } while (x < threshold);
  return x % n;
}

// k distinct elements of `pool`, chosen uniformly (partial Fisher–Yates). Reorders pool.
std::vector<int64_t> choose(std::vector<int64_t>& pool, int64_t k, std::mt19937_64& rng) {
  const auto n = static_cast<int64_t>(pool.size());
  for (int64_t i = 0; i < k; ++i) {
    const auto j = i + static_cast<int64_t>(uniform_below(rng, static_cast<uint64_t>(n - i)));
    std::swap(pool[i], pool[j]);
  }
  return {pool.begin(), pool.begin() + k};
}

}  // namespace

std::string to_string(EmptyEpochPolicy policy) {
  switch (policy) {
    case EmptyEpochPolicy::kKeepNumBatches: return "keep_num_batches";
    case EmptyEpochPolicy::kSkip: return "skip";
  }
  return "unknown";
}

EmptyEpochPolicy parse_empty_epoch_policy(const std::string& name) {
  for (auto p : {EmptyEpochPolicy::kKeepNumBatches, EmptyEpochPolicy::kSkip})
    if (name == to_string(p)) return p;
  throw std::invalid_argument("unknown empty-epoch policy '" + name + "'; valid: keep_num_batches, skip");
}

ZeroAdvantageFilterResult filter_zero_advantages(const torch::Tensor& advantages, const torch::Tensor& valid,
                                                 const ZeroAdvantageFilterOptions& options) {
  if (!advantages.defined() || (advantages.dim() != 1 && advantages.dim() != 2)) {
    std::ostringstream s;
    s << "filter_zero_advantages: advantages must be [N] or [N, T], got ";
    if (advantages.defined())
      s << advantages.sizes();
    else
      s << "an undefined tensor";
    throw std::invalid_argument(s.str());
  }
  if (!advantages.is_floating_point())
    throw std::invalid_argument(
        std::string("filter_zero_advantages: advantages must be floating point, got ") +
        c10::toString(advantages.scalar_type()));
  const int64_t n = advantages.size(0);
  if (valid.defined() && (valid.dim() != 1 || valid.size(0) != n || valid.scalar_type() != torch::kBool)) {
    std::ostringstream s;
    s << "filter_zero_advantages: valid must be a bool tensor [" << n << "], got " << valid.scalar_type()
      << " " << valid.sizes();
    throw std::invalid_argument(s.str());
  }
  const int64_t batches = options.num_batches_per_epoch;
  if (batches < 1)
    throw std::invalid_argument("filter_zero_advantages: num_batches_per_epoch must be >= 1, got " +
                                std::to_string(batches));

  const auto a2 = advantages.detach().to(torch::kCPU).reshape({n, -1});
  const auto finite = torch::isfinite(a2).all(1).contiguous();
  // train_sd3.py: mask = advantages.abs().sum(dim=1) != 0
  const auto nonzero = (a2 != 0).any(1).contiguous();
  const auto v_cpu = valid.defined() ? valid.to(torch::kCPU).contiguous() : torch::ones({n}, torch::kBool);
  const bool* f = finite.data_ptr<bool>();
  const bool* nz = nonzero.data_ptr<bool>();
  const bool* v = v_cpu.data_ptr<bool>();

  ZeroAdvantageFilterResult result;
  result.num_samples = n;
  std::vector<int64_t> kept;
  std::vector<int64_t> zero_pool;  // valid samples with A == 0 everywhere: may be added back
  for (int64_t i = 0; i < n; ++i) {
    if (!v[i]) {
      ++result.num_invalid;
      continue;
    }
    if (!f[i])
      throw std::invalid_argument("filter_zero_advantages: sample " + std::to_string(i) +
                                  " is valid but has a non-finite advantage");
    (nz[i] ? kept : zero_pool).push_back(i);
  }
  result.num_nonzero = static_cast<int64_t>(kept.size());

  std::mt19937_64 rng(options.seed);
  const auto count = static_cast<int64_t>(kept.size());
  const auto pool = static_cast<int64_t>(zero_pool.size());
  if (count == 0) {
    // train_sd3_fast.py: `if true_count % num_batches != 0 or true_count == 0` pads to num_batches.
    if (options.empty_policy == EmptyEpochPolicy::kKeepNumBatches && pool >= batches) {
      kept = choose(zero_pool, batches, rng);
      result.num_padded = batches;
    }
  } else if (count % batches != 0) {
    const int64_t missing = batches - count % batches;
    if (missing <= pool) {
      auto extra = choose(zero_pool, missing, rng);
      kept.insert(kept.end(), extra.begin(), extra.end());
      result.num_padded = missing;
    } else {
      // Too few valid zero-advantage samples (the rest are invalid): round down instead.
      const int64_t excess = count % batches;
      kept = choose(kept, count - excess, rng);
      result.num_trimmed = excess;
    }
  }

  std::sort(kept.begin(), kept.end());
  result.kept_indices = kept.empty() ? torch::empty({0}, torch::kLong) : torch::tensor(kept, torch::kLong);
  result.nothing_to_train = kept.empty();
  result.actual_batch_size = static_cast<int64_t>(kept.size()) / batches;
  return result;
}

}  // namespace flowgrpo::rl
