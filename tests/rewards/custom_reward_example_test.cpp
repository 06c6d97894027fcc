// The worked example of docs/rewards.md, compiled and run: a custom reward
// defined here, registered, and selected through a configuration. The code
// between the markers is the code block of the docs (checked below), so the
// documentation cannot drift from what compiles.
#include "flowgrpo/config/config_loader.h"
#include "flowgrpo/rewards/reward_registry.h"
#include "flowgrpo/rewards/weighted_reward.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

// --- example begin ---
#include "flowgrpo/rewards/reward.h"

#include <cmath>

namespace my {

// Fraction of pixels that are clearly red: R above 0.6, G and B below 0.4.
class RedFractionReward : public flowgrpo::rewards::Reward {
 public:
  explicit RedFractionReward(double threshold) : threshold_(threshold) {}

  std::string name() const override { return "red_fraction"; }

  flowgrpo::rewards::RewardResult score(const flowgrpo::rewards::RewardBatch& batch) override {
    const auto x = batch.as_float01();  // [N,3,H,W] in [0,1]
    const auto red =
        (x.select(1, 0) > threshold_) & (x.select(1, 1) < 1 - threshold_) & (x.select(1, 2) < 1 - threshold_);
    auto result = flowgrpo::rewards::RewardResult::from_scores(red.to(torch::kDouble).mean({1, 2}));
    // Per-sample failures are reported, never scored as 0: here, all-black images
    // (a broken decoder, say) cannot be judged.
    for (int64_t i = 0; i < batch.size(); ++i)
      if (x[i].max().item<double>() == 0.0) result.invalidate(i, "image is entirely black");
    return result;
  }

 private:
  double threshold_;
};

// Registration: once, before the config is turned into a reward.
void register_my_rewards(flowgrpo::rewards::RewardRegistry& registry) {
  registry.add("red_fraction", "fraction of clearly red pixels", [](const nlohmann::json& options) {
    const double threshold = options.value("threshold", 0.6);
    if (!(threshold > 0.5 && threshold < 1.0))
      throw std::invalid_argument("option 'threshold' must be in (0.5, 1), found " +
                                  std::to_string(threshold));
    return std::make_unique<RedFractionReward>(threshold);
  });
}

}  // namespace my
// --- example end ---

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST(CustomRewardExample, WorksThroughTheConfig) {
  flowgrpo::rewards::RewardRegistry registry;
  my::register_my_rewards(registry);
  const auto config = flowgrpo::config::config_from_yaml("reward:\n  red_fraction: 2.0\n", "example.yaml");
  std::vector<std::pair<std::string, double>> weights;
  for (const auto& w : config.reward) weights.emplace_back(w.name, w.weight);
  auto reward = flowgrpo::rewards::WeightedReward::from_weights(weights, registry);

  flowgrpo::rewards::RewardBatch batch;
  batch.images = torch::zeros({3, 3, 4, 4}, torch::kByte);
  batch.images[0].select(0, 0).fill_(255);                  // all red
  batch.images[1].select(0, 0).narrow(0, 0, 1).fill_(255);  // one row of four red
  batch.prompts = {"a", "b", "c"};
  batch.metadata.assign(3, nlohmann::json::object());
  const auto r = reward->score(batch);
  EXPECT_DOUBLE_EQ(r.scores[0].item<double>(), 2.0);
  EXPECT_DOUBLE_EQ(r.scores[1].item<double>(), 2.0 * 0.25);
  EXPECT_FALSE(r.valid[2].item<bool>());  // black image: masked, not 0
  EXPECT_EQ(r.errors[2], "red_fraction: image is entirely black");
  EXPECT_THROW(flowgrpo::rewards::WeightedReward::from_weights(weights, registry,
                                                               {{"red_fraction", {{"threshold", 2.0}}}}),
               std::invalid_argument);
}

TEST(CustomRewardExample, DocsShowExactlyThisCode) {
  const auto self =
      read_file(std::string(FLOWGRPO_SOURCE_DIR) + "/tests/rewards/custom_reward_example_test.cpp");
  const auto begin =
      self.find("// --- example begin ---\n") + std::string("// --- example begin ---\n").size();
  const auto end = self.find("// --- example end ---");
  const auto code = self.substr(begin, end - begin);
  const auto docs = read_file(std::string(FLOWGRPO_SOURCE_DIR) + "/docs/rewards.md");
  EXPECT_NE(docs.find("```cpp\n" + code + "```"), std::string::npos)
      << "docs/rewards.md must contain the example of tests/rewards/custom_reward_example_test.cpp verbatim";
}
