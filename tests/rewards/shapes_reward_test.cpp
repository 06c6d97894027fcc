#include "flowgrpo/rewards/shapes_reward.h"
#include "flowgrpo/rewards/reward_registry.h"
#include "flowgrpo/shapes/prompt_generator.h"
#include "flowgrpo/shapes/renderer.h"

#include <gtest/gtest.h>

#include <cmath>

namespace fr = flowgrpo::rewards;
namespace fsh = flowgrpo::shapes;
using nlohmann::json;

namespace {

fr::RewardBatch batch_of(const std::vector<fsh::PromptSpec>& specs, uint64_t seed) {
  fr::RewardBatch b;
  b.images = fsh::Renderer().render_batch(specs, seed);
  for (const auto& s : specs) {
    b.prompts.push_back(s.prompt());
    b.metadata.push_back(s.to_metadata());
  }
  return b;
}

}  // namespace

TEST(ShapesReward, RegisteredBuiltin) {
  const auto& registry = fr::RewardRegistry::global();
  ASSERT_TRUE(registry.contains("shapes"));
  EXPECT_FALSE(registry.description("shapes").empty());
  const auto reward = registry.create("shapes");
  EXPECT_EQ(reward->name(), "shapes");
  EXPECT_NO_THROW(registry.create("shapes", {{"color_threshold", 60}, {"max_objects", 8}}));
  try {
    registry.create("shapes", {{"colour_threshold", 60}});
    FAIL() << "an unknown option must be refused";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("unknown option 'colour_threshold'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("color_threshold"), std::string::npos);
  }
  EXPECT_THROW(registry.create("shapes", {{"max_objects", 0}}), std::invalid_argument);
  EXPECT_THROW(registry.create("shapes", {{"shape_size", 2.5}}), std::invalid_argument);
  EXPECT_THROW(registry.create("shapes", {{"min_shape_iou", "high"}}), std::invalid_argument);
}

TEST(ShapesReward, RendersScorePerfectlyUint8AndFloat) {
  const std::unique_ptr<fr::Reward> reward = fr::RewardRegistry::global().create("shapes");
  auto batch = batch_of(fsh::enumerate_all_prompts(), 99);
  batch.mode = fr::ScoreMode::kEval;
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) batch.images = batch.images.to(torch::kFloat) / 255.0;
    const auto r = reward->score(batch);
    ASSERT_NO_THROW(r.check("shapes", batch.size()));
    EXPECT_EQ(r.num_invalid(), 0);
    EXPECT_TRUE(torch::all(r.scores == 1.0).item<bool>());
    EXPECT_TRUE(torch::all(r.components.at("strict_accuracy") == 1.0).item<bool>());
    EXPECT_TRUE(torch::all(r.components.at("accuracy") == 1.0).item<bool>());
    // Per-tag components are 1 for their tag and NaN elsewhere (the server's −10).
    const auto pos = r.components.at("position_strict_accuracy");
    for (int64_t i = 0; i < batch.size(); ++i) {
      if (batch.metadata[static_cast<size_t>(i)]["tag"] == "position") {
        EXPECT_EQ(pos[i].item<double>(), 1.0);
      } else {
        EXPECT_TRUE(std::isnan(pos[i].item<double>()));
      }
    }
    EXPECT_EQ(r.components.size(), 3u + 12u);
  }
}

TEST(ShapesReward, ScoresFromMetadataNotPrompt) {
  fr::ShapesReward reward;
  // A render of "a red circle" judged against metadata asking for a blue one; the
  // prompt text (unchanged) is not consulted.
  auto batch = batch_of({fsh::PromptSpec::colors(fsh::Color::kRed, fsh::Shape::kCircle)}, 1);
  batch.metadata[0] = fsh::PromptSpec::colors(fsh::Color::kBlue, fsh::Shape::kCircle).to_metadata();
  const auto r = reward.score(batch);
  r.check("shapes", 1);
  EXPECT_EQ(r.scores[0].item<double>(), 0.5);  // count right, colour wrong
  EXPECT_EQ(r.components.at("strict_accuracy")[0].item<double>(), 0.0);
  EXPECT_EQ(r.components.at("accuracy")[0].item<double>(), 0.0);
  EXPECT_EQ(r.components.at("num_objects")[0].item<double>(), 1.0);
}

TEST(ShapesReward, ForeignMetadataIsInvalidNotZero) {
  fr::ShapesReward reward;
  auto batch = batch_of({fsh::PromptSpec::single_object(fsh::Shape::kSquare),
                         fsh::PromptSpec::single_object(fsh::Shape::kCircle),
                         fsh::PromptSpec::single_object(fsh::Shape::kTriangle),
                         fsh::PromptSpec::single_object(fsh::Shape::kTriangle)},
                        5);
  batch.metadata[1] = json::parse(
      R"({"tag": "single_object", "include": [{"class": "dog", "count": 1}], "prompt": "a photo of a dog"})");
  batch.metadata[2] = json::object();  // e.g. a plain-text prompt file
  batch.metadata[3]["tag"] = "spatial";
  const auto r = reward.score(batch);
  ASSERT_NO_THROW(r.check("shapes", 4));
  EXPECT_EQ(r.num_invalid(), 3);
  EXPECT_TRUE(r.valid[0].item<bool>());
  EXPECT_EQ(r.scores[0].item<double>(), 1.0);
  EXPECT_NE(r.errors[1].find("unknown shape 'dog'"), std::string::npos) << r.errors[1];
  EXPECT_NE(r.errors[2].find("missing key 'tag'"), std::string::npos) << r.errors[2];
  EXPECT_NE(r.errors[3].find("unknown tag 'spatial'"), std::string::npos) << r.errors[3];
  for (int i = 1; i < 4; ++i) {
    EXPECT_TRUE(std::isnan(r.scores[i].item<double>()));
    EXPECT_TRUE(std::isnan(r.components.at("strict_accuracy")[i].item<double>()));
  }
}

TEST(ShapesReward, MalformedBatchThrows) {
  fr::ShapesReward reward;
  auto batch = batch_of({fsh::PromptSpec::single_object(fsh::Shape::kSquare)}, 5);
  batch.metadata.clear();
  EXPECT_THROW(reward.score(batch), std::invalid_argument);
}
