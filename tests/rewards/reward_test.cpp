#include "flowgrpo/rewards/async_reward_scorer.h"
#include "flowgrpo/rewards/reward_registry.h"
#include "flowgrpo/rewards/torchscript_reward.h"
#include "flowgrpo/rewards/weighted_reward.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <thread>

namespace fr = flowgrpo::rewards;

namespace {

// Mean brightness of each image; samples whose prompt is "fail" cannot be scored.
// Registered as "lum": "brightness" is a built-in.
class BrightnessReward : public fr::Reward {
 public:
  explicit BrightnessReward(double scale = 1.0, int delay_ms = 0) : scale_(scale), delay_ms_(delay_ms) {}
  std::string name() const override { return "lum"; }
  fr::RewardResult score(const fr::RewardBatch& batch) override {
    if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
    auto r = fr::RewardResult::from_scores(batch.as_float01().mean({1, 2, 3}) * scale_);
    r.components["max"] = batch.as_float01().amax({1, 2, 3}).to(torch::kDouble);
    for (int64_t i = 0; i < batch.size(); ++i)
      if (batch.prompts[static_cast<size_t>(i)] == "fail") r.invalidate(i, "cannot score this one");
    return r;
  }

 private:
  double scale_;
  int delay_ms_;
};

class ConstantReward : public fr::Reward {
 public:
  explicit ConstantReward(double v) : v_(v) {}
  std::string name() const override { return "constant"; }
  fr::RewardResult score(const fr::RewardBatch& batch) override {
    return fr::RewardResult::from_scores(torch::full({batch.size()}, v_, torch::kDouble));
  }

 private:
  double v_;
};

// A reward that breaks the contract: a NaN marked valid.
class SilentNanReward : public fr::Reward {
 public:
  std::string name() const override { return "silent_nan"; }
  fr::RewardResult score(const fr::RewardBatch& batch) override {
    auto r = fr::RewardResult::from_scores(torch::zeros({batch.size()}, torch::kDouble));
    r.scores[0] = NAN;
    return r;
  }
};

fr::RewardBatch make_batch(std::vector<std::string> prompts) {
  fr::RewardBatch b;
  const auto n = static_cast<int64_t>(prompts.size());
  b.images = torch::arange(n, torch::kFloat)
                 .div(std::max<int64_t>(n, 1))
                 .view({n, 1, 1, 1})
                 .expand({n, 3, 4, 4})
                 .contiguous();
  b.prompts = std::move(prompts);
  b.metadata.assign(b.prompts.size(), nlohmann::json::object());
  return b;
}

void add_test_rewards(fr::RewardRegistry& registry) {
  registry.add("lum", "mean pixel value", [](const nlohmann::json& o) {
    return std::make_unique<BrightnessReward>(o.value("scale", 1.0));
  });
  registry.add("constant", "a constant", [](const nlohmann::json& o) {
    if (!o.contains("value")) throw std::invalid_argument("option 'value' is required");
    return std::make_unique<ConstantReward>(o.at("value").get<double>());
  });
}

}  // namespace

TEST(RewardRegistry, UnknownNameListsRegisteredRewards) {
  fr::RewardRegistry registry;
  add_test_rewards(registry);
  try {
    registry.create("pickscor");
    FAIL();
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("unknown reward 'pickscor'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("lum"), std::string::npos) << msg;
    EXPECT_NE(msg.find("constant"), std::string::npos) << msg;
  }
  EXPECT_THROW(
      registry.add("lum", "", [](const nlohmann::json&) { return std::make_unique<ConstantReward>(1); }),
      std::invalid_argument);
  EXPECT_THROW(
      registry.add("Bad Name", "", [](const nlohmann::json&) { return std::make_unique<ConstantReward>(1); }),
      std::invalid_argument);
}

TEST(RewardRegistry, FactoryErrorsNameTheReward) {
  fr::RewardRegistry registry;
  add_test_rewards(registry);
  try {
    registry.create("constant");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "reward 'constant': option 'value' is required");
  }
}

TEST(WeightedReward, IsTheWeightedSumWithEveryComponentKept) {
  fr::RewardRegistry registry;
  add_test_rewards(registry);
  auto reward =
      fr::WeightedReward::from_weights({{"lum", 0.5}, {"constant", 2.0}}, registry,
                                       {{"constant", {{"value", 0.25}}}, {"lum", {{"scale", 2.0}}}});
  const auto batch = make_batch({"a", "b", "c", "d"});
  const auto r = reward->score(batch);
  r.check("weighted", 4);
  const auto brightness = batch.as_float01().mean({1, 2, 3}).to(torch::kDouble) * 2.0;
  EXPECT_TRUE(torch::allclose(r.scores, 0.5 * brightness + 2.0 * 0.25));
  EXPECT_TRUE(torch::allclose(r.components.at("lum"), brightness));
  EXPECT_TRUE(torch::allclose(r.components.at("constant"), torch::full({4}, 0.25, torch::kDouble)));
  EXPECT_EQ(r.components.count("lum/max"), 1u);
}

TEST(WeightedReward, AFailedPartMasksTheSampleInsteadOfScoringZero) {
  fr::RewardRegistry registry;
  add_test_rewards(registry);
  auto reward = fr::WeightedReward::from_weights({{"lum", 1.0}, {"constant", 1.0}}, registry,
                                                 {{"constant", {{"value", 1.0}}}});
  const auto r = reward->score(make_batch({"a", "fail", "c"}));
  EXPECT_EQ(r.valid[1].item<bool>(), false);
  EXPECT_TRUE(std::isnan(r.scores[1].item<double>()));
  EXPECT_EQ(r.errors[1], "lum: cannot score this one");
  EXPECT_EQ(r.num_invalid(), 1);
  EXPECT_TRUE(r.valid[0].item<bool>() && r.valid[2].item<bool>());
}

TEST(WeightedReward, RejectsBadWeightsAndDuplicates) {
  fr::RewardRegistry registry;
  add_test_rewards(registry);
  EXPECT_THROW(fr::WeightedReward::from_weights({{"lum", NAN}}, registry), std::invalid_argument);
  EXPECT_THROW(fr::WeightedReward::from_weights({{"lum", INFINITY}}, registry), std::invalid_argument);
  EXPECT_THROW(fr::WeightedReward::from_weights({{"lum", 1}, {"lum", 2}}, registry), std::invalid_argument);
  EXPECT_THROW(fr::WeightedReward::from_weights({}, registry), std::invalid_argument);
}

TEST(WeightedReward, AliasesUseOneRegisteredRewardTwice) {
  fr::RewardRegistry registry;
  add_test_rewards(registry);
  auto reward = fr::WeightedReward::from_weights(
      {{"low", 1.0}, {"high", 0.5}}, registry,
      {{"low", {{"type", "constant"}, {"value", 0.25}}}, {"high", {{"type", "constant"}, {"value", 4.0}}}});
  const auto r = reward->score(make_batch({"a", "b"}));
  r.check("weighted", 2);
  EXPECT_TRUE(torch::allclose(r.scores, torch::full({2}, 1.0 * 0.25 + 0.5 * 4.0, torch::kDouble)));
  EXPECT_TRUE(torch::allclose(r.components.at("low"), torch::full({2}, 0.25, torch::kDouble)));
  EXPECT_TRUE(torch::allclose(r.components.at("high"), torch::full({2}, 4.0, torch::kDouble)));
  EXPECT_EQ(r.components.count("constant"), 0u);
  // Failures are reported under the alias.
  auto masked =
      fr::WeightedReward::from_weights({{"bright", 1.0}}, registry, {{"bright", {{"type", "lum"}}}});
  EXPECT_EQ(masked->score(make_batch({"fail"})).errors[0], "bright: cannot score this one");
}

TEST(WeightedReward, BadAliasesAreNamed) {
  fr::RewardRegistry registry;
  add_test_rewards(registry);
  auto message = [&](const std::vector<std::pair<std::string, double>>& w, const nlohmann::json& o) {
    return flowgrpo::testing::invalid_argument_message(
        [&] { fr::WeightedReward::from_weights(w, registry, o); });
  };
  const auto unknown = message({{"style", 1.0}}, {{"style", {{"type", "pickscor"}}}});
  EXPECT_NE(unknown.find("reward 'style' (type pickscor)"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("unknown reward 'pickscor'"), std::string::npos) << unknown;
  const auto not_string = message({{"style", 1.0}}, {{"style", {{"type", 3}}}});
  EXPECT_NE(not_string.find("reward_options.style.type"), std::string::npos) << not_string;
  const auto options = message({{"style", 1.0}}, {{"style", {{"type", "constant"}}}});
  EXPECT_NE(options.find("option 'value' is required"), std::string::npos) << options;
  EXPECT_NE(options.find("'style'"), std::string::npos) << options;
  const auto twice = message({{"constant", 1.0}, {"c2", 1.0}},
                             {{"constant", {{"value", 1}}}, {"c2", {{"type", "constant"}, {"value", 2}}}});
  EXPECT_EQ(twice, "");
}

TEST(RewardResult, CheckCatchesSilentNaNs) {
  SilentNanReward bad;
  fr::WeightedReward reward([&] {
    std::vector<fr::WeightedReward::Part> parts;
    parts.push_back({1.0, std::make_unique<SilentNanReward>(), ""});
    return parts;
  }());
  try {
    reward.score(make_batch({"a", "b"}));
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("reward 'silent_nan' returned a malformed result"),
              std::string::npos)
        << e.what();
  }
}

TEST(RewardBatch, ValidatesLayoutAndConvertsLikeTheReference) {
  auto b = make_batch({"a", "b"});
  b.validate();
  b.images[0][0][0][0] = 0.5f / 255.0f;  // x·255 = 0.5: torch.round, as the reference, rounds half to even
  EXPECT_EQ(b.as_uint8()[0][0][0][0].item<uint8_t>(), 0);
  b.images[0][0][0][0] = 1.0f;
  EXPECT_EQ(b.as_uint8()[0][0][0][0].item<uint8_t>(), 255);
  b.prompts.pop_back();
  EXPECT_THROW(b.validate(), std::invalid_argument);
  auto c = make_batch({"a"});
  c.images = c.images + 2.0;
  EXPECT_THROW(c.validate(), std::invalid_argument);
  c.images = torch::zeros({1, 4, 2, 2});
  EXPECT_THROW(c.validate(), std::invalid_argument);
}

TEST(AsyncRewardScorer, ScoresInTheBackgroundAndMeasuresWaiting) {
  BrightnessReward reward(1.0, /*delay_ms=*/150);
  fr::AsyncRewardScorer scorer(reward);
  auto first = scorer.submit(make_batch({"a", "b"}));
  auto second = scorer.submit(make_batch({"c", "fail", "e"}));
  const auto r1 = scorer.wait(first);
  const auto r2 = scorer.wait(second);
  EXPECT_EQ(r1.size(), 2);
  EXPECT_EQ(r2.size(), 3);
  EXPECT_FALSE(r2.valid[1].item<bool>());
  EXPECT_GT(scorer.waited_seconds(), 0.1);

  // Work done while the reward scores costs no waiting.
  scorer.reset_wait_time();
  auto third = scorer.submit(make_batch({"x"}));
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  scorer.wait(third);
  EXPECT_LT(scorer.waited_seconds(), 0.1);
}

TEST(AsyncRewardScorer, ErrorsArriveThroughTheFuture) {
  SilentNanReward reward;
  fr::AsyncRewardScorer scorer(reward);
  auto pending = scorer.submit(make_batch({"a"}));
  EXPECT_THROW(scorer.wait(pending), std::runtime_error);
  fr::RewardBatch bad = make_batch({"a"});
  bad.metadata.clear();
  EXPECT_THROW(scorer.submit(bad), std::invalid_argument);
}

// Issue 14: a reward declares the range of its valid scores; min_score / max_score (options
// every reward accepts) override it; a score outside it is masked with the reason.
TEST(RewardRegistry, ScoresOutsideTheValidRangeAreMasked) {
  fr::RewardRegistry registry;
  add_test_rewards(registry);
  auto reward = registry.create("constant", {{"value", 1e308}, {"max_score", 10.0}});
  EXPECT_EQ(reward->name(), "constant");
  EXPECT_EQ(reward->valid_range().max, 10.0);
  EXPECT_NE(dynamic_cast<ConstantReward*>(&fr::unwrap_score_range(*reward)), nullptr);
  const auto r = reward->score(make_batch({"a", "b"}));
  r.check("constant", 2);
  for (int64_t i = 0; i < 2; ++i) {
    EXPECT_FALSE(r.valid[i].item<bool>());
    const auto& e = r.errors[static_cast<size_t>(i)];
    EXPECT_NE(e.find("reward 'constant' returned the score 1e+308, outside its valid range [-inf, 10]"),
              std::string::npos)
        << e;
  }
  // In range: untouched. Unbounded (no option, no declared range): not wrapped at all.
  EXPECT_TRUE(registry.create("constant", {{"value", 3.0}, {"min_score", 3.0}, {"max_score", 3.0}})
                  ->score(make_batch({"a"}))
                  .valid.all()
                  .item<bool>());
  EXPECT_NE(dynamic_cast<ConstantReward*>(registry.create("constant", {{"value", 1e308}}).get()), nullptr);
  // Components of a masked sample are NaN too (nothing of a failure stays a number).
  auto bright = registry.create("lum", {{"scale", 10.0}, {"max_score", 1.0}});
  const auto b = bright->score(make_batch({"a", "b", "c", "d"}));  // brightness 0, 2.5, 5, 7.5
  EXPECT_TRUE(b.valid[0].item<bool>());
  EXPECT_FALSE(b.valid[1].item<bool>());
  EXPECT_TRUE(std::isnan(b.components.at("max")[1].item<double>()));
  EXPECT_FALSE(std::isnan(b.components.at("max")[0].item<double>()));

  auto message = [&](const nlohmann::json& options) -> std::string {
    try {
      registry.create("constant", options);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "(no exception)";
  };
  EXPECT_EQ(message({{"value", 1}, {"min_score", "low"}}),
            "reward 'constant': option 'min_score' must be a number, found \"low\"");
  EXPECT_EQ(message({{"value", 1}, {"min_score", 2}, {"max_score", 1}}),
            "reward 'constant': min_score must be <= max_score, found [2, 1]");
}

TEST(RewardRegistry, BuiltInRewardsDeclareTheirRanges) {
  fr::RewardRegistry registry;
  auto range = [&](const std::string& name, const nlohmann::json& options) {
    const auto r = registry.create(name, options)->valid_range();
    return std::make_pair(r.min, r.max);
  };
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(range("brightness", nlohmann::json::object()), std::make_pair(0.0, 1.0));
  EXPECT_EQ(range("jpeg_compressibility", nlohmann::json::object()), std::make_pair(-inf, 0.0));
  EXPECT_EQ(range("jpeg_incompressibility", nlohmann::json::object()), std::make_pair(0.0, inf));
  // GenEval partial credit: 1 − |1 − n| / 1 with at most max_objects detections.
  EXPECT_EQ(range("shapes", nlohmann::json::object()), std::make_pair(-15.0, 1.0));
  EXPECT_EQ(range("shapes", {{"max_objects", 4}}), std::make_pair(-3.0, 1.0));
  EXPECT_EQ(range("geneval", {{"health_check", false}}), std::make_pair(-15.0, 1.0));
  EXPECT_EQ(range("geneval", {{"health_check", false}, {"min_score", -3}}), std::make_pair(-3.0, 1.0));
  EXPECT_EQ(range("ocr", {{"health_check", false}}), std::make_pair(0.0, 1.0));
  EXPECT_EQ(range("remote", {{"health_check", false}, {"url", "http://127.0.0.1:9"}}),
            std::make_pair(-inf, inf));
  // logit_scale · cos with CLIP's logit_scale <= 100, times a margin of 2, then scaled
  // (building these needs an exported model: torchscript_reward_test checks the registry's).
  auto spec_range = [](const fr::TorchScriptReward::Spec& s) {
    return std::make_pair(s.range.min, s.range.max);
  };
  EXPECT_EQ(spec_range(fr::TorchScriptReward::pickscore()), std::make_pair(-200.0 / 26, 200.0 / 26));
  EXPECT_EQ(spec_range(fr::TorchScriptReward::clip_score()), std::make_pair(-200.0 / 30, 200.0 / 30));
  EXPECT_EQ(spec_range(fr::TorchScriptReward::aesthetic()), std::make_pair(-inf, inf));
  // The options reach the wrapped reward unchanged (min/max removed).
  EXPECT_THROW(registry.create("brightness", {{"scale", 2}}), std::invalid_argument);
  EXPECT_NO_THROW(registry.create("brightness", {{"min_score", 0}, {"max_score", 0.5}}));
}

TEST(WeightedReward, AnOverflowingSumIsMasked) {
  fr::RewardRegistry registry;
  add_test_rewards(registry);
  auto reward =
      fr::WeightedReward::from_weights({{"constant", 2.0}}, registry, {{"constant", {{"value", 1e308}}}});
  const auto r = reward->score(make_batch({"a", "b"}));
  r.check("weighted", 2);
  EXPECT_FALSE(r.valid[0].item<bool>());
  EXPECT_NE(r.errors[0].find("overflows"), std::string::npos) << r.errors[0];
}
