#include "flowgrpo/rl/zero_advantage_filter.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <limits>
#include <set>
#include <stdexcept>
#include <vector>

namespace rl = flowgrpo::rl;

namespace {

std::vector<int64_t> to_vector(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

// [N, T] advantages that are non-zero (at timestep 1 only) exactly for `nonzero`.
torch::Tensor advantages_with_nonzero(int64_t n, int64_t t, const std::vector<int64_t>& nonzero) {
  auto a = torch::zeros({n, t}, torch::kDouble);
  for (auto i : nonzero) a[i][t > 1 ? 1 : 0] = (i % 2 ? -0.5 : 0.7);
  return a;
}

rl::ZeroAdvantageFilterOptions opts(int64_t batches, uint64_t seed,
                                    rl::EmptyEpochPolicy p = rl::EmptyEpochPolicy::kKeepNumBatches) {
  rl::ZeroAdvantageFilterOptions o;
  o.num_batches_per_epoch = batches;
  o.seed = seed;
  o.empty_policy = p;
  return o;
}

}  // namespace

TEST(ZeroAdvantageFilter, KeepsNonZeroAndPadsToAMultipleOfNumBatches) {
  const std::vector<int64_t> nonzero = {0, 3, 4, 9, 11};
  const auto a = advantages_with_nonzero(12, 3, nonzero);
  const auto r = rl::filter_zero_advantages(a, {}, opts(4, 1));
  const auto kept = to_vector(r.kept_indices);
  ASSERT_EQ(kept.size(), 8u);
  EXPECT_TRUE(std::is_sorted(kept.begin(), kept.end()));
  EXPECT_EQ(std::set<int64_t>(kept.begin(), kept.end()).size(), 8u);
  for (auto i : nonzero) EXPECT_NE(std::find(kept.begin(), kept.end(), i), kept.end()) << i;
  EXPECT_EQ(r.num_nonzero, 5);
  EXPECT_EQ(r.num_padded, 3);
  EXPECT_EQ(r.num_trimmed, 0);
  EXPECT_EQ(r.actual_batch_size, 2);
  EXPECT_FALSE(r.nothing_to_train);
  // The padding are zero-advantage samples.
  for (auto i : kept) {
    if (std::find(nonzero.begin(), nonzero.end(), i) == nonzero.end()) {
      EXPECT_EQ(a[i].abs().sum().item<double>(), 0.0);
    }
  }
}

TEST(ZeroAdvantageFilter, NoPaddingWhenAlreadyDivisible) {
  const auto a = advantages_with_nonzero(8, 2, {1, 2, 5, 6});
  const auto r = rl::filter_zero_advantages(a, {}, opts(2, 0));
  EXPECT_EQ(to_vector(r.kept_indices), (std::vector<int64_t>{1, 2, 5, 6}));
  EXPECT_EQ(r.num_padded, 0);
  // 1-D advantages behave like [N, 1].
  const auto r1 = rl::filter_zero_advantages(a.select(1, 1).contiguous(), {}, opts(2, 0));
  EXPECT_EQ(to_vector(r1.kept_indices), (std::vector<int64_t>{1, 2, 5, 6}));
}

TEST(ZeroAdvantageFilter, ZeroAtSomeTimestepsOnlyIsKept) {
  auto a = torch::zeros({2, 3}, torch::kDouble);
  a[0][2] = 1e-300;  // non-zero, however small
  const auto r = rl::filter_zero_advantages(a, {}, opts(1, 0));
  EXPECT_EQ(to_vector(r.kept_indices), (std::vector<int64_t>{0}));
}

TEST(ZeroAdvantageFilter, IsDeterministicGivenTheSeed) {
  const auto a = advantages_with_nonzero(48, 2, {0, 5, 17, 30, 41});
  const auto first = to_vector(rl::filter_zero_advantages(a, {}, opts(4, 1234)).kept_indices);
  for (int rep = 0; rep < 3; ++rep)
    EXPECT_EQ(to_vector(rl::filter_zero_advantages(a, {}, opts(4, 1234)).kept_indices), first);
  // Different seeds choose different padding (43 candidates for 3 places).
  std::set<std::vector<int64_t>> distinct;
  for (uint64_t seed = 0; seed < 20; ++seed)
    distinct.insert(to_vector(rl::filter_zero_advantages(a, {}, opts(4, seed)).kept_indices));
  EXPECT_GT(distinct.size(), 10u);
}

TEST(ZeroAdvantageFilter, PaddingCoversEveryCandidate) {
  // Uniformity smoke test: over many seeds every zero-advantage sample gets picked.
  const auto a = advantages_with_nonzero(10, 1, {0});
  std::vector<int> hits(10, 0);
  for (uint64_t seed = 0; seed < 400; ++seed)
    for (auto i : to_vector(rl::filter_zero_advantages(a, {}, opts(2, seed)).kept_indices)) ++hits[i];
  EXPECT_EQ(hits[0], 400);
  for (int i = 1; i < 10; ++i) {
    EXPECT_GT(hits[i], 20) << i;  // expectation 400 / 9 ≈ 44
    EXPECT_LT(hits[i], 80) << i;
  }
}

TEST(ZeroAdvantageFilter, EmptyEpochKeepsNumBatchesByDefault) {
  const auto a = torch::zeros({12, 2}, torch::kDouble);
  const auto r = rl::filter_zero_advantages(a, {}, opts(4, 7));
  EXPECT_EQ(r.kept_indices.numel(), 4);
  EXPECT_EQ(r.num_nonzero, 0);
  EXPECT_EQ(r.num_padded, 4);
  EXPECT_EQ(r.actual_batch_size, 1);
  EXPECT_FALSE(r.nothing_to_train);
}

TEST(ZeroAdvantageFilter, EmptyEpochCanBeSkipped) {
  const auto a = torch::zeros({12, 2}, torch::kDouble);
  const auto r = rl::filter_zero_advantages(a, {}, opts(4, 7, rl::EmptyEpochPolicy::kSkip));
  EXPECT_EQ(r.kept_indices.numel(), 0);
  EXPECT_EQ(r.kept_indices.scalar_type(), torch::kLong);
  EXPECT_TRUE(r.nothing_to_train);
  EXPECT_EQ(r.actual_batch_size, 0);
}

TEST(ZeroAdvantageFilter, InvalidSamplesAreNeverKeptOrPadded) {
  // Sample 2 has a non-zero advantage but an invalid reward; 4..7 are invalid.
  const auto a = advantages_with_nonzero(8, 2, {0, 1, 2});
  const auto valid = torch::tensor({true, true, false, true, false, false, false, false});
  const auto r = rl::filter_zero_advantages(a, valid, opts(2, 3));
  // Kept {0, 1} is already even; nothing from the invalid ones.
  EXPECT_EQ(to_vector(r.kept_indices), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(r.num_invalid, 5);
  EXPECT_EQ(r.num_nonzero, 2);
  // Three micro-batches: 2 kept + 1 padding from the single valid zero sample (3).
  const auto r3 = rl::filter_zero_advantages(a, valid, opts(3, 3));
  EXPECT_EQ(to_vector(r3.kept_indices), (std::vector<int64_t>{0, 1, 3}));
  EXPECT_EQ(r3.num_padded, 1);
}

TEST(ZeroAdvantageFilter, TrimsWhenTooFewValidSamplesCanBeAddedBack) {
  // Two batches: 3 non-zero kept, 1 missing, one valid zero-advantage candidate -> padded.
  const auto a = advantages_with_nonzero(8, 1, {0, 1, 2});
  const auto valid = torch::tensor({true, true, true, true, false, false, false, false});
  const auto r2 = rl::filter_zero_advantages(a, valid, opts(2, 0));
  EXPECT_EQ(to_vector(r2.kept_indices), (std::vector<int64_t>{0, 1, 2, 3}));
  // Five non-zero, four batches, no valid zero-advantage sample: drop one non-zero sample.
  const auto b = advantages_with_nonzero(8, 1, {0, 1, 2, 3, 4});
  const auto valid_b = torch::tensor({true, true, true, true, true, false, false, false});
  const auto r4 = rl::filter_zero_advantages(b, valid_b, opts(4, 5));
  EXPECT_EQ(r4.kept_indices.numel(), 4);
  EXPECT_EQ(r4.num_trimmed, 1);
  for (auto i : to_vector(r4.kept_indices)) EXPECT_LE(i, 4);
  // Fewer non-zero samples than batches and no candidates: nothing to train.
  const auto r8 = rl::filter_zero_advantages(a, valid, opts(8, 0));
  EXPECT_TRUE(r8.nothing_to_train);
  EXPECT_EQ(r8.num_trimmed, 3);
}

TEST(ZeroAdvantageFilter, EmptyEpochWithTooFewValidSamples) {
  const auto a = torch::zeros({4, 1}, torch::kDouble);
  const auto valid = torch::tensor({true, false, false, false});
  const auto r = rl::filter_zero_advantages(a, valid, opts(2, 0));
  EXPECT_TRUE(r.nothing_to_train);
}

TEST(ZeroAdvantageFilter, RejectsBadInputs) {
  const auto a = torch::zeros({4, 2}, torch::kDouble);
  EXPECT_THROW(rl::filter_zero_advantages(a, {}, opts(0, 0)), std::invalid_argument);
  EXPECT_THROW(rl::filter_zero_advantages(torch::zeros({4, 2, 1}), {}, opts(1, 0)), std::invalid_argument);
  EXPECT_THROW(rl::filter_zero_advantages(torch::zeros({4}, torch::kLong), {}, opts(1, 0)),
               std::invalid_argument);
  EXPECT_THROW(rl::filter_zero_advantages(a, torch::tensor({true}), opts(1, 0)), std::invalid_argument);
  auto bad = a.clone();
  bad[1][0] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(rl::filter_zero_advantages(bad, {}, opts(1, 0)), std::invalid_argument);
  // ... unless that sample is invalid anyway.
  EXPECT_NO_THROW(rl::filter_zero_advantages(bad, torch::tensor({true, false, true, true}), opts(1, 0)));
}

TEST(ZeroAdvantageFilter, PolicyNamesRoundTrip) {
  for (auto p : {rl::EmptyEpochPolicy::kKeepNumBatches, rl::EmptyEpochPolicy::kSkip})
    EXPECT_EQ(rl::parse_empty_epoch_policy(rl::to_string(p)), p);
  try {
    rl::parse_empty_epoch_policy("drop");
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("keep_num_batches, skip"), std::string::npos);
  }
}
