// The one place that lists flowgrpo's built-in rewards.
#include "flowgrpo/rewards/reward_registry.h"
#include "flowgrpo/rewards/shapes_reward.h"

namespace flowgrpo::rewards {

void register_builtin_rewards(RewardRegistry& registry) {
  // Built-in rewards are added here as they land (see docs/rewards.md).
  registry.add("shapes",
               "ShapesEval: GenEval-style partial credit and strict accuracy from a colour/shape detector",
               [](const nlohmann::json& options) { return ShapesReward::from_options(options); });
}

}  // namespace flowgrpo::rewards
