#include "flowgrpo/rewards/score_range_reward.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace flowgrpo::rewards {

ScoreRangeReward::ScoreRangeReward(std::unique_ptr<Reward> inner, ScoreRange range)
    : inner_(std::move(inner)), range_(range) {
  if (!inner_) throw std::invalid_argument("ScoreRangeReward: no reward given");
  if (std::isnan(range_.min) || std::isnan(range_.max) || range_.min > range_.max)
    throw std::invalid_argument("reward '" + inner_->name() + "': min_score must be <= max_score, found " +
                                range_.to_string());
}

RewardResult ScoreRangeReward::score(const RewardBatch& batch) {
  RewardResult result = inner_->score(batch);
  const std::string reward = inner_->name();
  result.check(reward, batch.size());
  const auto scores = result.scores.contiguous();
  const auto valid = result.valid.contiguous();
  const double* s = scores.data_ptr<double>();
  const bool* v = valid.data_ptr<bool>();
  for (int64_t i = 0; i < result.size(); ++i) {
    if (!v[i] || range_.contains(s[i])) continue;
    std::ostringstream reason;
    reason.precision(17);
    reason << "reward '" << reward << "' returned the score " << s[i] << ", outside its valid range "
           << range_.to_string() << " (options min_score / max_score)";
    result.invalidate(i, reason.str());
    // Nothing of a masked sample stays a number (as for any failed sample).
    for (auto& [name, c] : result.components) c[i] = NAN;
  }
  return result;
}

Reward& unwrap_score_range(Reward& reward) {
  if (auto* wrapped = dynamic_cast<ScoreRangeReward*>(&reward)) return wrapped->inner();
  return reward;
}

}  // namespace flowgrpo::rewards
