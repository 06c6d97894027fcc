#include "flowgrpo/models/lora.h"

#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/io/state_dict.h"
#include "flowgrpo/models/transformers/sd3_transformer.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

namespace {

namespace fs = std::filesystem;
namespace ft = flowgrpo::testing;
namespace io = flowgrpo::io;
using namespace flowgrpo::models;
using nlohmann::json;

struct Inputs {
  torch::Tensor hidden, context, pooled, timestep;
};

Inputs fixture_inputs() {
  const auto m = io::load_safetensors(ft::data_path("sd3_tiny/io.safetensors"));
  return {m.at("input.hidden_states"), m.at("input.encoder_hidden_states"), m.at("input.pooled_projections"),
          m.at("input.timestep")};
}

torch::Tensor run(SD3Transformer& model, const Inputs& in) {
  return model->forward(in.hidden, in.context, in.pooled, in.timestep);
}

SD3Transformer tiny() {
  return SD3Transformer::from_pretrained(ft::data_path("sd3_tiny"));
}

void randomize_adapters(torch::nn::Module& m, uint64_t seed, double std = 0.05) {
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : lora_parameters(m)) p.normal_(0.0, std);
}

TEST(LoRA, PeftTargetMatching) {
  const auto cfg = LoRAConfig::flow_grpo_sd3();
  EXPECT_TRUE(matches_target("transformer_blocks.0.attn.to_q", cfg));
  EXPECT_TRUE(matches_target("transformer_blocks.12.attn.to_out.0", cfg));
  EXPECT_TRUE(matches_target("attn.to_q", cfg));  // exact name
  EXPECT_FALSE(matches_target("transformer_blocks.0.attn2.to_q", cfg));
  EXPECT_FALSE(matches_target("transformer_blocks.0.attn2.to_out.0", cfg));
  EXPECT_FALSE(matches_target("transformer_blocks.0.xattn.to_q", cfg));
  EXPECT_FALSE(matches_target("transformer_blocks.0.attn.to_out", cfg));
  LoRAConfig plain;
  plain.target_modules = {"to_q"};
  EXPECT_TRUE(matches_target("transformer_blocks.0.attn2.to_q", plain));
  LoRAConfig re;
  re.target_regex = R"(.*blocks\.[01]\.attn\.to_[qk])";
  EXPECT_TRUE(matches_target("transformer_blocks.1.attn.to_k", re));
  EXPECT_FALSE(matches_target("transformer_blocks.2.attn.to_k", re));
  EXPECT_FALSE(matches_target("transformer_blocks.1.attn.to_k.x", re));
}

TEST(LoRA, InjectsFlowGrpoTargetsOnlyAndFreezesTheRest) {
  auto model = tiny();
  const auto names = inject_lora(*model, LoRAConfig::flow_grpo_sd3());
  // 3 full blocks × 8 + the context_pre_only block (no to_add_out) × 7.
  EXPECT_EQ(names.size(), 31u);
  for (const auto& n : names) EXPECT_EQ(n.find("attn2"), std::string::npos) << n;
  EXPECT_EQ(lora_layers(*model).size(), 31u);
  EXPECT_EQ(lora_parameters(*model).size(), 62u);
  int trainable = 0;
  for (const auto& p : model->named_parameters()) {
    const bool lora = p.key().find(".lora_") != std::string::npos;
    EXPECT_EQ(p.value().requires_grad(), lora) << p.key();
    trainable += lora;
  }
  EXPECT_EQ(trainable, 62);
  auto sd = lora_state_dict(*model);
  ASSERT_TRUE(sd.count("transformer_blocks.0.attn.to_out.0.lora_A.weight"));
  EXPECT_EQ(sd.at("transformer_blocks.0.attn.to_q.lora_A.weight").sizes(), (std::vector<int64_t>{32, 16}));
  EXPECT_EQ(sd.at("transformer_blocks.0.attn.to_q.lora_B.weight").sizes(), (std::vector<int64_t>{16, 32}));
  // Base weights still load strictly under their diffusers names.
  EXPECT_NO_THROW(model->load_weights(io::WeightSource::open(ft::data_path("sd3_tiny"))));
  // Gaussian init: B = 0, A ~ N(0, 1/r).
  auto a = sd.at("transformer_blocks.0.attn.to_q.lora_A.weight");
  EXPECT_TRUE(torch::equal(sd.at("transformer_blocks.0.attn.to_q.lora_B.weight"),
                           torch::zeros_like(sd.at("transformer_blocks.0.attn.to_q.lora_B.weight"))));
  std::vector<torch::Tensor> all_a;
  for (const auto& [k, v] : sd)
    if (k.find("lora_A") != std::string::npos) all_a.push_back(v.flatten());
  const double std = torch::cat(all_a).std().item<double>();
  EXPECT_NEAR(std, 1.0 / 32, 0.1 / 32);
  // Errors: nothing matched; a non-Linear matched; injecting twice.
  auto fresh = tiny();
  LoRAConfig none;
  none.target_modules = {"attn.to_qq"};
  flowgrpo::testing::expect_invalid_argument([&] { inject_lora(*fresh, none); }, {"not found", "attn.to_qq"});
  LoRAConfig list;
  list.target_modules = {"attn.to_out"};
  flowgrpo::testing::expect_invalid_argument([&] { inject_lora(*fresh, list); },
                                             {"not Linear", "attn.to_out"});
  flowgrpo::testing::expect_invalid_argument([&] { inject_lora(*model, LoRAConfig::flow_grpo_sd3()); },
                                             {"already"});
}

TEST(LoRA, ZeroBLeavesOutputExactAndDisablingRestoresBase) {
  auto model = tiny();
  const auto in = fixture_inputs();
  torch::NoGradGuard no_grad;
  const auto base = run(model, in);
  inject_lora(*model, LoRAConfig::flow_grpo_sd3());
  EXPECT_TRUE(torch::equal(run(model, in), base));
  randomize_adapters(*model, 1);
  const auto adapted = run(model, in);
  EXPECT_GT(ft::max_abs_diff(adapted, base), 1e-3);
  {
    AdapterDisabledScope off(*model);
    EXPECT_TRUE(torch::equal(run(model, in), base));
  }
  EXPECT_TRUE(torch::equal(run(model, in), adapted));
  set_lora_enabled(*model, false);
  EXPECT_TRUE(torch::equal(run(model, in), base));
  set_lora_enabled(*model, true);
  EXPECT_TRUE(torch::equal(run(model, in), adapted));
}

TEST(LoRA, MergeAndUnmerge) {
  auto model = tiny();
  const auto in = fixture_inputs();
  torch::NoGradGuard no_grad;
  const auto base = run(model, in);
  const auto base_weight = io::state_dict(*model).at("transformer_blocks.0.attn.to_q.weight").clone();
  inject_lora(*model, LoRAConfig::flow_grpo_sd3());
  randomize_adapters(*model, 2);
  const auto adapted = run(model, in);
  merge_lora(*model);
  for (const auto& [n, l] : lora_layers(*model)) EXPECT_TRUE(l->merged()) << n;
  const auto merged_weight = io::state_dict(*model).at("transformer_blocks.0.attn.to_q.weight");
  EXPECT_GT(ft::max_abs_diff(merged_weight, base_weight), 1e-4);
  EXPECT_TRUE(ft::all_close(run(model, in), adapted, 1e-5, 1e-5));
  unmerge_lora(*model);
  EXPECT_TRUE(
      ft::all_close(io::state_dict(*model).at("transformer_blocks.0.attn.to_q.weight"), base_weight, 1e-6));
  EXPECT_TRUE(ft::all_close(run(model, in), adapted, 1e-5, 1e-5));
  // Disabling a merged model unmerges first, so "off" is the base model.
  merge_lora(*model);
  {
    AdapterDisabledScope off(*model);
    EXPECT_TRUE(ft::all_close(run(model, in), base, 1e-5, 1e-5));
  }
}

TEST(LoRA, OptimizerStepChangesOnlyAdapterTensors) {
  auto model = tiny();
  inject_lora(*model, LoRAConfig::flow_grpo_sd3());
  model->train();
  const auto in = fixture_inputs();
  std::map<std::string, torch::Tensor> before;
  for (const auto& [k, v] : io::state_dict(*model)) before[k] = v.clone();
  // Even given every parameter, the optimizer can only move the trainable ones.
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-3).weight_decay(1e-4));
  for (int step = 0; step < 2; ++step) {
    opt.zero_grad();
    auto loss = run(model, in).pow(2).mean();
    loss.backward();
    opt.step();
  }
  // The context_pre_only block discards the context half of its attention
  // output, so its add_q_proj has no influence on the loss (as in diffusers):
  // its lora_B gets a zero gradient and stays 0 (lora_A moves by weight decay).
  const std::string dead = "transformer_blocks.3.attn.add_q_proj.lora_B.weight";
  for (const auto& [k, v] : io::state_dict(*model)) {
    const bool same = torch::equal(v, before.at(k));
    if (k.find(".lora_") == std::string::npos || k == dead) {
      EXPECT_TRUE(same) << "tensor changed: " << k;
    } else {
      EXPECT_FALSE(same) << "adapter tensor did not move: " << k;
    }
  }
  EXPECT_EQ(lora_state_dict(*model).at(dead).grad().abs().max().item<double>(), 0.0);
}

TEST(LoRA, PeftLayoutRoundTrip) {
  ft::TempDir dir;
  const auto in = fixture_inputs();
  auto cfg = LoRAConfig::flow_grpo_sd3();
  cfg.base_model_name_or_path = "stabilityai/stable-diffusion-3.5-medium";
  torch::Tensor expected;
  {
    auto model = tiny();
    inject_lora(*model, cfg);
    randomize_adapters(*model, 7);
    torch::NoGradGuard no_grad;
    expected = run(model, in);
    save_lora_peft(*model, cfg, dir / "adapter");
  }
  // The files as PEFT writes them.
  std::ifstream cfg_in(dir / "adapter" / "adapter_config.json");
  json j;
  cfg_in >> j;
  EXPECT_EQ(j.at("peft_type"), "LORA");
  EXPECT_EQ(j.at("r"), 32);
  EXPECT_EQ(j.at("lora_alpha"), 64);
  EXPECT_TRUE(j.at("lora_alpha").is_number_integer());
  EXPECT_EQ(j.at("init_lora_weights"), "gaussian");
  EXPECT_EQ(j.at("bias"), "none");
  EXPECT_TRUE(j.at("task_type").is_null());
  EXPECT_EQ(j.at("base_model_name_or_path"), "stabilityai/stable-diffusion-3.5-medium");
  EXPECT_EQ(j.at("target_modules").size(), 8u);
  const auto file = io::SafetensorsFile::open(dir / "adapter" / "adapter_model.safetensors");
  EXPECT_EQ(file.names().size(), 62u);
  EXPECT_TRUE(file.contains("base_model.model.transformer_blocks.0.attn.to_q.lora_A.weight"));
  EXPECT_TRUE(file.contains("base_model.model.transformer_blocks.3.attn.to_out.0.lora_B.weight"));
  EXPECT_FALSE(file.contains("base_model.model.transformer_blocks.3.attn.to_add_out.lora_B.weight"));
  EXPECT_EQ(file.metadata().at("format"), "pt");

  auto fresh = tiny();
  const auto names = load_lora_adapter(*fresh, dir / "adapter");
  EXPECT_EQ(names.size(), 31u);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(run(fresh, in), expected));
  EXPECT_EQ(read_lora_config(dir / "adapter").target_modules, cfg.target_modules);
}

TEST(LoRA, ReadsPeftFilesWithAdapterNameAndDiffusersLayout) {
  ft::TempDir dir;
  const auto in = fixture_inputs();
  auto cfg = LoRAConfig::flow_grpo_sd3();
  auto model = tiny();
  inject_lora(*model, cfg);
  randomize_adapters(*model, 11);
  torch::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    expected = run(model, in);
  }
  // ".default" adapter names (some PEFT versions), bf16 storage.
  io::TensorMap named;
  for (const auto& [k, v] : lora_state_dict(*model)) {
    const std::string key = "base_model.model." + k.substr(0, k.size() - 7) + ".default.weight";
    named[key] = v.detach().clone();
  }
  io::save_safetensors(dir / "named.safetensors", named);
  auto a = tiny();
  inject_lora(*a, cfg);
  load_lora_weights(*a, dir / "named.safetensors");
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(run(a, in), expected));
  // diffusers layout (scaling folded into B, alpha/r = 2 so the fold is exact).
  save_lora_diffusers(*model, dir / "pytorch_lora_weights.safetensors");
  const auto f = io::SafetensorsFile::open(dir / "pytorch_lora_weights.safetensors");
  EXPECT_TRUE(f.contains("transformer.transformer_blocks.0.attn.to_q.lora_B.weight"));
  auto b = tiny();
  inject_lora(*b, cfg);
  load_lora_weights(*b, dir / "pytorch_lora_weights.safetensors");
  EXPECT_TRUE(torch::equal(run(b, in), expected));
}

TEST(LoRA, LoadValidationReportsAllProblems) {
  ft::TempDir dir;
  auto cfg = LoRAConfig::flow_grpo_sd3();
  auto model = tiny();
  inject_lora(*model, cfg);
  save_lora_peft(*model, cfg, dir.path());
  auto tensors = io::load_safetensors(dir / "adapter_model.safetensors");
  tensors.erase("base_model.model.transformer_blocks.1.attn.to_k.lora_A.weight");
  tensors["base_model.model.transformer_blocks.0.attn2.to_q.lora_A.weight"] = torch::zeros({32, 16});
  tensors["base_model.model.transformer_blocks.2.attn.to_v.lora_B.weight"] = torch::zeros({16, 16});
  io::save_safetensors(dir / "adapter_model.safetensors", tensors);
  auto fresh = tiny();
  inject_lora(*fresh, cfg);
  const auto before = lora_state_dict(*fresh).at("transformer_blocks.0.attn.to_q.lora_A.weight").clone();
  flowgrpo::testing::expect_invalid_argument(
      [&] { load_lora_weights(*fresh, dir.path()); },
      {"missing", "transformer_blocks.1.attn.to_k.lora_A.weight", "unexpected",
       "transformer_blocks.0.attn2.to_q.lora_A.weight", "mismatch",
       "transformer_blocks.2.attn.to_v.lora_B.weight", "rank 16 vs 32"});
  // Nothing was copied.
  EXPECT_TRUE(
      torch::equal(lora_state_dict(*fresh).at("transformer_blocks.0.attn.to_q.lora_A.weight"), before));
  // Rank mismatch through the config: an r=16 adapter file into an r=32 model.
  auto r16 = cfg;
  r16.r = 16;
  auto m16 = tiny();
  inject_lora(*m16, r16);
  save_lora_peft(*m16, r16, dir / "r16");
  flowgrpo::testing::expect_invalid_argument([&] { load_lora_weights(*fresh, dir / "r16"); },
                                             {"rank 16 vs 32"});
  auto plain = tiny();
  flowgrpo::testing::expect_invalid_argument([&] { load_lora_weights(*plain, dir / "r16"); },
                                             {"no LoRA adapters"});
}

TEST(LoRA, PeftConfigParsing) {
  const auto cfg = LoRAConfig::flow_grpo_sd3();
  const auto back = LoRAConfig::from_peft_json(cfg.to_peft_json());
  EXPECT_EQ(back.r, 32);
  EXPECT_EQ(back.lora_alpha, 64.0);
  EXPECT_EQ(back.target_modules, cfg.target_modules);
  EXPECT_EQ(back.init, LoRAInit::kGaussian);
  // Newer PEFT fields with default values are accepted.
  auto j = cfg.to_peft_json();
  j["exclude_modules"] = nullptr;
  j["lora_bias"] = false;
  j["eva_config"] = nullptr;
  j["use_qalora"] = false;
  j["qalora_group_size"] = 16;
  EXPECT_NO_THROW(LoRAConfig::from_peft_json(j));
  auto reject = [&](const char* key, const json& value) {
    auto k = cfg.to_peft_json();
    k[key] = value;
    flowgrpo::testing::expect_invalid_argument([&] { LoRAConfig::from_peft_json(k, "adapter_config.json"); },
                                               {key, "adapter_config.json"});
  };
  reject("use_dora", true);
  reject("peft_type", "LOHA");
  reject("bias", "all");
  reject("rank_pattern", json{{"to_q", 4}});
  reject("modules_to_save", json::array({"proj_out"}));
  reject("r", 0);
  auto kaiming = cfg.to_peft_json();
  kaiming["init_lora_weights"] = true;
  EXPECT_EQ(LoRAConfig::from_peft_json(kaiming).init, LoRAInit::kKaiming);
  auto rs = cfg.to_peft_json();
  rs["use_rslora"] = true;
  EXPECT_TRUE(LoRAConfig::from_peft_json(rs).use_rslora);
}

TEST(LoRA, LinearLayerMatchesPeftFormula) {
  torch::manual_seed(0);
  torch::nn::Linear base(6, 5);
  LoRALinearOptions o;
  o.r = 3;
  o.lora_alpha = 6;
  LoRALinear l(base, o);
  EXPECT_DOUBLE_EQ(l->scaling(), 2.0);
  EXPECT_FALSE(l->weight.requires_grad());
  EXPECT_TRUE(l->lora_A->weight.requires_grad());
  {
    torch::NoGradGuard ng;
    l->lora_B->weight.normal_();
  }
  auto x = torch::randn({4, 6});
  auto want = torch::nn::functional::linear(x, base->weight, base->bias) +
              torch::matmul(torch::matmul(x, l->lora_A->weight.t()), l->lora_B->weight.t()) * 2.0;
  EXPECT_TRUE(ft::all_close(l->forward(x), want, 1e-6));
  // Shared, not copied: the base weight tensor is the same object.
  EXPECT_TRUE(l->weight.is_same(base->weight));
  o.use_rslora = true;
  LoRALinear rs(torch::nn::Linear(6, 5), o);
  EXPECT_DOUBLE_EQ(rs->scaling(), 6.0 / std::sqrt(3.0));
  // bf16 base with an fp32 adapter: the output keeps the base dtype.
  torch::nn::Linear half(6, 5);
  half->to(torch::kBFloat16);
  o.dtype = torch::kFloat;
  LoRALinear mixed(half, o);
  EXPECT_EQ(mixed->lora_A->weight.scalar_type(), torch::kFloat);
  EXPECT_EQ(mixed->forward(x.to(torch::kBFloat16)).scalar_type(), torch::kBFloat16);
  o.r = 0;
  EXPECT_THROW(LoRALinear(torch::nn::Linear(6, 5), o), std::invalid_argument);
}

// Central finite differences in float64 through the whole model for a few
// lora_A and lora_B entries.
TEST(LoRA, GradientsReachAdaptersFiniteDifferenceCheck) {
  auto model = tiny();
  model->to(torch::kDouble);
  auto cfg = LoRAConfig::flow_grpo_sd3();
  cfg.r = 4;
  cfg.lora_alpha = 8;
  inject_lora(*model, cfg);
  randomize_adapters(*model, 5, 0.1);  // B ≠ 0 so that A receives gradient too
  const auto in0 = fixture_inputs();
  const Inputs in{in0.hidden.to(torch::kDouble), in0.context.to(torch::kDouble),
                  in0.pooled.to(torch::kDouble), in0.timestep};
  torch::manual_seed(9);
  const auto w = torch::randn({2, 16, 16, 16}, torch::kDouble);
  auto loss_fn = [&] { return (run(model, in) * w).sum(); };
  model->zero_grad();
  loss_fn().backward();
  auto sd = lora_state_dict(*model);
  const std::vector<std::pair<std::string, std::vector<int64_t>>> probes{
      {"transformer_blocks.0.attn.to_q.lora_B.weight", {3, 1}},
      {"transformer_blocks.0.attn.to_q.lora_A.weight", {2, 5}},
      {"transformer_blocks.1.attn.add_v_proj.lora_B.weight", {0, 0}},
      {"transformer_blocks.2.attn.to_out.0.lora_A.weight", {1, 7}},
      {"transformer_blocks.3.attn.add_k_proj.lora_A.weight", {3, 2}},
      {"transformer_blocks.3.attn.to_v.lora_B.weight", {15, 3}},
  };
  const double h = 1e-6;
  torch::NoGradGuard no_grad;
  for (const auto& [name, idx] : probes) {
    auto p = sd.at(name);
    const double analytic = p.grad().index({idx[0], idx[1]}).item<double>();
    const double orig = p.index({idx[0], idx[1]}).item<double>();
    p.index_put_({idx[0], idx[1]}, orig + h);
    const double up = loss_fn().item<double>();
    p.index_put_({idx[0], idx[1]}, orig - h);
    const double down = loss_fn().item<double>();
    p.index_put_({idx[0], idx[1]}, orig);
    const double numeric = (up - down) / (2 * h);
    std::printf("[fd] %s%s analytic %.9g numeric %.9g\n", name.c_str(),
                ("[" + std::to_string(idx[0]) + "," + std::to_string(idx[1]) + "]").c_str(), analytic,
                numeric);
    EXPECT_GT(std::fabs(analytic), 1e-6) << name;
    EXPECT_NEAR(numeric, analytic, 1e-6 + 1e-5 * std::fabs(analytic)) << name;
  }
}

}  // namespace
