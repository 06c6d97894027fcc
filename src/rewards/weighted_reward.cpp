#include "flowgrpo/rewards/weighted_reward.h"

#include <cmath>
#include <set>
#include <stdexcept>

namespace flowgrpo::rewards {

WeightedReward::WeightedReward(std::vector<Part> parts) : parts_(std::move(parts)) {
  if (parts_.empty()) throw std::invalid_argument("reward: at least one reward is required");
  std::set<std::string> seen;
  for (const auto& p : parts_) {
    if (!p.reward) throw std::invalid_argument("reward: empty reward part");
    if (!std::isfinite(p.weight))
      throw std::invalid_argument("reward '" + p.reward->name() + "': weight must be finite, found " +
                                  std::to_string(p.weight));
    if (!seen.insert(p.reward->name()).second)
      throw std::invalid_argument("reward '" + p.reward->name() + "' is listed twice");
  }
}

std::unique_ptr<WeightedReward> WeightedReward::from_weights(
    const std::vector<std::pair<std::string, double>>& weights, const RewardRegistry& registry,
    const nlohmann::json& options) {
  std::vector<Part> parts;
  for (const auto& [name, weight] : weights) {
    if (!std::isfinite(weight))
      throw std::invalid_argument("reward." + name + ": weight must be finite, found " +
                                  std::to_string(weight));
    const auto opts =
        options.is_object() && options.contains(name) ? options.at(name) : nlohmann::json::object();
    parts.push_back({weight, registry.create(name, opts)});
  }
  return std::make_unique<WeightedReward>(std::move(parts));
}

RewardResult WeightedReward::score(const RewardBatch& batch) {
  const int64_t n = batch.size();
  RewardResult total = RewardResult::from_scores(torch::zeros({n}, torch::kDouble));
  for (const auto& part : parts_) {
    const std::string name = part.reward->name();
    RewardResult r = part.reward->score(batch);
    r.check(name, n);
    // Invalid samples carry NaN, so the sum is NaN exactly where any part failed.
    total.scores += part.weight * r.scores;
    total.components[name] = r.scores;
    for (const auto& [cname, c] : r.components) total.components[name + "/" + cname] = c;
    for (int64_t i = 0; i < n; ++i) {
      if (r.valid[i].item<bool>()) continue;
      auto& e = total.errors[static_cast<size_t>(i)];
      e += (e.empty() ? "" : "; ") + name + ": " + r.errors[static_cast<size_t>(i)];
    }
    total.valid &= r.valid;
  }
  return total;
}

}  // namespace flowgrpo::rewards
