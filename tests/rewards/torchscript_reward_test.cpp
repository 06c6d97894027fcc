// TorchScript rewards (pickscore / clip_score / aesthetic) with tiny scorers
// scripted by the project environment's torch (tests/data/reward_models/tiny_reward_models.py):
// the C++ pre-processing, tokenisation, batching and scaling must reproduce what
// Python computes with the same module on the processor's tensors.
#include "flowgrpo/rewards/torchscript_reward.h"
#include "flowgrpo/rewards/reward_registry.h"
#include "flowgrpo/text/clip_tokenizer.h"

#include "support/test_support.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <fstream>

namespace fr = flowgrpo::rewards;
namespace ft = flowgrpo::testing;
namespace fs = std::filesystem;

namespace {

std::string join(std::initializer_list<std::string> parts) {
  std::string s;
  for (const auto& p : parts) s += " " + p;
  return s;
}

class TorchScriptRewardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FLOWGRPO_REQUIRE_PYTHON("torch PIL numpy");
    const auto r = ft::run_command(ft::tiny_reward_models_helper() + " export " + dir_.path().string() + " " +
                                   ft::data_path("text/clip_tokenizer").string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  // 5 images 40x56 (neither square nor 224), as the pipeline hands them over: float in [0,1].
  fr::RewardBatch batch() const {
    auto gen = at::detail::createCPUGenerator(5);
    fr::RewardBatch b;
    b.images = torch::rand({5, 3, 40, 56}, gen);
    b.prompts = {"a photo of a red circle", "a photo of three triangles", "", "A \"quoted\" Sign!",
                 "a photo of a cat left of a dog"};
    b.metadata.assign(5, nlohmann::json::object());
    return b;
  }

  // Python's raw scores for `b` through the scorer in `model_dir`, from Python's own
  // pre-processing (and the given token ids).
  torch::Tensor python_raw(const fs::path& model_dir, const fr::RewardBatch& b, int64_t shortest,
                           int64_t crop_h, int64_t crop_w, const std::string& mean_std,
                           const flowgrpo::text::ClipTokenizer* tok) {
    const auto u8 = b.as_uint8();
    ft::write_raw(dir_ / "img.bin", u8);
    auto r =
        ft::run_command(ft::tiny_reward_models_helper() + " preprocess" +
                        join({(dir_ / "img.bin").string(), (dir_ / "pix.bin").string(), "5", "40", "56",
                              std::to_string(shortest), std::to_string(crop_h), std::to_string(crop_w)}) +
                        mean_std);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::string text_args;
    if (tok != nullptr) {
      const auto enc = tok->encode_batch(b.prompts, 77);
      ft::write_raw(dir_ / "ids.bin", enc.input_ids.to(torch::kLong));
      ft::write_raw(dir_ / "mask.bin", enc.attention_mask.to(torch::kLong));
      text_args = join({(dir_ / "ids.bin").string(), (dir_ / "mask.bin").string(), "77"});
    }
    r = ft::run_command(ft::tiny_reward_models_helper() + " score" +
                        join({model_dir.string(), (dir_ / "pix.bin").string(), (dir_ / "raw.bin").string(),
                              "5", "3", std::to_string(crop_h), std::to_string(crop_w)}) +
                        text_args);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return ft::read_raw(dir_ / "raw.bin", {5}, torch::kDouble);
  }

  ft::TempDir dir_;
};

}  // namespace

TEST_F(TorchScriptRewardTest, PickScoreMatchesPythonAndScalesBy26) {
  auto reward = fr::RewardRegistry::global().create(
      "pickscore", {{"path", (dir_ / "pickscore").string()}, {"batch_size", 2}});  // 3 forward calls
  const auto b = batch();
  const auto result = reward->score(b);
  result.check("pickscore", 5);
  const auto tok = flowgrpo::text::ClipTokenizer::from_directory(dir_ / "pickscore" / "tokenizer");
  const auto raw = python_raw(dir_ / "pickscore", b, 224, 224, 224, "", &tok);
  EXPECT_TRUE(ft::all_close(result.components.at("raw"), raw, 1e-5, 1e-5));
  EXPECT_TRUE(ft::all_close(result.scores, raw / 26.0, 1e-6, 1e-5));
  EXPECT_EQ(result.num_invalid(), 0);
  // The registry checks its scores against logit_scale · |cos| <= 2 · 100 (torchscript_reward.h).
  EXPECT_EQ(reward->valid_range().min, -200.0 / 26);
  EXPECT_EQ(reward->valid_range().max, 200.0 / 26);
}

TEST_F(TorchScriptRewardTest, ClipScoreUsesItsOwnScaling) {
  // The same folder relabelled: clip_score divides the raw logit by 30.
  auto meta_path = dir_ / "pickscore" / "reward_model.json";
  std::ifstream in(meta_path);
  auto meta = nlohmann::json::parse(in);
  in.close();
  meta["reward"] = "clip_score";
  ft::write_text_file(meta_path, meta.dump());
  auto reward = fr::RewardRegistry::global().create("clip_score", {{"path", (dir_ / "pickscore").string()}});
  const auto b = batch();
  const auto result = reward->score(b);
  EXPECT_TRUE(ft::all_close(result.scores * 30.0, result.components.at("raw"), 1e-9, 1e-9));
  EXPECT_EQ(reward->valid_range().max, 200.0 / 30);
}

TEST_F(TorchScriptRewardTest, AestheticFollowsTheExportedProcessorAndMasksFailures) {
  auto reward = fr::RewardRegistry::global().create("aesthetic", {{"path", (dir_ / "aesthetic").string()}});
  auto b = batch();
  b.images[3].select(0, 0).zero_();  // red channel black: the tiny scorer returns NaN for it
  const auto result = reward->score(b);
  result.check("aesthetic", 5);
  // Non-square crop 36x32 from a shortest edge of 40, other mean/std (reward_model.json).
  const auto raw =
      python_raw(dir_ / "aesthetic", b, 40, 36, 32, " '[0.5, 0.4, 0.3]' '[0.2, 0.25, 0.3]'", nullptr);
  const auto valid = torch::tensor({true, true, true, false, true});
  EXPECT_TRUE(result.valid.equal(valid));
  EXPECT_NE(result.errors[3].find("non-finite"), std::string::npos) << result.errors[3];
  const auto keep = torch::tensor({0, 1, 2, 4});
  EXPECT_TRUE(ft::all_close(result.scores.index_select(0, keep), raw.index_select(0, keep), 1e-5, 1e-5));
}

TEST_F(TorchScriptRewardTest, BadOptionsAndFoldersAreNamed) {
  auto& registry = fr::RewardRegistry::global();
  auto message = [&](const std::string& name, const nlohmann::json& options) {
    try {
      registry.create(name, options);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("pickscore", nlohmann::json::object()).find("option 'path' is required"),
            std::string::npos);
  EXPECT_NE(message("pickscore", {{"path", "x"}, {"bogus", 1}}).find("unknown option 'bogus'"),
            std::string::npos);
  EXPECT_NE(message("pickscore", {{"path", (dir_ / "nowhere").string()}}).find("does not exist"),
            std::string::npos);
  // A folder exported for another reward.
  EXPECT_NE(message("pickscore", {{"path", (dir_ / "aesthetic").string()}})
                .find("describes the reward 'aesthetic'"),
            std::string::npos);
  // A missing module file.
  fs::remove(dir_ / "aesthetic" / "model.pt");
  EXPECT_NE(message("aesthetic", {{"path", (dir_ / "aesthetic").string()}}).find("model.pt"),
            std::string::npos);
  // A corrupt module file.
  ft::write_text_file(dir_ / "aesthetic" / "model.pt", "not a zip archive");
  EXPECT_NE(
      message("aesthetic", {{"path", (dir_ / "aesthetic").string()}}).find("cannot load TorchScript module"),
      std::string::npos);
}
