#pragma once
/// @file score_range_reward.h
/// A reward whose scores are checked against a valid range (ScoreRange, reward.h): a
/// valid score outside it is masked with a reason naming the reward, the value and the
/// range, like any failed sample. A finite but absurd score (a server replying 1e308)
/// is a broken scorer, not a signal, and one such value would otherwise dominate its
/// group's statistics.
///
/// The registry wraps every reward whose range is bounded (its own `valid_range()` or the
/// options `min_score` / `max_score`, reward_registry.h), so code never builds this itself.

#include "flowgrpo/rewards/reward.h"

#include <memory>

namespace flowgrpo::rewards {

class ScoreRangeReward final : public Reward {
 public:
  /// Throws std::invalid_argument for a null reward or a range with min > max or a NaN end.
  ScoreRangeReward(std::unique_ptr<Reward> inner, ScoreRange range);

  std::string name() const override { return inner_->name(); }
  /// The inner reward's result (checked with RewardResult::check), with out-of-range
  /// scores masked and their components set to NaN.
  RewardResult score(const RewardBatch& batch) override;
  ScoreRange valid_range() const override { return range_; }

  /// The wrapped reward (e.g. to read a RemoteReward's options).
  Reward& inner() { return *inner_; }
  const Reward& inner() const { return *inner_; }

 private:
  std::unique_ptr<Reward> inner_;
  ScoreRange range_;
};

/// `reward` itself, or the reward a ScoreRangeReward wraps (for dynamic_cast to a concrete type).
Reward& unwrap_score_range(Reward& reward);

}  // namespace flowgrpo::rewards
