#include "flowgrpo/models/transformers/sd3_transformer.h"

#include "flowgrpo/common/autocast.h"
#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/io/state_dict.h"
#include "flowgrpo/io/weight_source.h"
#include "flowgrpo/models/lora.h"
#include "support/test_support.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <set>

namespace {

namespace fs = std::filesystem;
namespace ft = flowgrpo::testing;
namespace io = flowgrpo::io;
using flowgrpo::models::ActivationRecord;
using flowgrpo::models::SD3LoadOptions;
using flowgrpo::models::SD3Transformer;
using flowgrpo::models::SD3TransformerConfig;

struct Case {
  torch::Tensor hidden, context, pooled, timestep, expected;
};

Case load_case(const io::TensorMap& io_map, const std::string& in, const std::string& out) {
  return {io_map.at(in + ".hidden_states"), io_map.at(in + ".encoder_hidden_states"),
          io_map.at(in + ".pooled_projections"), io_map.at(in + ".timestep"), io_map.at(out + ".sample")};
}

// Runs the fixture's two cases and the intermediate activations; returns the
// worst output error.
double check_fixture(const std::string& name) {
  auto model = SD3Transformer::from_pretrained(ft::data_path(name));
  const auto io_map = io::load_safetensors(ft::data_path(name + "/io.safetensors"));
  torch::NoGradGuard no_grad;
  double worst = 0.0;
  for (const auto& [in, out] :
       {std::pair<std::string, std::string>{"input", "output"}, {"input_rect", "output_rect"}}) {
    const auto c = load_case(io_map, in, out);
    ActivationRecord record;
    auto sample =
        model->forward(c.hidden, c.context, c.pooled, c.timestep, in == "input" ? &record : nullptr);
    EXPECT_TRUE(ft::all_close(sample, c.expected, 1e-4)) << name << " " << out;
    const double err = ft::max_abs_diff(sample, c.expected);
    worst = std::max(worst, err);
    std::printf("[parity] %s %s.sample fp32 max abs error %.3g (max |ref| %.3g)\n", name.c_str(), out.c_str(),
                err, c.expected.abs().max().item<double>());
    if (in != "input") continue;
    // Every intermediate the fixture holds must have been recorded and match.
    int compared = 0;
    for (const auto& [key, ref] : io_map) {
      if (key.rfind("inter.", 0) != 0) continue;
      const std::string k = key.substr(6);
      auto it = record.find(k);
      if (it == record.end()) {
        ADD_FAILURE() << "no activation recorded for " << key;
        continue;
      }
      EXPECT_TRUE(ft::all_close(it->second, ref, 1e-4)) << key;
      ++compared;
    }
    EXPECT_GT(compared, 10);
  }
  return worst;
}

TEST(SD3Transformer, ParityWithDiffusersSD35Tiny) {
  const double err = check_fixture("sd3_tiny");
  EXPECT_LE(err, 1e-4);
}

TEST(SD3Transformer, ParityWithDiffusersSD3Tiny) {
  const double err = check_fixture("sd3_tiny_v1");
  EXPECT_LE(err, 1e-4);
}

TEST(SD3Transformer, ParameterNamesEqualFileKeys) {
  for (const char* name : {"sd3_tiny", "sd3_tiny_v1"}) {
    const auto config = SD3TransformerConfig::from_file(ft::data_path(std::string(name) + "/config.json"));
    SD3Transformer model(config);
    const auto file =
        io::SafetensorsFile::open(ft::data_path(std::string(name) + "/diffusion_pytorch_model.safetensors"));
    const auto sd = io::state_dict(*model);
    std::vector<std::string> model_names;
    for (const auto& [k, v] : sd) {
      model_names.push_back(k);
      if (file.contains(k)) {
        EXPECT_EQ(v.sizes(), c10::IntArrayRef(file.info(k).shape)) << k;
      }
    }
    EXPECT_EQ(model_names, file.names()) << name;
  }
}

TEST(SD3Transformer, Bf16WithinTolerance) {
  SD3LoadOptions options;
  options.dtype = torch::kBFloat16;
  auto model = SD3Transformer::from_pretrained(ft::data_path("sd3_tiny"), options);
  EXPECT_EQ(model->dtype(), torch::kBFloat16);
  const auto io_map = io::load_safetensors(ft::data_path("sd3_tiny/io.safetensors"));
  torch::NoGradGuard no_grad;
  for (const auto& [in, out] :
       {std::pair<std::string, std::string>{"input", "output"}, {"input_rect", "output_rect"}}) {
    const auto c = load_case(io_map, in, out);
    auto sample = model->forward(c.hidden.to(torch::kBFloat16), c.context.to(torch::kBFloat16),
                                 c.pooled.to(torch::kBFloat16), c.timestep);
    EXPECT_EQ(sample.scalar_type(), torch::kBFloat16);
    // Metric: max |bf16 − fp32 reference| / max |reference|.
    const double rel = ft::max_abs_diff(sample, c.expected) / c.expected.abs().max().item<double>();
    std::printf("[parity] sd3_tiny %s.sample bf16 max abs error / max |ref| = %.3g\n", out.c_str(), rel);
    EXPECT_LE(rel, 4e-2);
  }
}

TEST(SD3Transformer, LoadsComponentFolderFileAndPipelineFolder) {
  ft::TempDir dir;
  fs::create_directories(dir.path() / "pipe" / "transformer");
  for (const char* f : {"config.json", "diffusion_pytorch_model.safetensors"})
    fs::copy_file(ft::data_path(std::string("sd3_tiny/") + f), dir.path() / "pipe" / "transformer" / f);
  const auto io_map = io::load_safetensors(ft::data_path("sd3_tiny/io.safetensors"));
  const auto c = load_case(io_map, "input", "output");
  torch::NoGradGuard no_grad;
  for (const fs::path& p : {dir.path() / "pipe", dir.path() / "pipe" / "transformer",
                            dir.path() / "pipe" / "transformer" / "diffusion_pytorch_model.safetensors"}) {
    auto model = SD3Transformer::from_pretrained(p);
    EXPECT_TRUE(ft::all_close(model->forward(c.hidden, c.context, c.pooled, c.timestep), c.expected, 1e-4))
        << p;
  }
  // F16 file into an fp32 model (converted on load).
  io::TensorMap half;
  for (const auto& [k, v] :
       io::load_safetensors(ft::data_path("sd3_tiny/diffusion_pytorch_model.safetensors")))
    half[k] = v.to(torch::kHalf);
  fs::create_directories(dir.path() / "half");
  fs::copy_file(ft::data_path("sd3_tiny/config.json"), dir.path() / "half" / "config.json");
  io::save_safetensors(dir.path() / "half" / "diffusion_pytorch_model.safetensors", half);
  auto model = SD3Transformer::from_pretrained(dir.path() / "half");
  EXPECT_EQ(model->dtype(), torch::kFloat);
  EXPECT_TRUE(ft::all_close(model->forward(c.hidden, c.context, c.pooled, c.timestep), c.expected, 2e-2));
  EXPECT_THROW(SD3Transformer::from_pretrained(dir.path() / "nothing"), std::invalid_argument);
}

TEST(SD3Transformer, StrictLoadingReportsAllProblemsAtOnce) {
  ft::TempDir dir;
  auto weights = io::load_safetensors(ft::data_path("sd3_tiny/diffusion_pytorch_model.safetensors"));
  weights.erase("transformer_blocks.1.attn.to_k.bias");                       // missing
  weights["transformer_blocks.9.attn.to_q.weight"] = torch::zeros({16, 16});  // unexpected
  weights["proj_out.weight"] = torch::zeros({32, 16});                        // mis-shaped
  fs::copy_file(ft::data_path("sd3_tiny/config.json"), dir / "config.json");
  io::save_safetensors(dir / "diffusion_pytorch_model.safetensors", weights);
  flowgrpo::testing::expect_invalid_argument(
      [&] { SD3Transformer::from_pretrained(dir.path()); },
      {"transformer_blocks.1.attn.to_k.bias", "transformer_blocks.9.attn.to_q.weight", "proj_out.weight",
       "[32,16]", "[64,16]", "SD3 transformer"});
}

TEST(SD3Transformer, WrongModelFileIsAClearError) {
  ft::TempDir dir;
  fs::copy_file(ft::data_path("sd3_tiny/config.json"), dir / "config.json");
  fs::copy_file(ft::data_path("sd3_tiny_v1/diffusion_pytorch_model.safetensors"),
                dir / "diffusion_pytorch_model.safetensors");
  // SD3.5 config, SD3 weights: no attn2, no qk-norm weights, smaller norm1.
  flowgrpo::testing::expect_invalid_argument(
      [&] { SD3Transformer::from_pretrained(dir.path()); },
      {"missing in file", "transformer_blocks.0.attn2.to_q.weight", "transformer_blocks.0.attn.norm_q.weight",
       "transformer_blocks.0.norm1.linear.weight"});
}

TEST(SD3Transformer, InputShapeErrors) {
  auto model = SD3Transformer::from_pretrained(ft::data_path("sd3_tiny"));
  torch::NoGradGuard no_grad;
  auto ctx = torch::randn({1, 7, 32});
  auto pooled = torch::randn({1, 24});
  auto t = torch::full({1}, 500.0);
  flowgrpo::testing::expect_invalid_argument(
      [&] {
        model->forward(torch::randn({1, 16, 15, 16}), ctx, pooled, t);
      },
      {"divisible", "patch_size 2", "15x16"});
  flowgrpo::testing::expect_invalid_argument(
      [&] {
        model->forward(torch::randn({1, 16, 24, 16}), ctx, pooled, t);
      },
      {"patch grid 12x8", "11x11", "pos_embed_max_size"});
  flowgrpo::testing::expect_invalid_argument(
      [&] {
        model->forward(torch::randn({1, 8, 16, 16}), ctx, pooled, t);
      },
      {"hidden_states", "[B, 16, H, W]", "found [1,8,16,16]"});
  flowgrpo::testing::expect_invalid_argument(
      [&] {
        model->forward(torch::randn({1, 16, 16, 16}), torch::randn({1, 7, 31}), pooled, t);
      },
      {"encoder_hidden_states", "32", "found [1,7,31]"});
  flowgrpo::testing::expect_invalid_argument(
      [&] {
        model->forward(torch::randn({1, 16, 16, 16}), ctx, torch::randn({1, 23}), t);
      },
      {"pooled_projections", "[1, 24]", "found [1,23]"});
  flowgrpo::testing::expect_invalid_argument(
      [&] {
        model->forward(torch::randn({2, 16, 16, 16}), ctx, pooled, t);
      },
      {"encoder_hidden_states", "[2, S, 32]"});
  flowgrpo::testing::expect_invalid_argument(
      [&] {
        model->forward(torch::randn({1, 16, 16, 16}), ctx, pooled, torch::full({3}, 1.0));
      },
      {"timestep"});
  // A single timestep broadcasts over the batch.
  auto two =
      model->forward(torch::randn({2, 16, 16, 16}), torch::randn({2, 7, 32}), torch::randn({2, 24}), t);
  EXPECT_EQ(two.sizes(), (std::vector<int64_t>{2, 16, 16, 16}));
}

TEST(SD3Transformer, VelocityModelAdapterMatchesForward) {
  auto model = SD3Transformer::from_pretrained(ft::data_path("sd3_tiny"));
  flowgrpo::models::SD3VelocityModel velocity(model);
  const auto io_map = io::load_safetensors(ft::data_path("sd3_tiny/io.safetensors"));
  const auto c = load_case(io_map, "input", "output");
  torch::NoGradGuard no_grad;
  flowgrpo::sampling::Conditioning cond{c.context, c.pooled};
  EXPECT_TRUE(ft::all_close(velocity.forward(c.hidden, c.timestep, cond), c.expected, 1e-4));
  EXPECT_THROW(velocity.forward(c.hidden, c.timestep, flowgrpo::sampling::Conditioning{c.context, {}}),
               std::invalid_argument);
}

// Loss and every gradient are identical with and without per-block checkpointing.
TEST(SD3Transformer, GradientCheckpointingGivesIdenticalGradients) {
  const auto io_map = io::load_safetensors(ft::data_path("sd3_tiny/io.safetensors"));
  const auto c = load_case(io_map, "input", "output");
  for (bool with_lora : {false, true}) {
    auto model = SD3Transformer::from_pretrained(ft::data_path("sd3_tiny"));
    if (with_lora) {
      auto cfg = flowgrpo::models::LoRAConfig::flow_grpo_sd3();
      cfg.r = 4;
      cfg.lora_alpha = 8;
      flowgrpo::models::inject_lora(*model, cfg);
      torch::manual_seed(3);
      torch::NoGradGuard ng;
      for (auto& p : flowgrpo::models::lora_parameters(*model)) p.normal_(0.0, 0.1);
    }
    model->train();
    torch::manual_seed(0);
    auto weight = torch::randn_like(c.expected);
    std::vector<std::map<std::string, torch::Tensor>> grads(2);
    std::vector<double> losses(2);
    std::vector<torch::Tensor> input_grads(2);
    for (int on = 0; on < 2; ++on) {
      model->set_gradient_checkpointing(on == 1);
      model->zero_grad();
      auto hidden = c.hidden.clone().requires_grad_(true);
      auto loss = (model->forward(hidden, c.context, c.pooled, c.timestep) * weight).sum();
      loss.backward();
      losses[on] = loss.item<double>();
      input_grads[on] = hidden.grad().clone();
      for (const auto& p : model->named_parameters()) {
        if (!p.value().requires_grad()) continue;
        ASSERT_TRUE(p.value().grad().defined()) << p.key();
        grads[on][p.key()] = p.value().grad().clone();
      }
    }
    EXPECT_EQ(losses[0], losses[1]);
    EXPECT_TRUE(ft::all_close(input_grads[1], input_grads[0], 1e-6, 1e-5));
    ASSERT_EQ(grads[0].size(), grads[1].size());
    EXPECT_GT(grads[0].size(), 0u);
    // Gradients of tensors inside the blocks are recomputed by the same ops and
    // come out bit-identical; those the blocks share (temb, context, and the
    // embedders before them) are sums over blocks whose order the autograd
    // engine changes, so they agree to float32 rounding of that sum.
    double worst_inside = 0.0, worst_shared = 0.0;
    for (const auto& [k, g] : grads[0]) {
      const double scale = std::max(1e-3, g.abs().max().item<double>());
      EXPECT_TRUE(ft::all_close(grads[1].at(k), g, 1e-5 * scale)) << k;
      const double d = ft::max_abs_diff(grads[1].at(k), g);
      if (k.rfind("transformer_blocks.", 0) == 0) {
        EXPECT_TRUE(torch::equal(grads[1].at(k), g)) << k;
        worst_inside = std::max(worst_inside, d);
      } else {
        worst_shared = std::max(worst_shared, d);
      }
    }
    std::printf(
        "[checkpointing] lora=%d: %zu gradients, max |diff| in blocks %.3g, outside %.3g, loss %.9g vs "
        "%.9g\n",
        with_lora ? 1 : 0, grads[0].size(), worst_inside, worst_shared, losses[0], losses[1]);
  }
}

// Flow-GRPO's precision policy: fp32 weights run under autocast (CPU autocast is
// bf16). The checkpointed recomputation must run under the forward's autocast
// state even though backward() is called outside the autocast scope.
TEST(SD3Transformer, AutocastBf16AndCheckpointingUnderAutocast) {
  auto model = SD3Transformer::from_pretrained(ft::data_path("sd3_tiny"));
  const auto io_map = io::load_safetensors(ft::data_path("sd3_tiny/io.safetensors"));
  const auto c = load_case(io_map, "input", "output");
  {
    torch::NoGradGuard no_grad;
    flowgrpo::AutocastGuard autocast(torch::kCPU, torch::kBFloat16);
    auto sample = model->forward(c.hidden, c.context, c.pooled, c.timestep);
    const double rel = ft::max_abs_diff(sample, c.expected) / c.expected.abs().max().item<double>();
    std::printf(
        "[parity] sd3_tiny output.sample fp32 weights + CPU bf16 autocast: max abs error / max |ref| = "
        "%.3g\n",
        rel);
    EXPECT_LE(rel, 4e-2);
  }
  model->train();
  torch::manual_seed(0);
  const auto weight = torch::randn_like(c.expected);
  std::vector<std::map<std::string, torch::Tensor>> grads(2);
  std::vector<double> losses(2);
  for (int on = 0; on < 2; ++on) {
    model->set_gradient_checkpointing(on == 1);
    model->zero_grad();
    torch::Tensor loss;
    {
      flowgrpo::AutocastGuard autocast(torch::kCPU, torch::kBFloat16);
      loss = (model->forward(c.hidden, c.context, c.pooled, c.timestep).to(torch::kFloat) * weight).sum();
    }
    loss.backward();  // outside the autocast scope, as recommended for PyTorch
    losses[on] = loss.item<double>();
    for (const auto& p : model->named_parameters()) grads[on][p.key()] = p.value().grad().clone();
  }
  EXPECT_EQ(losses[0], losses[1]);
  // Block gradients: bit-identical (the recomputation ran under bf16 autocast;
  // without it they would differ at the bf16 level). Gradients of the shared
  // embedders are bf16 sums over blocks in another order: equal to bf16 rounding.
  double worst_inside = 0.0, worst_shared = 0.0;
  for (const auto& [k, g] : grads[0]) {
    const double d = ft::max_abs_diff(grads[1].at(k), g);
    if (k.rfind("transformer_blocks.", 0) == 0) {
      EXPECT_TRUE(torch::equal(grads[1].at(k), g)) << k;
      worst_inside = std::max(worst_inside, d);
    } else {
      const double scale = std::max(1e-3, g.abs().max().item<double>());
      EXPECT_TRUE(ft::all_close(grads[1].at(k), g, 3e-2 * scale)) << k;
      worst_shared = std::max(worst_shared, d / scale);
    }
  }
  std::printf(
      "[checkpointing] under bf16 autocast: block gradients max |diff| %.3g; shared max |diff|/max|g| %.3g\n",
      worst_inside, worst_shared);
}

TEST(SD3Transformer, CheckpointingIsInactiveWithoutGrad) {
  auto model = SD3Transformer::from_pretrained(ft::data_path("sd3_tiny"));
  model->set_gradient_checkpointing(true);
  const auto io_map = io::load_safetensors(ft::data_path("sd3_tiny/io.safetensors"));
  const auto c = load_case(io_map, "input", "output");
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(ft::all_close(model->forward(c.hidden, c.context, c.pooled, c.timestep), c.expected, 1e-4));
}

}  // namespace
