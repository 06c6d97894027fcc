#include "flowgrpo/rewards/weighted_reward.h"

#include "flowgrpo/common/error.h"

#include <cmath>
#include <set>
#include <stdexcept>

namespace flowgrpo::rewards {

WeightedReward::WeightedReward(std::vector<Part> parts) : parts_(std::move(parts)) {
  if (parts_.empty()) throw std::invalid_argument("reward: at least one reward is required");
  std::set<std::string> seen;
  for (auto& p : parts_) {
    if (!p.reward) throw std::invalid_argument("reward: empty reward part");
    if (p.label.empty()) p.label = p.reward->name();
    if (!std::isfinite(p.weight))
      throw std::invalid_argument("reward '" + p.label + "': weight must be finite, found " +
                                  std::to_string(p.weight));
    if (!seen.insert(p.label).second)
      throw std::invalid_argument("reward '" + p.label + "' is listed twice" +
                                  (p.label == p.reward->name()
                                       ? " (to use a reward twice, give each an alias with "
                                         "reward_options.<alias>.type: " +
                                             p.label + ")"
                                       : ""));
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
    auto opts = options.is_object() && options.contains(name) ? options.at(name) : nlohmann::json::object();
    std::string type = name;
    if (opts.is_object() && opts.contains("type")) {
      if (!opts["type"].is_string() || opts["type"].get<std::string>().empty())
        throw std::invalid_argument("reward_options." + name +
                                    ".type: expected the name of a registered reward, found " +
                                    opts["type"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      type = opts["type"].get<std::string>();
      opts.erase("type");
    }
    auto reward = type == name ? registry.create(name, opts)
                               : with_context("reward '" + name + "' (type " + type + ")",
                                              [&] { return registry.create(type, opts); });
    parts.push_back({weight, std::move(reward), name});
  }
  return std::make_unique<WeightedReward>(std::move(parts));
}

RewardResult WeightedReward::score(const RewardBatch& batch) {
  const int64_t n = batch.size();
  RewardResult total = RewardResult::from_scores(torch::zeros({n}, torch::kDouble));
  for (const auto& part : parts_) {
    const std::string& name = part.label;
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
  // Finite parts can still sum to ±inf (weights times scores near 1e308): such a sample
  // has no usable score, and a valid non-finite score would fail RewardResult::check.
  const auto overflow = (total.valid & ~torch::isfinite(total.scores)).nonzero().flatten();
  for (int64_t k = 0; k < overflow.numel(); ++k)
    total.invalidate(overflow[k].item<int64_t>(), "the weighted sum of the rewards overflows (parts near 1e308)");
  return total;
}

}  // namespace flowgrpo::rewards
