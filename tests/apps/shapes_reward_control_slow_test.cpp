// Positive control on the shipped base (labelled slow): the same short
// flowgrpo-train run with a simple reward (JPEG compressibility) at +1 and at -1
// must move that reward in opposite directions, by more than the run-to-run
// spread of an epoch's mean. A trainer whose updates were noise, or whose sign
// were lost, moves both runs the same way (docs/shapes.md, "Controls").
//
// DISABLED: on the shipped latent base it fails today, as docs/shapes.md records
// (neither run moves the reward at these settings; at lr 3e-2 it moves without
// following the sign): the policy gradient is noise-dominated at the step sizes 2
// cores afford. Enable it (--gtest_also_run_disabled_tests to try) once a recipe
// learns; it is the acceptance check of issue 16.
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

namespace ft = flowgrpo::testing;

namespace {

constexpr int kEpochs = 8;

// The raw (unweighted) JPEG score of each epoch's rollouts.
std::vector<double> jpeg_reward_per_epoch(double sign, const std::filesystem::path& out) {
  const std::string source = FLOWGRPO_SOURCE_DIR;
  char weight[32];
  std::snprintf(weight, sizeof weight, "%+.1f", sign);
  const auto r = ft::run_command("cd " + source + " && " + (ft::binary_dir() / "apps" / "flowgrpo-train").string() +
                                 " --config configs/shapes.yaml --output-dir " + out.string() +
                                 " --set reward.shapes=0 --set reward.jpeg_compressibility=" + weight +
                                 " --set train.num_epochs=" + std::to_string(kEpochs) +
                                 " --set train.eval_freq=0 --set train.save_freq=0");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::vector<double> rewards;
  std::ifstream in(out / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto row = nlohmann::json::parse(line);
    if (row.contains("reward_jpeg_compressibility") && !row.contains("final"))
      rewards.push_back(row["reward_jpeg_compressibility"].get<double>());
  }
  return rewards;
}

double mean(const std::vector<double>& v, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += v[i];
  return s / static_cast<double>(to - from);
}

}  // namespace

TEST(ShapesRewardControl, DISABLED_ARewardAndItsNegationMoveThePolicyOppositeWays) {
  ft::TempDir up_dir, down_dir;
  const auto up = jpeg_reward_per_epoch(+1.0, up_dir.path());
  const auto down = jpeg_reward_per_epoch(-1.0, down_dir.path());
  ASSERT_EQ(up.size(), static_cast<size_t>(kEpochs));
  ASSERT_EQ(down.size(), static_cast<size_t>(kEpochs));
  // Same seed: epoch 0 samples the same base policy in both runs.
  EXPECT_NEAR(up[0], down[0], 1e-9);
  // Spread of one epoch's mean from sampling alone: both runs draw the same
  // prompts and noise seeds per epoch, so their common mode (up + down) / 2 varies
  // with what was sampled while the opposite pushes cancel; its standard
  // deviation over the epochs is the yardstick.
  std::vector<double> common;
  for (int e = 0; e < kEpochs; ++e) common.push_back(0.5 * (up[e] + down[e]));
  const double c = mean(common, 0, common.size());
  double var = 0;
  for (double x : common) var += (x - c) * (x - c) / (kEpochs - 1);
  const double spread = std::sqrt(var);
  const double moved_up = mean(up, kEpochs - 2, kEpochs) - mean(up, 0, 2);
  const double moved_down = mean(down, kEpochs - 2, kEpochs) - mean(down, 0, 2);
  std::printf("  JPEG reward change over %d epochs: +1 run %+.4f, -1 run %+.4f (sampling spread of an epoch mean %.4f)\n",
              kEpochs, moved_up, moved_down, spread);
  EXPECT_GT(moved_up, 0.0);
  EXPECT_LT(moved_down, 0.0);
  EXPECT_GT(moved_up - moved_down, 4.0 * spread);
}
