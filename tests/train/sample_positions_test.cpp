#include "flowgrpo/train/sample_positions.h"

#include <gtest/gtest.h>

#include <set>

namespace ft = flowgrpo::train;

// Positions follow the K-repeat sampler's slots: iteration i, rank r, slot j ->
// i*W*b + r*b + j, whatever W is; gathered (rank-major) rows map onto them one to one.
TEST(SamplePositions, GlobalPositionsDoNotDependOnTheLayout) {
  const int64_t W = 3, b = 2, B = 2;
  std::set<int64_t> seen;
  for (int64_t r = 0; r < W; ++r) {
    const ft::SamplePositions p(W, r, b, B);
    EXPECT_EQ(p.local_count(), b * B);
    EXPECT_EQ(p.global_count(), W * b * B);
    for (int64_t l = 0; l < p.local_count(); ++l) {
      const int64_t i = l / b, j = l % b;
      const int64_t g = p.global_of_local(l);
      EXPECT_EQ(g, i * W * b + r * b + j);
      EXPECT_EQ(p.owner(g), r);
      EXPECT_EQ(p.local_of_global(g), l);
      seen.insert(g);
    }
    EXPECT_EQ(p.slot_in_iteration(1), r * b + 1);
    // The gathered tensor holds rank r's local sample l at row r*b*B + l.
    const auto rows = p.gathered_rows();
    for (int64_t g = 0; g < p.global_count(); ++g)
      EXPECT_EQ(rows[g].item<int64_t>(), p.owner(g) * p.local_count() + p.local_of_global(g));
    // A rank's members of a set of positions, in their order there.
    const auto members = p.local_members(torch::tensor({11, 0, 4, 3, 8}, torch::kLong));
    std::vector<int64_t> expected;
    for (int64_t g : {11, 0, 4, 3, 8})
      if (p.owner(g) == r) expected.push_back(p.local_of_global(g));
    EXPECT_TRUE(torch::equal(members, torch::tensor(expected, torch::kLong)));
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(W * b * B));
  // One process with the whole batch: every order is the identity.
  const ft::SamplePositions one(1, 0, W * b, B);
  EXPECT_TRUE(torch::equal(one.gathered_rows(), torch::arange(W * b * B, torch::kLong)));
  EXPECT_TRUE(torch::equal(one.global_of_locals(), torch::arange(W * b * B, torch::kLong)));
  EXPECT_THROW(ft::SamplePositions(2, 2, 1, 1), std::invalid_argument);
  EXPECT_THROW(one.local_members(torch::tensor({W * b * B}, torch::kLong)), std::out_of_range);
}
