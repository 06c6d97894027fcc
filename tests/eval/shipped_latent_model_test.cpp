// The latent ShapesEval base that ships in assets/shapes/latent_model: its folder
// loads strictly (every config and tensor), and its VAE passes the gate it was
// trained to: the detector reads its reconstructions of test-prompt renders as
// it reads the renders themselves (>= 99% strict accuracy) on prompts it never saw.
#include "flowgrpo/data/prompt_dataset.h"
#include "flowgrpo/eval/reconstruction_eval.h"
#include "flowgrpo/rewards/shapes_reward.h"
#include "flowgrpo/shapes/prompt_spec.h"
#include "flowgrpo/shapes/renderer.h"
#include "flowgrpo/shapes/shapes_pipeline.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

namespace fs = std::filesystem;

namespace {

const fs::path kModel = fs::path(FLOWGRPO_SOURCE_DIR) / "assets/shapes/latent_model";
const fs::path kPrompts = fs::path(FLOWGRPO_SOURCE_DIR) / "assets/shapes/prompts";

}  // namespace

TEST(ShippedLatentModel, LoadsStrictlyWithItsVae) {
  auto p = flowgrpo::shapes::ShapesPipeline::load(kModel);
  ASSERT_TRUE(p->is_latent());
  EXPECT_EQ(p->latent_shape(), (std::vector<int64_t>{4, 8, 8}));
  const auto& vc = p->vae()->config();
  // Factors measured from latents at the end of VAE training, not the defaults.
  EXPECT_NE(vc.scaling_factor, 1.0);
  EXPECT_NE(vc.shift_factor, 0.0);
  EXPECT_EQ(p->transformer()->config().in_channels, vc.latent_channels);
}

TEST(ShippedLatentModel, VaeReconstructionsOfTestRendersKeepTheirStrictAccuracy) {
  auto p = flowgrpo::shapes::ShapesPipeline::load(kModel);
  std::vector<flowgrpo::shapes::PromptSpec> specs;
  std::vector<std::string> prompts;
  std::vector<nlohmann::json> metadata;
  // Four renders of every test and held-out prompt (prompts the VAE never saw).
  for (const char* file : {"test_metadata.jsonl", "held_out_metadata.jsonl"}) {
    const auto data = flowgrpo::data::PromptDataset::load_geneval(kPrompts / file);
    for (size_t i = 0; i < data.size(); ++i)
      for (int k = 0; k < 4; ++k) {
        specs.push_back(flowgrpo::shapes::PromptSpec::from_metadata(data.metadata(i)));
        prompts.push_back(data.prompt(i));
        metadata.push_back(data.metadata(i));
      }
  }
  // Render seeds no VAE training or monitoring run used.
  const auto images = flowgrpo::shapes::Renderer({p->resolution()}).render_batch(specs, uint64_t{0x7E57});
  flowgrpo::rewards::ShapesReward reward;
  auto vae = p->vae();
  torch::NoGradGuard ng;
  const auto r = flowgrpo::eval::evaluate_reconstruction(vae, reward, images, prompts, metadata);
  std::printf(
      "  %lld test and held-out renders: originals %.2f%%, reconstructions %.2f%% strict; mean |error| "
      "%.4f\n",
      static_cast<long long>(r.num_images), 100 * r.original_strict_accuracy,
      100 * r.reconstructed_strict_accuracy, r.mean_abs_error);
  EXPECT_EQ(r.original_strict_accuracy, 1.0);
  EXPECT_GE(r.reconstructed_strict_accuracy, 0.99);
}
