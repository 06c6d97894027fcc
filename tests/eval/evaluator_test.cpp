// The evaluator's sampling, scoring and aggregation, with a stand-in model whose
// "generations" are known: renders of the prompts (a perfect model) or a blank
// canvas (a useless one).
#include "flowgrpo/eval/evaluator.h"
#include "flowgrpo/rewards/shapes_reward.h"
#include "flowgrpo/shapes/prompt_spec.h"
#include "flowgrpo/shapes/renderer.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

namespace fe = flowgrpo::eval;

namespace {

// Encodes nothing useful; decode() returns renders of the prompts last encoded
// (the evaluator encodes, samples and decodes one batch at a time), or blanks.
class StandInPipeline : public flowgrpo::models::TextToImagePipeline {
 public:
  explicit StandInPipeline(bool perfect) : perfect_(perfect) {}
  std::string name() const override { return "stand-in"; }
  flowgrpo::sampling::Conditioning encode_prompts(const std::vector<std::string>& prompts) override {
    if (!(prompts.size() == 1 && prompts[0].empty())) last_ = prompts;
    return {torch::zeros({static_cast<int64_t>(prompts.size()), 2, 4}),
            torch::zeros({static_cast<int64_t>(prompts.size()), 4})};
  }
  std::vector<int64_t> latent_shape() const override { return {3, 32, 32}; }
  torch::Tensor decode(const torch::Tensor& latents) override {
    ++decoded_batches_;
    if (!perfect_) return torch::ones({latents.size(0), 3, 32, 32});
    std::vector<torch::Tensor> images;
    for (size_t i = 0; i < last_.size(); ++i)
      images.push_back(
          renderer_.render(flowgrpo::shapes::PromptSpec::parse_prompt(last_[i]), i).to(torch::kFloat) /
          255.0);
    return torch::stack(images);
  }
  flowgrpo::sampling::VelocityModel& velocity_model() override { return zero_; }
  torch::nn::Module& transformer_module() override { return module_; }
  flowgrpo::sampling::Schedule schedule(int n) const override { return flowgrpo::sampling::sd3_schedule(n); }
  torch::Device device() const override { return torch::kCPU; }
  int decoded_batches_ = 0;

 private:
  struct Zero : flowgrpo::sampling::VelocityModel {
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor&,
                          const flowgrpo::sampling::Conditioning&) override {
      return torch::zeros_like(x);
    }
  } zero_;
  torch::nn::Module module_;
  bool perfect_;
  std::vector<std::string> last_;
  flowgrpo::shapes::Renderer renderer_;
};

fe::EvalPrompts prompts() {
  fe::EvalPrompts p;
  for (const auto& spec : {flowgrpo::shapes::PromptSpec::single_object(flowgrpo::shapes::Shape::kCircle),
                           flowgrpo::shapes::PromptSpec::counting(flowgrpo::shapes::Shape::kSquare, 3),
                           flowgrpo::shapes::PromptSpec::colors(flowgrpo::shapes::Color::kRed,
                                                                flowgrpo::shapes::Shape::kTriangle)}) {
    p.prompts.push_back(spec.prompt());
    p.metadata.push_back(spec.to_metadata());
    p.tags.push_back(spec.to_metadata().at("tag").get<std::string>());
  }
  return p;
}

}  // namespace

TEST(Evaluator, PerfectModelScoresFullMarksPerTag) {
  StandInPipeline pipeline(true);
  flowgrpo::rewards::ShapesReward reward;
  fe::EvalOptions o;
  o.num_steps = 3;
  o.images_per_prompt = 2;
  o.batch_size = 4;
  const auto r = fe::evaluate(pipeline, reward, prompts(), o);
  EXPECT_EQ(r.num_images, 6);
  EXPECT_EQ(pipeline.decoded_batches_, 2);
  EXPECT_DOUBLE_EQ(r.overall.strict_accuracy, 1.0);
  ASSERT_EQ(r.by_tag.size(), 3u);
  EXPECT_EQ(r.by_tag.at("counting").count, 2);
  EXPECT_EQ(r.images.sizes(), (std::vector<int64_t>{6, 3, 32, 32}));
  const auto j = r.to_json();
  EXPECT_EQ(j["num_steps"], 3);
  EXPECT_EQ(j["by_tag"]["colors"]["strict_accuracy"], 1.0);
  EXPECT_NE(r.table().find("overall"), std::string::npos);
}

TEST(Evaluator, BlankModelScoresZeroAndSeedsAreStable) {
  StandInPipeline pipeline(false);
  flowgrpo::rewards::ShapesReward reward;
  fe::EvalOptions o;
  o.num_steps = 2;
  const auto r = fe::evaluate(pipeline, reward, prompts(), o);
  EXPECT_DOUBLE_EQ(r.overall.strict_accuracy, 0.0);
  EXPECT_EQ(fe::eval_image_seed(0, 1, 2), fe::eval_image_seed(0, 1, 2));
  EXPECT_NE(fe::eval_image_seed(0, 1, 2), fe::eval_image_seed(0, 2, 1));
  fe::EvalPrompts bad = prompts();
  bad.tags.pop_back();
  EXPECT_THROW(fe::evaluate(pipeline, reward, bad, o), std::invalid_argument);
}

// Ranks share an evaluation by image ranges; the ranges' per-image results, put
// together and summarised, are the whole evaluation's.
TEST(Evaluator, ImageRangesSummariseToTheWholeEvaluation) {
  StandInPipeline pipeline(true);
  flowgrpo::rewards::ShapesReward reward;
  fe::EvalOptions o;
  o.num_steps = 2;
  o.images_per_prompt = 2;
  o.batch_size = 4;
  o.keep_images = false;
  const auto whole = fe::evaluate(pipeline, reward, prompts(), o);
  fe::EvalResult parts;
  parts.num_images = whole.num_images;
  parts.num_steps = whole.num_steps;
  std::vector<torch::Tensor> scores, strict, accuracy;
  for (const auto& [first, end] : std::vector<std::pair<int64_t, int64_t>>{{0, 3}, {3, 3}, {3, 6}}) {
    o.first_image = first;
    o.end_image = end;
    const auto r = fe::evaluate(pipeline, reward, prompts(), o);
    EXPECT_EQ(r.num_images, end - first);
    scores.push_back(r.scores);
    strict.push_back(r.strict_accuracy);
    accuracy.push_back(r.accuracy);
    parts.image_tags.insert(parts.image_tags.end(), r.image_tags.begin(), r.image_tags.end());
  }
  parts.scores = torch::cat(scores);
  parts.strict_accuracy = torch::cat(strict);
  parts.accuracy = torch::cat(accuracy);
  EXPECT_EQ(parts.image_tags, whole.image_tags);
  fe::summarise(parts);
  EXPECT_EQ(parts.to_json().dump(), whole.to_json().dump());
  o.first_image = 4;
  o.end_image = 7;
  EXPECT_THROW(fe::evaluate(pipeline, reward, prompts(), o), std::invalid_argument);
}
