#include "flowgrpo/shapes/shapes_pipeline.h"
#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/models/embeddings.h"
#include "flowgrpo/sampling/rollout.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

#include <fstream>

namespace fm = flowgrpo::models;
namespace fsh = flowgrpo::shapes;
using flowgrpo::testing::TempDir;

namespace {

fsh::WordTokenizer tokenizer() {
  return fsh::WordTokenizer({"a", "photo", "of", "red", "circle", "and", "square"}, 8);
}

fm::SD3TransformerConfig tiny_transformer() {
  fm::SD3TransformerConfig c;
  c.sample_size = 8;
  c.patch_size = 2;
  c.in_channels = 3;
  c.out_channels = 3;
  c.num_layers = 2;
  c.attention_head_dim = 8;
  c.num_attention_heads = 2;
  c.joint_attention_dim = 16;
  c.caption_projection_dim = 16;
  c.pooled_projection_dim = 12;
  c.pos_embed_max_size = 4;
  c.qk_norm = "rms_norm";
  return c;
}

fsh::ShapesTextEncoderConfig tiny_text() {
  fsh::ShapesTextEncoderConfig c;
  c.vocab_size = 10;
  c.hidden_size = 16;
  c.intermediate_size = 32;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.max_position_embeddings = 8;
  c.projection_dim = 12;
  return c;
}

// 8x8 RGB -> 4x4x4 latents, with a non-trivial shift and scale.
fm::AutoencoderKL latent_test_vae(uint64_t seed) {
  fm::AutoencoderKLConfig c;
  c.down_block_types = {"DownEncoderBlock2D", "DownEncoderBlock2D"};
  c.up_block_types = {"UpDecoderBlock2D", "UpDecoderBlock2D"};
  c.block_out_channels = {8, 8};
  c.latent_channels = 4;
  c.norm_num_groups = 4;
  c.sample_size = {8};
  c.scaling_factor = 0.7;
  c.shift_factor = 0.1;
  c.use_quant_conv = false;
  c.use_post_quant_conv = false;
  torch::manual_seed(seed);
  return fm::AutoencoderKL(c);
}

fm::SD3TransformerConfig tiny_latent_transformer() {
  auto c = tiny_transformer();
  c.in_channels = 4;
  c.out_channels = 4;
  c.sample_size = 4;
  return c;
}

}  // namespace

TEST(SincosPosEmbed, EqualsTheTableSd3CheckpointsStore) {
  // The sd3_tiny fixture's buffer was built by diffusers (16 / patch 2 = base 8, table 11).
  const auto f = flowgrpo::io::SafetensorsFile::open(
      flowgrpo::testing::data_path("sd3_tiny/diffusion_pytorch_model.safetensors"));
  EXPECT_TRUE(
      flowgrpo::testing::all_close(fm::sd3_sincos_pos_embed(16, 11, 8), f.load("pos_embed.pos_embed"), 1e-6));
  EXPECT_THROW(fm::sd3_sincos_pos_embed(6, 11, 8), std::invalid_argument);
}

TEST(WordTokenizer, EncodesLikeClipAndRefusesUnknownWords) {
  const auto t = tokenizer();
  const auto ids = t.encode({"a photo of a red circle", ""});
  EXPECT_TRUE(torch::equal(ids[0], torch::tensor({1, 3, 4, 5, 3, 6, 7, 2}, torch::kLong)));
  EXPECT_TRUE(torch::equal(ids[1], torch::tensor({1, 2, 0, 0, 0, 0, 0, 0}, torch::kLong)));
  EXPECT_TRUE(torch::equal(t.eos_positions(ids), torch::tensor({7, 1}, torch::kLong)));
  try {
    t.encode({"a photo of a blue circle"});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'blue'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(t.encode({"a photo of a red circle and a red square"}), std::invalid_argument);  // too long
  EXPECT_THROW(fsh::WordTokenizer({"a", "a"}, 4), std::invalid_argument);
}

TEST(ShapesPipeline, SavesAndLoadsExactlyAndSamples) {
  fsh::ShapesPipeline p(tiny_transformer(), tiny_text(), tokenizer(), {}, 8);
  // Trained-from-scratch start: adaLN-Zero makes the initial velocity exactly zero.
  torch::NoGradGuard ng;
  const auto cond = p.encode_prompts({"a photo of a red square", ""});
  EXPECT_EQ(cond.encoder_hidden_states.sizes(), (std::vector<int64_t>{2, 8, 16}));
  EXPECT_EQ(cond.pooled_projections.sizes(), (std::vector<int64_t>{2, 12}));
  const auto x = torch::randn({2, 3, 8, 8});
  EXPECT_EQ(p.velocity_model().forward(x, torch::full({2}, 500.0f), cond).abs().max().item<double>(), 0.0);

  for (auto& t : p.transformer()->parameters()) t.normal_(0, 0.05);
  TempDir dir;
  p.save(dir.path());
  auto q = fsh::ShapesPipeline::load(dir.path());
  const auto c2 = q->encode_prompts({"a photo of a red square", ""});
  EXPECT_TRUE(torch::equal(c2.pooled_projections, cond.pooled_projections));
  const auto t = torch::full({2}, 700.0f);
  EXPECT_TRUE(torch::equal(q->velocity_model().forward(x, t, c2), p.velocity_model().forward(x, t, cond)));
  EXPECT_EQ(q->latent_shape(), (std::vector<int64_t>{3, 8, 8}));

  const auto images =
      q->decode(torch::tensor({-2.0f, -1.0f, 0.0f, 1.0f}).view({1, 1, 2, 2}).expand({1, 3, 2, 2}));
  EXPECT_TRUE(torch::equal(images[0][0], torch::tensor({{0.0f, 0.0f}, {0.5f, 1.0f}})));
  EXPECT_TRUE(torch::equal(fsh::ShapesPipeline::normalize_images(torch::tensor({0, 255}, torch::kByte)),
                           torch::tensor({-1.0f, 1.0f})));
}

TEST(ShapesPipeline, RefusesAnotherModelsFolder) {
  TempDir dir;
  fsh::ShapesPipeline(tiny_transformer(), tiny_text(), tokenizer(), {}, 8).save(dir.path());
  // A model_index.json of another pipeline class.
  flowgrpo::testing::write_text_file(dir / "model_index.json",
                                     R"({"_class_name": "StableDiffusion3Pipeline"})");
  try {
    fsh::ShapesPipeline::load(dir.path());
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("not a ShapesEval model"), std::string::npos) << e.what();
  }
  // Weights of a different size.
  TempDir other;
  auto big = tiny_transformer();
  big.num_layers = 3;
  fsh::ShapesPipeline(big, tiny_text(), tokenizer(), {}, 8).save(other.path());
  std::filesystem::copy_file(dir / "transformer/config.json", other / "transformer/config.json",
                             std::filesystem::copy_options::overwrite_existing);
  try {
    fsh::ShapesPipeline::load(other.path());
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("transformer_blocks.2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(fsh::ShapesPipeline(tiny_transformer(), tiny_text(), tokenizer(), {}, 12),
               std::invalid_argument);
}

TEST(ShapesPipeline, LatentModelEncodesAndDecodesThroughItsVaeAndReloadsExactly) {
  auto vae = latent_test_vae(3);
  fsh::ShapesPipeline p(tiny_latent_transformer(), tiny_text(), tokenizer(), {}, 8, torch::kCPU, vae);
  EXPECT_TRUE(p.is_latent());
  EXPECT_EQ(p.latent_shape(), (std::vector<int64_t>{4, 4, 4}));
  // The VAE is frozen: sampling and training never update it.
  for (const auto& w : p.vae()->parameters()) EXPECT_FALSE(w.requires_grad());
  torch::NoGradGuard ng;
  const auto images = torch::randint(0, 256, {2, 3, 8, 8}).to(torch::kByte);
  const auto z = p.encode_images(images);
  EXPECT_EQ(z.sizes(), (std::vector<int64_t>{2, 4, 4, 4}));
  // Model space is (posterior mode - shift) * scale, as SD3's pipeline uses it.
  const auto mode = vae->encode(fsh::ShapesPipeline::normalize_images(images)).mode();
  EXPECT_TRUE(torch::allclose(z, (mode - 0.1) * 0.7, 1e-6, 1e-6));
  const auto decoded = p.decode(z);
  EXPECT_EQ(decoded.sizes(), (std::vector<int64_t>{2, 3, 8, 8}));
  EXPECT_TRUE(torch::equal(decoded, vae->decode_to_image01(z)));
  EXPECT_GE(decoded.min().item<double>(), 0.0);
  EXPECT_LE(decoded.max().item<double>(), 1.0);

  for (auto& t : p.transformer()->parameters()) t.normal_(0, 0.05);
  TempDir dir;
  p.save(dir.path());
  EXPECT_TRUE(std::filesystem::exists(dir / "vae/config.json"));
  auto q = fsh::ShapesPipeline::load(dir.path());
  ASSERT_TRUE(q->is_latent());
  EXPECT_EQ(q->vae()->config(), vae->config());
  EXPECT_TRUE(torch::equal(q->decode(z), decoded));
  const std::vector<std::string> prompts{"a photo of a red square", ""};
  const auto cond = p.encode_prompts(prompts);
  const auto t = torch::full({2}, 600.0f);
  EXPECT_TRUE(torch::equal(q->velocity_model().forward(z, t, q->encode_prompts(prompts)),
                           p.velocity_model().forward(z, t, cond)));
}

TEST(ShapesPipeline, RefusesAVaeWhoseLatentsTheTransformerDoesNotTake) {
  // The pixel transformer (3 channels, 8x8) with a VAE that makes 4x4x4 latents.
  try {
    fsh::ShapesPipeline(tiny_transformer(), tiny_text(), tokenizer(), {}, 8, torch::kCPU, latent_test_vae(1));
    FAIL();
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("transformer/config.json (in_channels 3"), std::string::npos) << what;
    EXPECT_NE(what.find("vae/config.json latents: latent_channels 4, 4x4"), std::string::npos) << what;
  }
  // A latent model's folder without trained VAE weights: named, with the way to make them.
  TempDir dir;
  fsh::ShapesPipeline(tiny_latent_transformer(), tiny_text(), tokenizer(), {}, 8, torch::kCPU,
                      latent_test_vae(1))
      .save(dir.path());
  std::filesystem::remove(dir / "vae/diffusion_pytorch_model.safetensors");
  try {
    fsh::ShapesPipeline::load(dir.path());
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("pretrain.stage: vae"), std::string::npos) << e.what();
  }
}
