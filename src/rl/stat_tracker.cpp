#include "flowgrpo/rl/stat_tracker.h"
#include "flowgrpo/common/shape_string.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

namespace flowgrpo::rl {

namespace {

bool all_equal(const std::vector<double>& x) {
  return std::all_of(x.begin(), x.end(), [&](double v) { return v == x.front(); });
}

// A power of two >= max |x| / 2 (1 for an all-zero sample). Dividing by it is exact (no
// rounding, barring underflow of values ~2^-1074 times smaller), so the scaled formulas
// below give bit for bit the unscaled results whenever those do not overflow, and stay
// finite when they would: with finite scores as large as 1e308 the plain sum of squares
// is inf and every advantage NaN (issue 14).
double scale_of(std::initializer_list<double> xs) {
  double m = 0;
  for (double v : xs) m = std::max(m, std::abs(v));
  if (m == 0 || !std::isfinite(m)) return 1.0;
  int exponent = 0;
  std::frexp(m, &exponent);  // m = f · 2^exponent, f in [0.5, 1)
  // 2^1024 is not a double: near DBL_MAX the scaled values reach 2, which is still harmless.
  return std::ldexp(1.0, std::min(exponent, 1023));
}

double scale_of(const std::vector<double>& x) {
  double m = 0;
  for (double v : x) m = std::max(m, std::abs(v));
  return scale_of({m});
}

// Mean of a non-empty sample. A constant sample returns its value exactly, so that
// r − mean is exactly 0 in a zero-std group (a summed mean of e.g. three 0.1s is not 0.1).
double mean_of(const std::vector<double>& x) {
  if (all_equal(x)) return x.front();
  const double s = scale_of(x);
  double sum = 0;
  for (double v : x) sum += v / s;
  return sum / static_cast<double>(x.size()) * s;
}

// Population standard deviation (ddof = 0, numpy's default), two-pass; exactly 0 for a
// constant sample.
double population_std(const std::vector<double>& x) {
  if (all_equal(x)) return 0.0;
  const double s = scale_of(x);
  const double mean = mean_of(x) / s;
  double sq = 0;
  for (double v : x) sq += (v / s - mean) * (v / s - mean);
  return std::sqrt(sq / static_cast<double>(x.size())) * s;
}

// (r − mean) / (std + ε), computed on scaled values so that r − mean cannot overflow.
double advantage(double r, double mean, double std) {
  const double s = scale_of({r, mean, std});
  return (r / s - mean / s) / (std / s + kAdvantageStdEpsilon / s);
}

}  // namespace

PerPromptStatTracker::PerPromptStatTracker(StatTrackerOptions options) : options_(options) {}

torch::Tensor PerPromptStatTracker::update(const torch::Tensor& rewards, const torch::Tensor& prompt_indices,
                                           const torch::Tensor& valid) {
  if (!rewards.defined() || rewards.dim() != 1)
    throw std::invalid_argument(
        "PerPromptStatTracker::update: rewards must be 1-D [N], got " +
        (rewards.defined() ? shape_string(rewards.sizes()) : std::string("an undefined tensor")));
  if (!rewards.is_floating_point())
    throw std::invalid_argument(
        std::string("PerPromptStatTracker::update: rewards must be float32 or float64, got ") +
        c10::toString(rewards.scalar_type()));
  const int64_t n = rewards.size(0);
  if (!prompt_indices.defined() || prompt_indices.dim() != 1 || prompt_indices.size(0) != n)
    throw std::invalid_argument(
        "PerPromptStatTracker::update: prompt_indices must be [" + std::to_string(n) +
        "] like rewards, got " +
        (prompt_indices.defined() ? shape_string(prompt_indices.sizes()) : std::string("undefined")));
  if (prompt_indices.scalar_type() != torch::kLong && prompt_indices.scalar_type() != torch::kInt)
    throw std::invalid_argument(
        std::string("PerPromptStatTracker::update: prompt_indices must be int64 or int32, got ") +
        c10::toString(prompt_indices.scalar_type()));
  if (valid.defined() && (valid.dim() != 1 || valid.size(0) != n || valid.scalar_type() != torch::kBool))
    throw std::invalid_argument(
        "PerPromptStatTracker::update: valid must be a bool tensor [" + std::to_string(n) + "], got " +
        std::string(c10::toString(valid.scalar_type())) + " " + shape_string(valid.sizes()));

  const auto r_cpu = rewards.detach().to(torch::kCPU, torch::kDouble).contiguous();
  const auto p_cpu = prompt_indices.to(torch::kCPU, torch::kLong).contiguous();
  const auto v_cpu = valid.defined() ? valid.to(torch::kCPU).contiguous() : torch::ones({n}, torch::kBool);
  const double* r = r_cpu.data_ptr<double>();
  const int64_t* p = p_cpu.data_ptr<int64_t>();
  const bool* v = v_cpu.data_ptr<bool>();

  std::vector<double> call_rewards;                 // valid rewards of this call
  std::map<int64_t, std::vector<int64_t>> members;  // this call's valid samples per prompt
  for (int64_t i = 0; i < n; ++i) {
    if (!v[i]) continue;
    if (!std::isfinite(r[i]))
      throw std::invalid_argument("PerPromptStatTracker::update: reward " + std::to_string(i) + " (prompt " +
                                  std::to_string(p[i]) + ") is " + std::to_string(r[i]) +
                                  " but marked valid; a failed reward must be marked invalid");
    call_rewards.push_back(r[i]);
    members[p[i]].push_back(i);
  }

  // Accumulate before computing any statistic (stat_tracking.py extends all groups first).
  for (const auto& [prompt, idx] : members) {
    auto& group = groups_[prompt];
    for (int64_t i : idx) group.push_back(r[i]);
    history_.insert(prompt);
  }
  num_samples_ += n;
  num_invalid_ += n - static_cast<int64_t>(call_rewards.size());

  auto advantages = torch::zeros({n}, torch::kDouble);
  double* a = advantages.data_ptr<double>();
  if (!call_rewards.empty()) {
    if (!options_.per_prompt) {
      // train_sd3.py, tracking off: (r − r.mean()) / (r.std() + 1e-4), numpy population std.
      const double mean = mean_of(call_rewards);
      const double std = population_std(call_rewards);
      for (int64_t i = 0; i < n; ++i)
        if (v[i]) a[i] = advantage(r[i], mean, std);
    } else {
      // stat_tracking.py (type 'grpo'): (r − mean_group) / (std + 1e-4), std global or per group.
      const double global_std = options_.global_std ? population_std(call_rewards) : 0.0;
      for (const auto& [prompt, idx] : members) {
        const auto& group = groups_.at(prompt);
        const double mean = mean_of(group);
        const double std = options_.global_std ? global_std : population_std(group);
        for (int64_t i : idx) a[i] = advantage(r[i], mean, std);
      }
    }
  }
  return advantages.to(rewards.device());
}

StatTrackerStats PerPromptStatTracker::stats() const {
  StatTrackerStats s;
  s.num_samples = num_samples_;
  s.num_invalid = num_invalid_;
  s.num_prompts = static_cast<int64_t>(groups_.size());
  s.trained_prompt_num = static_cast<int64_t>(history_.size());
  if (groups_.empty()) return s;
  int64_t total = 0;
  int64_t zero_std = 0;
  double std_sum = 0;
  std::vector<double> stds;
  s.min_group_size = std::numeric_limits<int64_t>::max();
  for (const auto& [prompt, group] : groups_) {
    const auto size = static_cast<int64_t>(group.size());
    total += size;
    s.min_group_size = std::min(s.min_group_size, size);
    s.max_group_size = std::max(s.max_group_size, size);
    const double sd = population_std(group);
    if (sd == 0.0) ++zero_std;
    stds.push_back(sd);
  }
  const auto groups = static_cast<double>(groups_.size());
  s.mean_group_size = static_cast<double>(total) / groups;
  s.zero_std_ratio = static_cast<double>(zero_std) / groups;
  const double scale = scale_of(stds);
  for (double sd : stds) std_sum += sd / scale;
  s.reward_std_mean = std_sum / groups * scale;
  return s;
}

void PerPromptStatTracker::clear() {
  groups_.clear();
  num_samples_ = 0;
  num_invalid_ = 0;
}

void PerPromptStatTracker::reset_history() {
  history_.clear();
}

}  // namespace flowgrpo::rl
