#include "flowgrpo/rl/stat_tracker.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "support/test_support.h"

namespace rl = flowgrpo::rl;
using flowgrpo::testing::all_close;

namespace {

using flowgrpo::testing::f64;
torch::Tensor i64(std::vector<int64_t> v) {
  return torch::tensor(v, torch::kLong);
}

// The example of stat_tracking.py::main: prompts a, b, a, c, b, a with rewards 1..6, here as
// interleaved prompt indices 0, 1, 0, 2, 1, 0.
const std::vector<double> kRewards = {1, 2, 3, 4, 5, 6};
const std::vector<int64_t> kPrompts = {0, 1, 0, 2, 1, 0};

}  // namespace

TEST(StatTracker, GroupStdUsesPopulationStdOfEachPromptGroup) {
  rl::PerPromptStatTracker tracker({/*per_prompt=*/true, /*global_std=*/false});
  const auto a = tracker.update(f64(kRewards), i64(kPrompts));
  ASSERT_EQ(a.scalar_type(), torch::kDouble);
  // Group 0 = {1, 3, 6}: mean 10/3, population variance (49 + 1 + 64) / 9 / 3 = 114/27.
  const double m0 = 10.0 / 3.0, s0 = std::sqrt(114.0 / 27.0) + 1e-4;
  // Group 1 = {2, 5}: mean 3.5, population std 1.5. Group 2 = {4}: std 0, A = 0.
  const double m1 = 3.5, s1 = 1.5 + 1e-4;
  const auto expected = f64({(1 - m0) / s0, (2 - m1) / s1, (3 - m0) / s0, 0.0, (5 - m1) / s1, (6 - m0) / s0});
  EXPECT_TRUE(all_close(a, expected, 1e-12));
  // Not the sample std (ddof = 1): group 1 would give 1.5·√2.
  EXPECT_GT(std::abs(a[1].item<double>() - (2 - m1) / (1.5 * std::sqrt(2.0) + 1e-4)), 0.1);
}

TEST(StatTracker, GlobalStdUsesPopulationStdOfAllRewards) {
  rl::PerPromptStatTracker tracker({true, /*global_std=*/true});
  const auto a = tracker.update(f64(kRewards), i64(kPrompts));
  // All six: mean 3.5, population variance 17.5 / 6.
  const double s = std::sqrt(17.5 / 6.0) + 1e-4;
  const double m0 = 10.0 / 3.0, m1 = 3.5;
  const auto expected = f64({(1 - m0) / s, (2 - m1) / s, (3 - m0) / s, 0.0, (5 - m1) / s, (6 - m0) / s});
  EXPECT_TRUE(all_close(a, expected, 1e-12));
}

TEST(StatTracker, EpsilonIsAddedToTheStd) {
  // Group {0, 2e-4}: population std 1e-4, so A = ±1e-4 / (1e-4 + 1e-4) = ±0.5.
  rl::PerPromptStatTracker tracker;
  const auto a = tracker.update(f64({0.0, 2e-4}), i64({7, 7}));
  EXPECT_TRUE(all_close(a, f64({-0.5, 0.5}), 1e-12));
}

TEST(StatTracker, ZeroStdGroupGetsExactlyZeroAdvantage) {
  // 0.1 is not exactly representable; a summed mean would leave a 1e-17 residue.
  for (bool global : {false, true}) {
    rl::PerPromptStatTracker tracker({true, global});
    const auto a = tracker.update(f64({0.1, 0.7, 0.1, 0.2, 0.1}), i64({3, 4, 3, 4, 3}));
    EXPECT_EQ(a[0].item<double>(), 0.0) << "global_std " << global;
    EXPECT_EQ(a[2].item<double>(), 0.0);
    EXPECT_EQ(a[4].item<double>(), 0.0);
    EXPECT_NE(a[1].item<double>(), 0.0);
  }
  rl::PerPromptStatTracker global_norm({/*per_prompt=*/false, false});
  const auto a = global_norm.update(f64({0.1, 0.1, 0.1}), i64({0, 1, 2}));
  EXPECT_TRUE(torch::equal(a, torch::zeros({3}, torch::kDouble)));
}

TEST(StatTracker, GroupsByIndexRegardlessOfOrder) {
  rl::PerPromptStatTracker sorted_tracker({true, false});
  rl::PerPromptStatTracker shuffled_tracker({true, false});
  const auto sorted = sorted_tracker.update(f64({1, 3, 6, 2, 5, 4}), i64({0, 0, 0, 1, 1, 2}));
  // The same samples, interleaved (kPrompts order): sample k of the sorted list is at perm[k].
  const auto shuffled = shuffled_tracker.update(f64(kRewards), i64(kPrompts));
  const std::vector<int64_t> perm = {0, 2, 5, 1, 4, 3};
  for (size_t k = 0; k < perm.size(); ++k)
    EXPECT_DOUBLE_EQ(sorted[k].item<double>(), shuffled[perm[k]].item<double>()) << k;
}

TEST(StatTracker, AcceptsFloat32RewardsAndInt32Indices) {
  rl::PerPromptStatTracker tracker;
  const auto a = tracker.update(torch::tensor({1.0f, 3.0f}), torch::tensor({5, 5}, torch::kInt));
  EXPECT_EQ(a.scalar_type(), torch::kDouble);
  EXPECT_TRUE(all_close(a, f64({-1.0 / 1.0001, 1.0 / 1.0001}), 1e-12));
}

TEST(StatTracker, InvalidSamplesAreExcludedFromEveryStatistic) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto valid = torch::tensor({true, true, false, true, true, true, false});
  const auto rewards = f64({1, 2, nan, 4, 5, 6, 1000});
  const auto prompts = i64({0, 1, 0, 2, 1, 0, 9});
  for (bool global : {false, true}) {
    rl::PerPromptStatTracker masked({true, global});
    const auto a = masked.update(rewards, prompts, valid);
    // Identical to the tracker fed only the valid samples.
    rl::PerPromptStatTracker clean({true, global});
    const auto b = clean.update(f64({1, 2, 4, 5, 6}), i64({0, 1, 2, 1, 0}));
    EXPECT_EQ(a[2].item<double>(), 0.0);
    EXPECT_EQ(a[6].item<double>(), 0.0);
    const auto kept = a.index({valid});
    EXPECT_TRUE(all_close(kept, b, 0.0)) << "global_std " << global;
    const auto s = masked.stats();
    EXPECT_EQ(s.num_samples, 7);
    EXPECT_EQ(s.num_invalid, 2);
    EXPECT_EQ(s.num_prompts, 3);  // prompt 9 has no valid sample
    EXPECT_EQ(s.trained_prompt_num, 3);
    EXPECT_EQ(s.min_group_size, 1);
    EXPECT_EQ(s.max_group_size, 2);
  }
}

TEST(StatTracker, ValidRewardThatIsNotFiniteThrows) {
  rl::PerPromptStatTracker tracker;
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_THROW(tracker.update(f64({1, inf}), i64({0, 0})), std::invalid_argument);
  EXPECT_THROW(tracker.update(f64({1, std::nan("")}), i64({0, 0})), std::invalid_argument);
}

TEST(StatTracker, AllInvalidGivesZeros) {
  rl::PerPromptStatTracker tracker({true, true});
  const auto a = tracker.update(f64({1, 2}), i64({0, 0}), torch::tensor({false, false}));
  EXPECT_TRUE(torch::equal(a, torch::zeros({2}, torch::kDouble)));
  EXPECT_EQ(tracker.stats().num_prompts, 0);
  EXPECT_EQ(tracker.stats().zero_std_ratio, 0.0);
}

TEST(StatTracker, EpochStatsMatchCalculateZeroStdRatio) {
  rl::PerPromptStatTracker tracker({true, true});
  // Groups: 0 = {1, 1, 1} (std 0), 1 = {0, 1} (std 0.5), 2 = {0.25, 0.25} (std 0), 3 = {0, 0, 3} (std √2).
  tracker.update(f64({1, 0, 1, 0.25, 0, 0.25, 1, 1, 0, 3}), i64({0, 1, 0, 2, 3, 2, 0, 1, 3, 3}));
  const auto s = tracker.stats();
  EXPECT_EQ(s.num_prompts, 4);
  EXPECT_DOUBLE_EQ(s.zero_std_ratio, 0.5);
  EXPECT_NEAR(s.reward_std_mean, (0 + 0.5 + 0 + std::sqrt(2.0)) / 4, 1e-15);
  EXPECT_DOUBLE_EQ(s.mean_group_size, 2.5);
  EXPECT_EQ(s.min_group_size, 2);
  EXPECT_EQ(s.max_group_size, 3);
}

TEST(StatTracker, ClearStartsANewEpochButKeepsHistory) {
  rl::PerPromptStatTracker tracker;
  tracker.update(f64({1, 2}), i64({0, 0}));
  tracker.clear();
  EXPECT_EQ(tracker.stats().num_prompts, 0);
  EXPECT_EQ(tracker.stats().num_samples, 0);
  EXPECT_EQ(tracker.stats().trained_prompt_num, 1);
  // Epoch statistics do not leak: prompt 0 again, with new rewards only.
  const auto a = tracker.update(f64({10, 14, 5}), i64({0, 0, 1}));
  EXPECT_TRUE(all_close(a, f64({-2 / 2.0001, 2 / 2.0001, 0}), 1e-12));
  EXPECT_EQ(tracker.stats().trained_prompt_num, 2);
  tracker.reset_history();
  EXPECT_EQ(tracker.stats().trained_prompt_num, 0);
}

TEST(StatTracker, RewardsAccumulatePerPromptWithinAnEpoch) {
  // stat_tracking.py extends stats[prompt] across update() calls until clear().
  rl::PerPromptStatTracker tracker;
  tracker.update(f64({0, 2}), i64({0, 0}));
  const auto a = tracker.update(f64({4}), i64({0}));
  // Group {0, 2, 4}: mean 2, population std √(8/3).
  EXPECT_NEAR(a[0].item<double>(), 2 / (std::sqrt(8.0 / 3.0) + 1e-4), 1e-12);
  EXPECT_EQ(tracker.stats().max_group_size, 3);
}

TEST(StatTracker, GlobalNormalisationWhenTrackingIsOff) {
  // train_sd3.py with per_prompt_stat_tracking off (forced when k = 1).
  rl::PerPromptStatTracker tracker({/*per_prompt=*/false, false});
  const auto a = tracker.update(f64(kRewards), i64({0, 1, 2, 3, 4, 5}));
  const double s = std::sqrt(17.5 / 6.0) + 1e-4;
  EXPECT_TRUE(all_close(a, (f64(kRewards) - 3.5) / s, 1e-12));
  // With k = 1 per-prompt tracking would give all zeros.
  rl::PerPromptStatTracker per_prompt;
  EXPECT_TRUE(torch::equal(per_prompt.update(f64(kRewards), i64({0, 1, 2, 3, 4, 5})),
                           torch::zeros({6}, torch::kDouble)));
}

TEST(StatTracker, RejectsBadInputs) {
  rl::PerPromptStatTracker tracker;
  EXPECT_THROW(tracker.update(torch::ones({2, 2}, torch::kDouble), i64({0, 0})), std::invalid_argument);
  EXPECT_THROW(tracker.update(f64({1, 2}), i64({0})), std::invalid_argument);
  EXPECT_THROW(tracker.update(f64({1, 2}), torch::tensor({0.0, 1.0})), std::invalid_argument);
  EXPECT_THROW(tracker.update(torch::tensor({1, 2}), i64({0, 0})), std::invalid_argument);
  EXPECT_THROW(tracker.update(f64({1, 2}), i64({0, 0}), torch::tensor({1, 1})), std::invalid_argument);
  EXPECT_THROW(tracker.update(f64({1, 2}), i64({0, 0}), torch::tensor({true})), std::invalid_argument);
  EXPECT_THROW(tracker.update(torch::Tensor(), i64({0, 0})), std::invalid_argument);
  // Nothing was recorded by the failed calls.
  EXPECT_EQ(tracker.stats().num_samples, 0);
}

TEST(StatTracker, EmptyUpdateIsANoOp) {
  rl::PerPromptStatTracker tracker;
  const auto a = tracker.update(torch::empty({0}, torch::kDouble), torch::empty({0}, torch::kLong));
  EXPECT_EQ(a.numel(), 0);
  EXPECT_EQ(tracker.stats().num_prompts, 0);
}

// Issue 14: finite but absurd rewards (a server replying 1e308) used to overflow the sum of
// squares, making every advantage NaN. The statistics are scale-invariant: the advantages
// of {x·c} are those of {x} for any power-of-two c, as far as double range allows.
TEST(StatTracker, HugeFiniteRewardsDoNotOverflow) {
  for (const bool global_std : {false, true}) {
    SCOPED_TRACE(global_std ? "global std" : "group std");
    rl::PerPromptStatTracker small({true, global_std});
    rl::PerPromptStatTracker huge({true, global_std});
    const std::vector<double> base = {1, -1, 0.5, 1, 0.25, -0.75};
    std::vector<double> scaled;
    for (double v : base) scaled.push_back(v * std::ldexp(1.0, 1022));  // up to ~4.5e307
    const auto a_small = small.update(f64(base), i64(kPrompts));
    const auto a_huge = huge.update(f64(scaled), i64(kPrompts));
    EXPECT_TRUE(torch::isfinite(a_huge).all().item<bool>()) << a_huge;
    // ε is negligible next to a std of 1e307 and not next to one of 1: compare loosely.
    EXPECT_TRUE(all_close(a_huge, a_small, 1e-3)) << a_huge << a_small;
    const auto stats = huge.stats();
    EXPECT_TRUE(std::isfinite(stats.reward_std_mean)) << stats.reward_std_mean;
  }
  // Extremes of both signs in one group: r − mean alone would overflow.
  rl::PerPromptStatTracker tracker({true, false});
  const double m = std::numeric_limits<double>::max();
  const auto a = tracker.update(f64({m, -m, m, -m}), i64({0, 0, 0, 0}));
  EXPECT_TRUE(all_close(a, f64({1, -1, 1, -1}), 1e-12)) << a;
  EXPECT_TRUE(std::isfinite(tracker.stats().reward_std_mean));
  // Global normalisation (tracking off) too.
  rl::PerPromptStatTracker global({false, false});
  const auto g = global.update(f64({1e308, -1e308, 1e308, 0}), i64({0, 1, 2, 3}));
  EXPECT_TRUE(torch::isfinite(g).all().item<bool>()) << g;
}
