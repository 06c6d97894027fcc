// Positive control on the shipped base (labelled slow): the same short
// flowgrpo-train run with a simple reward (mean brightness) at +1 and at -1 must
// move that reward in opposite directions, by more than an undirected policy would
// (docs/shapes.md, "Controls").
//
// Both runs draw the same prompts and noise at every epoch, so the paired difference
// d_e = brightness(+1 run, epoch e) − brightness(−1 run, epoch e) is exactly 0 at
// epoch 0 and afterwards measures only how the two policies differ; the sampling
// noise of an epoch's mean (±0.005 here, larger than the effect) cancels. An update
// that moved the policy without following the reward's sign would make d a random
// walk: increments of either sign, |d| of order s·√n after n steps (s: the increments'
// standard deviation). A trainer that learns makes d grow steadily positive.
//
// The recipe: one on-policy step per epoch of 256 images (32 groups of 8), lr 1e-3,
// the reference's SDE at the first step only with a shared initial latent per group
// (Flow-GRPO-Fast, window of 1): as clean per image as the full SDE for this reward
// and a third of its cost. With the shipped configs/shapes.yaml settings (32-image
// steps) a few epochs do not move it (docs/shapes.md). The two runs go side by side,
// one LibTorch thread each (about 2 minutes on 2 cores).
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <iterator>

namespace ft = flowgrpo::testing;

namespace {

constexpr int kEpochs = 12;

// The training command of one run (one LibTorch thread: the two runs go side by side).
std::string train_command(double sign, const std::filesystem::path& out) {
  char weight[32];
  std::snprintf(weight, sizeof weight, "%+.1f", sign);
  return (ft::binary_dir() / "apps" / "flowgrpo-train").string() +
         " --config configs/shapes.yaml --threads 1 --output-dir " + out.string() +
         " --set reward.shapes=0 --set reward.brightness=" + weight +
         " --set sample.sde_window_size=1 --set sample.sde_window_range=[0,1] --set sample.same_latent=true"
         " --set sample.num_batches_per_epoch=16 --set train.gradient_accumulation_steps=16"
         " --set train.learning_rate=1e-3 --set train.num_epochs=" +
         std::to_string(kEpochs) + " --set train.eval_freq=0 --set train.save_freq=0 > " +
         (out / "log.txt").string() + " 2>&1";
}

// The raw (unweighted) brightness of each epoch's rollouts.
std::vector<double> brightness_per_epoch(const std::filesystem::path& out) {
  std::vector<double> rewards;
  std::ifstream in(out / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto row = nlohmann::json::parse(line);
    if (row.contains("reward_brightness") && !row.contains("final"))
      rewards.push_back(row["reward_brightness"].get<double>());
  }
  return rewards;
}

}  // namespace

TEST(ShapesRewardControl, ARewardAndItsNegationMoveThePolicyOppositeWays) {
  ft::TempDir up_dir, down_dir;
  // Both runs at once, one thread each; the exit status is non-zero if either failed.
  const auto r = ft::run_command("cd " + std::string(FLOWGRPO_SOURCE_DIR) + " && { " +
                                 train_command(+1.0, up_dir.path()) + " & p1=$!; " +
                                 train_command(-1.0, down_dir.path()) +
                                 " & p2=$!; wait $p1; r1=$?; wait $p2; r2=$?; exit $((r1 | r2)); }");
  for (const auto* d : {&up_dir, &down_dir}) {
    std::ifstream log(*d / "log.txt");
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    ASSERT_EQ(r.exit_code, 0) << text;
  }
  const auto up = brightness_per_epoch(up_dir.path());
  const auto down = brightness_per_epoch(down_dir.path());
  ASSERT_EQ(up.size(), static_cast<size_t>(kEpochs));
  ASSERT_EQ(down.size(), static_cast<size_t>(kEpochs));
  EXPECT_NEAR(up[0], down[0], 1e-9) << "epoch 0 samples the same base policy in both runs";
  std::vector<double> d, step;
  for (int e = 0; e < kEpochs; ++e) d.push_back(up[e] - down[e]);
  for (int e = 1; e < kEpochs; ++e) step.push_back(d[e] - d[e - 1]);
  double mean_step = 0, var_step = 0;
  for (double s : step) mean_step += s / static_cast<double>(step.size());
  for (double s : step) var_step += (s - mean_step) * (s - mean_step) / static_cast<double>(step.size() - 1);
  const double random_walk = std::sqrt(var_step) * std::sqrt(static_cast<double>(step.size()));
  const double final_d = (d[kEpochs - 1] + d[kEpochs - 2] + d[kEpochs - 3]) / 3;
  std::printf("  paired brightness difference (+1 run − −1 run) by epoch:");
  for (double x : d) std::printf(" %+.4f", x);
  std::printf("\n  last three epochs %+.4f; an undirected walk of these steps: ±%.4f\n", final_d,
              random_walk);
  for (int e = kEpochs / 2; e < kEpochs; ++e) EXPECT_GT(d[e], 0.0) << "epoch " << e;
  EXPECT_GT(final_d, 2.0 * random_walk);
}
