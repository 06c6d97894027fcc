#include "flowgrpo/rewards/reward.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace flowgrpo::rewards {

std::string ScoreRange::to_string() const {
  std::ostringstream os;
  os << "[" << min << ", " << max << "]";
  return os.str();
}

torch::Tensor RewardBatch::as_uint8() const {
  if (images.scalar_type() == torch::kByte) return images;
  return (images.to(torch::kFloat) * 255.0).round().clamp(0, 255).to(torch::kByte);
}

torch::Tensor RewardBatch::as_float01() const {
  if (images.scalar_type() == torch::kByte) return images.to(torch::kFloat) / 255.0;
  return images.to(torch::kFloat);
}

void RewardBatch::validate() const {
  if (!images.defined()) throw std::invalid_argument("reward batch: images are undefined");
  if (images.dim() != 4 || images.size(1) != 3) {
    std::ostringstream os;
    os << "reward batch: images must be [N,3,H,W], found " << images.sizes();
    throw std::invalid_argument(os.str());
  }
  if (!images.device().is_cpu()) throw std::invalid_argument("reward batch: images must be on the CPU");
  const auto t = images.scalar_type();
  if (t != torch::kByte && t != torch::kFloat)
    throw std::invalid_argument(std::string("reward batch: images must be uint8 or float32, found ") +
                                c10::toString(t));
  if (t == torch::kFloat && images.numel() > 0) {
    const double lo = images.min().item<double>();
    const double hi = images.max().item<double>();
    if (!(lo >= 0.0 && hi <= 1.0))
      throw std::invalid_argument("reward batch: float images must lie in [0,1], found [" +
                                  std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  const auto n = static_cast<size_t>(images.size(0));
  if (prompts.size() != n)
    throw std::invalid_argument("reward batch: " + std::to_string(n) + " images but " +
                                std::to_string(prompts.size()) + " prompts");
  if (metadata.size() != n)
    throw std::invalid_argument("reward batch: " + std::to_string(n) + " images but " +
                                std::to_string(metadata.size()) + " metadata entries");
}

RewardResult RewardResult::from_scores(torch::Tensor scores) {
  RewardResult r;
  r.scores = scores.to(torch::kDouble).flatten().contiguous();
  r.valid = torch::ones({r.scores.size(0)}, torch::kBool);
  r.errors.assign(static_cast<size_t>(r.scores.size(0)), "");
  return r;
}

void RewardResult::invalidate(int64_t i, const std::string& reason) {
  scores[i] = NAN;
  valid[i] = false;
  errors.at(static_cast<size_t>(i)) = reason.empty() ? "unspecified failure" : reason;
}

int64_t RewardResult::num_invalid() const {
  return valid.defined() ? (~valid).sum().item<int64_t>() : 0;
}

const torch::Tensor* RewardResult::find_component(const std::string& name) const {
  if (auto it = components.find(name); it != components.end()) return &it->second;
  const std::string suffix = "/" + name;
  for (const auto& [key, value] : components)
    if (key.size() > suffix.size() && key.compare(key.size() - suffix.size(), std::string::npos, suffix) == 0)
      return &value;
  return nullptr;
}

void RewardResult::check(const std::string& reward_name, int64_t n) const {
  auto fail = [&](const std::string& what) {
    throw std::runtime_error("reward '" + reward_name + "' returned a malformed result: " + what);
  };
  if (!scores.defined() || scores.dim() != 1 || scores.size(0) != n)
    fail("expected " + std::to_string(n) + " scores");
  if (scores.scalar_type() != torch::kDouble) fail("scores must be float64");
  if (!valid.defined() || valid.dim() != 1 || valid.size(0) != n || valid.scalar_type() != torch::kBool)
    fail("expected a bool validity mask of " + std::to_string(n) + " entries");
  if (errors.size() != static_cast<size_t>(n)) fail("expected " + std::to_string(n) + " error strings");
  const auto finite = torch::isfinite(scores);
  if (!torch::equal(finite, valid)) {
    const int64_t i = (finite != valid).nonzero()[0][0].item<int64_t>();
    fail("sample " + std::to_string(i) + " has score " + std::to_string(scores[i].item<double>()) +
         (valid[i].item<bool>() ? " but is marked valid (a non-finite score must be marked invalid)"
                                : " but is marked invalid (invalid samples must have NaN scores)"));
  }
  for (int64_t i = 0; i < n; ++i)
    if (!valid[i].item<bool>() && errors[static_cast<size_t>(i)].empty())
      fail("sample " + std::to_string(i) + " is invalid without a reason");
  for (const auto& [name, c] : components)
    if (!c.defined() || c.dim() != 1 || c.size(0) != n || c.scalar_type() != torch::kDouble)
      fail("component '" + name + "' must be float64 [" + std::to_string(n) + "]");
}

}  // namespace flowgrpo::rewards
