// The live Python reference as an oracle (ctest label `reference`): cases drawn at
// random when the test runs (a seed per test, printed on failure; set
// FLOWGRPO_REFERENCE_SEED=S to replay one) go through diffusers 0.33.1 / peft
// (tests/reference/reference_oracle.py) and through flowgrpo's documented CLI,
// and the two must agree:
//  - SD3 transformers of random shape (dual attention or not, qk-norm or not, patch
//    1/2, rectangular latents, out_channels != in_channels), fp32 <= 1e-4;
//  - FlowMatchEulerDiscreteScheduler at random shifts and step counts, bit-exact;
//  - Flow-SDE / CPS steps at random noise levels, step counts and indices, <= 1e-5;
//  - LoRA interop both ways: an adapter flowgrpo-train wrote, loaded by PEFT; a
//    PEFT adapter, loaded by flowgrpo-tool forward --lora; fp32 <= 1e-4.
#include "flowgrpo/io/safetensors.h"

#include "support/test_support.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace ft = flowgrpo::testing;
namespace fio = flowgrpo::io;
namespace fs = std::filesystem;

namespace {

std::string tool() {
  return (ft::binary_dir() / "apps" / "flowgrpo-tool").string();
}
std::string train() {
  return (ft::binary_dir() / "apps" / "flowgrpo-train").string();
}

std::string oracle() {
  return ft::reference_oracle("reference_oracle.py");
}

void run_ok(const std::string& command) {
  const auto r = ft::run_command(command);
  ASSERT_EQ(r.exit_code, 0) << command << "\n" << r.output;
}

fio::TensorMap strip_prefix(const fio::TensorMap& all, const std::string& prefix) {
  fio::TensorMap out;
  for (const auto& [k, v] : all)
    if (k.rfind(prefix, 0) == 0) out[k.substr(prefix.size())] = v;
  return out;
}

class LiveReference : public ::testing::Test {
 protected:
  void SetUp() override { FLOWGRPO_REQUIRE_PYTHON("torch diffusers peft safetensors"); }
};

}  // namespace

TEST_F(LiveReference, RandomSD3TransformersMatchDiffusers) {
  for (uint64_t k = 0; k < 6; ++k) {
    const uint64_t seed = ft::reference_seed() + k;
    SCOPED_TRACE("FLOWGRPO_REFERENCE_SEED=" + std::to_string(ft::reference_seed()) + " case seed " +
                 std::to_string(seed));
    ft::TempDir dir;
    ASSERT_NO_FATAL_FAILURE(
        run_ok(oracle() + " transformer " + std::to_string(seed) + " " + dir.path().string()));
    const auto io = fio::load_safetensors(dir / "io.safetensors");
    fio::save_safetensors(dir / "in.safetensors", strip_prefix(io, "input."));
    ASSERT_NO_FATAL_FAILURE(run_ok(tool() + " forward --model " + dir.path().string() + " --input " +
                                   (dir / "in.safetensors").string() + " --output " +
                                   (dir / "out.safetensors").string()));
    const auto out = fio::load_safetensors(dir / "out.safetensors");
    std::ifstream config(dir / "case.json");
    EXPECT_TRUE(ft::all_close(out.at("sample"), io.at("output.sample"), 1e-4, 1e-4))
        << nlohmann::json::parse(config).dump();
  }
}

TEST_F(LiveReference, RandomSchedulesMatchDiffusersBitExactly) {
  for (uint64_t k = 0; k < 8; ++k) {
    const uint64_t seed = ft::reference_seed() + k;
    SCOPED_TRACE("FLOWGRPO_REFERENCE_SEED=" + std::to_string(ft::reference_seed()) + " case seed " +
                 std::to_string(seed));
    ft::TempDir dir;
    ASSERT_NO_FATAL_FAILURE(
        run_ok(oracle() + " schedule " + std::to_string(seed) + " " + (dir / "s.json").string()));
    std::ifstream in(dir / "s.json");
    const auto ref = nlohmann::json::parse(in);
    std::ostringstream shift;
    shift.precision(17);
    shift << ref["shift"].get<double>();
    const auto r = ft::run_command(tool() + " schedule --steps " + std::to_string(ref["steps"].get<int>()) +
                                   " --shift " + shift.str());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto ours = nlohmann::json::parse(r.output);
    EXPECT_EQ(ours["sigmas"], ref["sigmas"]) << "shift " << ref["shift"] << " steps " << ref["steps"];
    EXPECT_EQ(ours["timesteps"], ref["timesteps"]) << "shift " << ref["shift"] << " steps " << ref["steps"];
  }
}

TEST_F(LiveReference, RandomSdeAndCpsStepsMatchFlowGrpo) {
  ft::TempDir dir;
  const uint64_t seed = ft::reference_seed();
  SCOPED_TRACE("FLOWGRPO_REFERENCE_SEED=" + std::to_string(seed));
  ASSERT_NO_FATAL_FAILURE(
      run_ok(oracle() + " sde-steps " + std::to_string(seed) + " " + dir.path().string()));
  std::ifstream in(dir / "cases.json");
  const auto cases = nlohmann::json::parse(in)["cases"];
  ASSERT_EQ(cases.size(), 8u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.dump());
    const auto t = fio::load_safetensors(dir / c["file"].get<std::string>());
    for (const std::string mode : {"gen", "known"}) {
      fio::TensorMap in_t{{"sample", t.at("sample")},
                          {"model_output", t.at("model_output")},
                          {"sigmas", t.at("sigmas")},
                          {"step_index", t.at("step_index")}};
      if (mode == "gen")
        in_t["noise"] = t.at("noise");
      else
        in_t["prev_sample"] = t.at("prev_sample_in");
      fio::save_safetensors(dir / "in.safetensors", in_t);
      std::ostringstream level;
      level.precision(17);
      level << c["noise_level"].get<double>();
      ASSERT_NO_FATAL_FAILURE(run_ok(tool() + " sde-step --type " + c["type"].get<std::string>() +
                                     " --noise-level " + level.str() + " --input " +
                                     (dir / "in.safetensors").string() + " --output " +
                                     (dir / "out.safetensors").string()));
      const auto out = fio::load_safetensors(dir / "out.safetensors");
      const std::string p = mode + ".";
      EXPECT_TRUE(ft::all_close(out.at("log_prob"), t.at(p + "log_prob"), 1e-5, 1e-5)) << mode;
      EXPECT_TRUE(ft::all_close(out.at("prev_sample_mean"), t.at(p + "prev_sample_mean"), 1e-5, 1e-5))
          << mode;
      EXPECT_TRUE(ft::all_close(out.at("std_dev_t"), t.at(p + "std_dev_t"), 1e-6, 1e-6)) << mode;
      if (mode == "gen") {
        EXPECT_TRUE(ft::all_close(out.at("prev_sample"), t.at(p + "prev_sample"), 1e-5, 1e-5));
      }
    }
  }
}

TEST_F(LiveReference, PeftAdapterLoadsIntoFlowgrpo) {
  for (uint64_t k = 0; k < 3; ++k) {
    const uint64_t seed = ft::reference_seed() + 100 + k;
    SCOPED_TRACE("FLOWGRPO_REFERENCE_SEED=" + std::to_string(ft::reference_seed()) + " case seed " +
                 std::to_string(seed));
    ft::TempDir dir;
    const auto s = std::to_string(seed);
    ASSERT_NO_FATAL_FAILURE(run_ok(oracle() + " transformer " + s + " " + dir.path().string()));
    ASSERT_NO_FATAL_FAILURE(
        run_ok(oracle() + " lora-make " + s + " " + dir.path().string() + " " + (dir / "lora").string()));
    fio::save_safetensors(dir / "in.safetensors",
                          strip_prefix(fio::load_safetensors(dir / "io.safetensors"), "input."));
    ASSERT_NO_FATAL_FAILURE(run_ok(oracle() + " lora-forward " + dir.path().string() + " " +
                                   (dir / "lora").string() + " " + (dir / "in.safetensors").string() + " " +
                                   (dir / "peft.safetensors").string()));
    ASSERT_NO_FATAL_FAILURE(run_ok(tool() + " forward --model " + dir.path().string() + " --lora " +
                                   (dir / "lora").string() + " --input " + (dir / "in.safetensors").string() +
                                   " --output " + (dir / "ours.safetensors").string()));
    const auto peft = fio::load_safetensors(dir / "peft.safetensors").at("sample");
    const auto base = fio::load_safetensors(dir / "io.safetensors").at("output.sample");
    // The adapter must matter, or the comparison below would prove nothing.
    EXPECT_GT(ft::max_abs_diff(peft, base), 1e-2);
    EXPECT_TRUE(
        ft::all_close(fio::load_safetensors(dir / "ours.safetensors").at("sample"), peft, 1e-4, 1e-4));
  }
}

TEST_F(LiveReference, AdapterWrittenByFlowgrpoTrainLoadsWithPeft) {
  ft::TempDir dir;
  // The base model of configs/shapes.yaml, which the run below trains.
  const fs::path model = fs::path(FLOWGRPO_SOURCE_DIR) / "assets/shapes/latent_model";
  // One short epoch at a large learning rate, so the adapter moves the output far
  // beyond the comparison tolerance; no EMA, so the saved adapter is the trained one.
  // JPEG size as the reward: it differs between any two images, so no group has
  // zero advantages (the shapes reward often has, in a batch this small).
  ASSERT_NO_FATAL_FAILURE(run_ok(
      "cd '" + std::string(FLOWGRPO_SOURCE_DIR) + "' && " + train() + " --config configs/shapes.yaml" +
      " --set output_dir=" + (dir / "run").string() +
      " --set train.num_epochs=1 --set train.save_freq=1 --set train.eval_freq=0 --set train.ema=false"
      " --set train.learning_rate=0.02 --set train.clip_range=0.5 --set train.gradient_accumulation_steps=1"
      " --set sample.train_batch_size=4 --set sample.num_image_per_prompt=4 --set "
      "sample.num_batches_per_epoch=2"
      " --set sample.num_steps=4 --set reward.shapes=0 --set reward.jpeg_incompressibility=1"
      " --set logging.level=warn"));
  const fs::path lora = dir / "run" / "checkpoints" / "latest" / "lora";
  ASSERT_TRUE(fs::exists(lora / "adapter_config.json")) << lora;
  // Inputs in the ShapesEval model's shapes: its transformer config and text encoder width.
  std::ifstream cfg_in(model / "transformer" / "config.json");
  const auto cfg = nlohmann::json::parse(cfg_in);
  auto gen = at::detail::createCPUGenerator(ft::reference_seed());
  const int64_t size = cfg["sample_size"].get<int64_t>();
  fio::save_safetensors(
      dir / "in.safetensors",
      {{"hidden_states", torch::randn({3, cfg["in_channels"].get<int64_t>(), size, size}, gen)},
       {"encoder_hidden_states", torch::randn({3, 5, cfg["joint_attention_dim"].get<int64_t>()}, gen)},
       {"pooled_projections", torch::randn({3, cfg["pooled_projection_dim"].get<int64_t>()}, gen)},
       {"timestep", torch::rand({3}, gen) * 1000.0}});
  ASSERT_NO_FATAL_FAILURE(run_ok(oracle() + " lora-forward " + model.string() + " " + lora.string() + " " +
                                 (dir / "in.safetensors").string() + " " +
                                 (dir / "peft.safetensors").string()));
  ASSERT_NO_FATAL_FAILURE(run_ok(tool() + " forward --model " + model.string() + " --lora " + lora.string() +
                                 " --input " + (dir / "in.safetensors").string() + " --output " +
                                 (dir / "ours.safetensors").string()));
  ASSERT_NO_FATAL_FAILURE(run_ok(tool() + " forward --model " + model.string() + " --input " +
                                 (dir / "in.safetensors").string() + " --output " +
                                 (dir / "base.safetensors").string()));
  const auto peft = fio::load_safetensors(dir / "peft.safetensors").at("sample");
  const auto base = fio::load_safetensors(dir / "base.safetensors").at("sample");
  EXPECT_GT(ft::max_abs_diff(peft, base), 1e-3) << "the trained adapter does not change the output";
  EXPECT_TRUE(ft::all_close(fio::load_safetensors(dir / "ours.safetensors").at("sample"), peft, 1e-4, 1e-4));
}
