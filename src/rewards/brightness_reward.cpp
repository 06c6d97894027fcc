#include "flowgrpo/rewards/brightness_reward.h"

namespace flowgrpo::rewards {

RewardResult BrightnessReward::score(const RewardBatch& batch) {
  batch.validate();
  const auto brightness = batch.as_float01().to(torch::kDouble).mean({1, 2, 3});
  return RewardResult::from_scores(brightness);
}

}  // namespace flowgrpo::rewards
