#include "flowgrpo/train/micro_batches.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <vector>

namespace ft = flowgrpo::train;

namespace {

std::vector<int64_t> values(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

}  // namespace

TEST(MicroBatches, ShuffledCutsTheKeptSamplesIntoEqualParts) {
  auto gen = at::detail::createCPUGenerator(3);
  const auto kept = torch::tensor(std::vector<int64_t>{0, 2, 3, 5, 6, 7}, torch::kLong);
  const auto parts = ft::shuffled_micro_batches(kept, 3, gen);
  ASSERT_EQ(parts.size(), 3u);
  std::multiset<int64_t> seen;
  for (const auto& p : parts) {
    EXPECT_EQ(p.numel(), 2);
    for (auto v : values(p)) seen.insert(v);
  }
  EXPECT_EQ(seen, (std::multiset<int64_t>{0, 2, 3, 5, 6, 7}));
  EXPECT_THROW(ft::shuffled_micro_batches(kept, 4, gen), std::invalid_argument);
}

TEST(MicroBatches, WholeGroupsStayTogetherAndSizesAreBalanced) {
  // 10 groups of unequal kept sizes (a filtered epoch): prompt p has p % 3 + 2 samples.
  std::vector<int64_t> prompt_of;
  for (int64_t p = 0; p < 10; ++p)
    for (int64_t i = 0; i < p % 3 + 2; ++i) prompt_of.push_back(p * 7);  // any prompt ids
  const auto prompt_index = torch::tensor(prompt_of, torch::kLong);
  std::vector<int64_t> kept_v;
  for (int64_t i = 0; i < prompt_index.numel(); ++i)
    if (i != 4) kept_v.push_back(i);  // one sample of group 1 was filtered out
  const auto kept = torch::tensor(kept_v, torch::kLong);
  std::set<std::vector<int64_t>> orders;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    auto gen = at::detail::createCPUGenerator(seed);
    const auto parts = ft::whole_group_micro_batches(kept, prompt_index, 4, gen);
    ASSERT_EQ(parts.size(), 4u);
    std::multiset<int64_t> seen;
    std::map<int64_t, int> part_of_prompt;
    std::vector<int64_t> flat;
    for (size_t b = 0; b < parts.size(); ++b) {
      // Balanced to within one group (at most 4 samples) of the mean 7.75.
      EXPECT_LE(std::abs(static_cast<double>(parts[b].numel()) - 7.75), 4.0) << "seed " << seed;
      for (auto v : values(parts[b])) {
        seen.insert(v);
        flat.push_back(v);
        const auto [it, added] = part_of_prompt.emplace(prompt_of[static_cast<size_t>(v)], static_cast<int>(b));
        EXPECT_EQ(it->second, static_cast<int>(b)) << "group of prompt " << it->first << " split, seed " << seed;
      }
    }
    EXPECT_EQ(seen, std::multiset<int64_t>(kept_v.begin(), kept_v.end()));
    orders.insert(flat);
  }
  EXPECT_GT(orders.size(), 4u) << "the group order must depend on the generator";
}

TEST(MicroBatches, FewerGroupsThanMicroBatchesLeavesSomeEmpty) {
  auto gen = at::detail::createCPUGenerator(1);
  const auto prompt_index = torch::tensor(std::vector<int64_t>{0, 0, 1, 1}, torch::kLong);
  const auto parts = ft::whole_group_micro_batches(torch::arange(4, torch::kLong), prompt_index, 4, gen);
  ASSERT_EQ(parts.size(), 4u);
  int64_t total = 0, empty = 0;
  for (const auto& p : parts) {
    total += p.numel();
    empty += p.numel() == 0;
  }
  EXPECT_EQ(total, 4);
  EXPECT_EQ(empty, 2);
  EXPECT_THROW(ft::whole_group_micro_batches(torch::arange(4, torch::kLong), prompt_index, 0, gen),
               std::invalid_argument);
  EXPECT_THROW(ft::whole_group_micro_batches(torch::tensor(std::vector<int64_t>{5}, torch::kLong), prompt_index, 2, gen),
               std::invalid_argument);
}
