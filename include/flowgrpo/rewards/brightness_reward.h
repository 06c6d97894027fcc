#pragma once
/// @file brightness_reward.h
/// `brightness`: the mean pixel value of each image in [0, 1] (all channels and pixels;
/// the reward of the "mean brightness" positive control, docs/shapes.md "Controls").
/// It is a smooth, prompt-independent function of the image that every sample can
/// improve in the same direction, so a policy gradient that cannot move it with its
/// sign cannot move anything; `--set reward.brightness=-1` is its negation.

#include "flowgrpo/rewards/reward.h"

namespace flowgrpo::rewards {

class BrightnessReward final : public Reward {
 public:
  std::string name() const override { return "brightness"; }
  /// Throws std::invalid_argument if the batch is malformed (RewardBatch::validate).
  RewardResult score(const RewardBatch& batch) override;
  ScoreRange valid_range() const override { return {0.0, 1.0}; }
};

}  // namespace flowgrpo::rewards
