// The VAE stage of flowgrpo-pretrain on a tiny autoencoder: it learns, it resumes
// bit-identically, it sets SD3-style latent factors, and stages do not mix.
#include "flowgrpo/train/vae_pretrainer.h"

#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/models/autoencoders/autoencoder_kl.h"

#include "support/test_support.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <fstream>

namespace fm = flowgrpo::models;
namespace ft = flowgrpo::train;
namespace fs = std::filesystem;
using flowgrpo::testing::TempDir;

namespace {

// 8x8 images of four 4x4 quadrants, each one of the 8 saturated colours:
// deterministic per (step, size).
class BlockImages : public flowgrpo::data::ImageTextSource {
 public:
  flowgrpo::data::ImageTextBatch batch(int64_t step, int64_t size) override {
    auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(1000 + step));
    const auto blocks = (torch::randint(0, 2, {size, 3, 2, 2}, gen) * 255).to(torch::kByte);
    flowgrpo::data::ImageTextBatch b;
    b.images = blocks.repeat_interleave(4, 2).repeat_interleave(4, 3).contiguous();
    b.prompts.assign(static_cast<size_t>(size), "");
    return b;
  }
};

fm::AutoencoderKL block_vae() {
  fm::AutoencoderKLConfig c;
  c.down_block_types = {"DownEncoderBlock2D", "DownEncoderBlock2D"};
  c.up_block_types = {"UpDecoderBlock2D", "UpDecoderBlock2D"};
  c.block_out_channels = {8, 16};
  c.latent_channels = 4;
  c.norm_num_groups = 4;
  c.sample_size = {8};
  c.scaling_factor = 1.0;
  c.use_quant_conv = false;
  c.use_post_quant_conv = false;
  torch::manual_seed(5);
  return fm::AutoencoderKL(c);
}

flowgrpo::config::Config vae_stage_config(int steps) {
  flowgrpo::config::Config c;
  c.seed = 11;
  auto& p = c.pretrain;
  p.stage = "vae";
  p.steps = steps;
  p.batch_size = 8;
  p.learning_rate = 1e-2;
  p.warmup_steps = 5;
  p.ema_decay = 0.9;
  p.kl_weight = 1e-3;
  p.latent_stat_images = 64;
  p.log_every = 5;
  p.checkpoint_every = 10;
  p.eval_every = 0;
  return c;
}

std::vector<nlohmann::json> metric_rows(const fs::path& file, const char* key) {
  std::vector<nlohmann::json> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains(key)) out.push_back(j);
  }
  return out;
}

}  // namespace

TEST(VaePretrainer, ReconstructionLossFallsAndLatentFactorsAreSet) {
  TempDir dir;
  auto vae = block_vae();
  BlockImages data;
  const auto config = vae_stage_config(40);
  ft::VaePretrainer trainer(config, vae, data, dir.path());
  EXPECT_EQ(trainer.run(), 40);
  const auto l1 = metric_rows(dir / "pretrain_metrics.jsonl", "l1");
  ASSERT_EQ(l1.size(), 8u);
  const double first = l1.front()["l1"].get<double>(), last = l1.back()["l1"].get<double>();
  std::printf("  L1: steps 1-5 %.4f -> steps 36-40 %.4f\n", first, last);
  EXPECT_LT(last, 0.7 * first);

  // The shipped VAE: EMA weights with factors that whiten its latents.
  auto shipped = fm::AutoencoderKL::from_pretrained(dir / "vae");
  const auto& c = shipped->config();
  EXPECT_NE(c.scaling_factor, 1.0);
  EXPECT_EQ(c.block_out_channels, vae->config().block_out_channels);
  torch::NoGradGuard ng;
  const auto images = data.batch(int64_t{1} << 41, 64).images.to(torch::kFloat) / 127.5 - 1.0;
  const auto z = shipped->to_model_space(shipped->encode(images).mode());
  EXPECT_NEAR(z.mean().item<double>(), 0.0, 0.15);
  EXPECT_NEAR(z.std().item<double>(), 1.0, 0.15);
}

TEST(VaePretrainer, ResumedRunIsBitIdenticalToAnUninterruptedOne) {
  BlockImages data;
  TempDir straight;
  {
    auto vae = block_vae();
    ft::VaePretrainer(vae_stage_config(20), vae, data, straight.path()).run();
  }
  TempDir resumed;
  {
    auto vae = block_vae();
    ft::VaePretrainer(vae_stage_config(10), vae, data, resumed.path()).run();
  }
  {
    // A row an interrupted run logged after its last checkpoint: recomputed, not kept.
    std::ofstream(resumed / "pretrain_metrics.jsonl", std::ios::app) << R"({"step": 15, "l1": 9.0})"
                                                                     << "\n";
    auto config = vae_stage_config(20);
    config.resume = "latest";
    auto vae = block_vae();
    torch::manual_seed(999);  // the global RNG must not matter
    ft::VaePretrainer trainer(config, vae, data, resumed.path());
    EXPECT_EQ(trainer.run(), 10);
  }
  const auto a = flowgrpo::io::load_safetensors(straight / "vae/diffusion_pytorch_model.safetensors");
  const auto b = flowgrpo::io::load_safetensors(resumed / "vae/diffusion_pytorch_model.safetensors");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b.at(name))) << name;
  std::vector<int64_t> logged;
  for (const auto& row : metric_rows(resumed / "pretrain_metrics.jsonl", "l1")) {
    logged.push_back(row["step"].get<int64_t>());
    EXPECT_LT(row["l1"].get<double>(), 9.0);
  }
  EXPECT_EQ(logged, (std::vector<int64_t>{5, 10, 15, 20}));
  EXPECT_EQ(fm::AutoencoderKL::from_pretrained(straight / "vae")->config(),
            fm::AutoencoderKL::from_pretrained(resumed / "vae")->config());
}

TEST(VaePretrainer, RefusesATransformerStageCheckpoint) {
  TempDir dir;
  BlockImages data;
  auto vae = block_vae();
  ft::VaePretrainer trainer(vae_stage_config(10), vae, data, dir.path());
  trainer.save_checkpoint();
  const auto ckpt = dir / "checkpoints/step-0";
  ASSERT_TRUE(fs::exists(ckpt / "state.json")) << "checkpoint layout changed";
  flowgrpo::testing::write_text_file(ckpt / "state.json", R"({"step": 0, "stage": "transformer"})");
  try {
    trainer.load_checkpoint(ckpt);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("not a VAE-stage checkpoint"), std::string::npos) << e.what();
  }
}

// Issue 14: a damaged pretraining checkpoint names the file and the key or counter
// (state.json used to fail with nlohmann's bare "key 'step' not found" or type_error,
// the EMA counters with std::stoll's "stoll", or not at all for "12abc").
TEST(VaePretrainer, ACorruptCheckpointIsRefusedNamingFileAndKey) {
  TempDir dir;
  BlockImages data;
  auto vae = block_vae();
  ft::VaePretrainer trainer(vae_stage_config(10), vae, data, dir.path());
  trainer.save_checkpoint();
  const auto ckpt = dir / "checkpoints/step-0";
  const auto state = (ckpt / "state.json").string();
  auto expect_refused = [&](const std::string& part) {
    flowgrpo::testing::expect_invalid_argument([&] { trainer.load_checkpoint(ckpt); }, {part});
  };
  for (const auto& [text, part] : std::vector<std::pair<std::string, std::string>>{
           {R"({"stage": "vae"})", state + ": missing key 'step'"},
           {R"({"step": "0", "stage": "vae"})", state + ": key 'step' must be an integer, found \"0\""},
           {R"({"step": 0, "stage": 3})", state + ": not a VAE-stage checkpoint (stage 3)"},
           {R"([0])", state + ": expected a JSON object, found array"},
           {R"({"step": 0, "stage": "vae")", state + ": invalid JSON"}}) {
    flowgrpo::testing::write_text_file(ckpt / "state.json", text);
    expect_refused(part);
  }
  flowgrpo::testing::write_text_file(ckpt / "state.json", R"({"step": 0, "stage": "vae"})");
  const auto ema_file = ckpt / "ema.safetensors";
  const auto tensors = flowgrpo::io::load_safetensors(ema_file);
  auto metadata = flowgrpo::io::SafetensorsFile::open(ema_file).metadata();
  metadata["num_updates"] = "12abc";
  flowgrpo::io::save_safetensors(ema_file, tensors, metadata);
  expect_refused(ema_file.string() + ": metadata 'num_updates' must be an integer, found '12abc'");
}
