#pragma once
/// @file weighted_reward.h
/// The config's `reward: {name: weight, ...}` as one Reward: the weighted sum of
/// its parts, as flow_grpo's `multi_score` (flow_grpo.md §5). Every part's raw
/// score is kept as a component named after it, and its own components as
/// "<part>/<component>", so all of them are logged. A sample is valid only if
/// every part scored it.
///
/// A part's name in `reward` is normally a registered reward. To use one reward
/// twice — two `remote` servers, two PickScore models — give each an alias and name
/// the registered reward in its options: `reward: {style: 0.5, safety: 0.5}`,
/// `reward_options: {style: {type: remote, url: ...}, safety: {type: remote, url: ...}}`.
/// The alias names the part in components, logs and errors; `type` is not passed on.

#include "flowgrpo/rewards/reward_registry.h"

#include <memory>
#include <utility>
#include <vector>

namespace flowgrpo::rewards {

class WeightedReward final : public Reward {
 public:
  struct Part {
    double weight;
    std::unique_ptr<Reward> reward;
    std::string label;  ///< the name in components and logs; empty: reward->name()
  };
  /// Throws std::invalid_argument for no parts, a non-finite weight or duplicate names.
  explicit WeightedReward(std::vector<Part> parts);

  /// Builds the parts from (name, weight) pairs through `registry`; `options`
  /// maps a reward name to its options object (missing: `{}`). An options object
  /// with a string `type` creates that registered reward under the name as alias.
  static std::unique_ptr<WeightedReward> from_weights(
      const std::vector<std::pair<std::string, double>>& weights,
      const RewardRegistry& registry = RewardRegistry::global(),
      const nlohmann::json& options = nlohmann::json::object());

  std::string name() const override { return "weighted"; }
  RewardResult score(const RewardBatch& batch) override;
  const std::vector<Part>& parts() const { return parts_; }

 private:
  std::vector<Part> parts_;
};

}  // namespace flowgrpo::rewards
