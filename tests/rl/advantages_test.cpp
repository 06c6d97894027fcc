#include "flowgrpo/rl/advantages.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>
#include <stdexcept>

namespace rl = flowgrpo::rl;

TEST(Advantages, ClipsToPlusMinusMax) {
  const auto a = torch::tensor({-7.0, -5.0, -1.5, 0.0, 4.9, 5.0, 12.0}, torch::kDouble);
  const auto c = rl::clip_advantages(a, 5.0);
  EXPECT_TRUE(torch::equal(c, torch::tensor({-5.0, -5.0, -1.5, 0.0, 4.9, 5.0, 5.0}, torch::kDouble)));
  EXPECT_THROW(rl::clip_advantages(a, 0.0), std::invalid_argument);
  EXPECT_THROW(rl::clip_advantages(a, -1.0), std::invalid_argument);
  EXPECT_THROW(rl::clip_advantages(a, std::numeric_limits<double>::infinity()), std::invalid_argument);
}

TEST(Advantages, ExpandsOverTimesteps) {
  const auto a = torch::tensor({1.0, -2.0, 3.0}, torch::kDouble);
  const auto e = rl::expand_over_timesteps(a, 4);
  ASSERT_EQ(e.sizes(), (std::vector<int64_t>{3, 4}));
  EXPECT_TRUE(e.is_contiguous());
  for (int64_t j = 0; j < 4; ++j) EXPECT_TRUE(torch::equal(e.select(1, j), a));
  EXPECT_THROW(rl::expand_over_timesteps(a, 0), std::invalid_argument);
  EXPECT_THROW(rl::expand_over_timesteps(e, 2), std::invalid_argument);
}

TEST(Advantages, UngathersRankMajor) {
  // 3 ranks × 2 samples × T = 2; all_gather stacks rank 0's rows first.
  const int64_t world = 3, per_rank = 2, t = 2;
  std::vector<torch::Tensor> local;
  for (int64_t r = 0; r < world; ++r)
    local.push_back(torch::arange(per_rank * t, torch::kDouble).reshape({per_rank, t}) + 100.0 * r);
  const auto gathered = torch::cat(local, 0);
  for (int64_t r = 0; r < world; ++r) {
    const auto mine = rl::ungather_rank_major(gathered, world, r);
    EXPECT_TRUE(torch::equal(mine, local[r])) << "rank " << r;
    // The same as the reference's reshape(num_procs, -1, T)[rank].
    EXPECT_TRUE(torch::equal(mine, gathered.reshape({world, -1, t})[r]));
  }
  // 1-D (e.g. a validity mask) works the same way.
  const auto mask = torch::tensor({true, false, true, true, false, false});
  EXPECT_TRUE(torch::equal(rl::ungather_rank_major(mask, 3, 1), torch::tensor({true, true})));
}

TEST(Advantages, UngatherRejectsBadArguments) {
  const auto g = torch::zeros({6, 2});
  EXPECT_THROW(rl::ungather_rank_major(g, 4, 0), std::invalid_argument);
  EXPECT_THROW(rl::ungather_rank_major(g, 3, 3), std::invalid_argument);
  EXPECT_THROW(rl::ungather_rank_major(g, 3, -1), std::invalid_argument);
  EXPECT_THROW(rl::ungather_rank_major(g, 0, 0), std::invalid_argument);
  EXPECT_THROW(rl::ungather_rank_major(torch::zeros({}), 1, 0), std::invalid_argument);
}
