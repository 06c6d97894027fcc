// T5EncoderModel against transformers v4.40.0 (tests/data/text/t5_tiny, copied
// from ../shared/fixtures/text/t5_tiny: the T5 v1.1 layout at toy size, d_model
// 80, 4 heads of 16 (inner 64 != d_model), d_ff 120, 3 layers, gated-gelu, 32
// buckets, max distance 128, the full 32128 vocabulary), plus its config
// parsing, strict loading, the tied embedding, sharded files, half precision,
// the meta-device T5-XXL and input checks.
#include "flowgrpo/models/text_encoders/t5_encoder_model.h"

#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/io/state_dict.h"
#include "flowgrpo/models/text_encoders/t5_block.h"
#include "flowgrpo/models/text_encoders/t5_relative_position.h"
#include "support/model_folder.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <limits>
#include <tuple>

namespace {

namespace fs = std::filesystem;
namespace ft = flowgrpo::testing;
namespace io = flowgrpo::io;
using flowgrpo::models::LoadOptions;
using flowgrpo::models::T5Config;
using flowgrpo::models::T5EncoderModel;
using flowgrpo::models::T5EncoderOutput;
using nlohmann::json;

constexpr double kT5Fp32Atol = 1e-4;
constexpr double kT5Fp32Rtol = 1e-4;
// Half precision against the float32 reference, as mean |x - ref| / mean |ref|
// over the last hidden state: measured 3.55e-2 (bf16) and 3.70e-3 (fp16) on this
// fixture. The worst element is far off in bf16 (max |x - ref| / max |ref| =
// 0.489, fp16 0.031): the fixture's unscaled attention scores reach 20, so the
// softmax is sharp and amplifies rounding; transformers' own bf16 / fp16 runs of
// the fixture give the same errors to the digits printed (the reference test
// compares the half paths with transformers' directly).
constexpr double kT5Bf16MeanRelTol = 6e-2;
constexpr double kT5Fp16MeanRelTol = 1e-2;

const char* const kT5TinyDir = "text/t5_tiny";

const io::TensorMap& t5_tiny_io() {
  static const io::TensorMap tensors = io::load_safetensors(ft::data_path("text/t5_tiny/io.safetensors"));
  return tensors;
}

T5EncoderModel t5_tiny_model(const LoadOptions& options = {}) {
  return T5EncoderModel::from_pretrained(ft::data_path(kT5TinyDir), options);
}

io::TensorMap t5_tiny_weights() {
  return io::load_safetensors(ft::data_path("text/t5_tiny/model.safetensors"));
}

json t5_tiny_config_json() {
  return ft::read_json(ft::data_path("text/t5_tiny/config.json"));
}

/// A component folder in `dir` with the tiny config and `weights`.
void t5_write_component(const fs::path& dir, const io::TensorMap& weights,
                        const json& config = t5_tiny_config_json()) {
  ft::write_component_folder(dir, weights, config);
}

void t5_report(const char* what, const torch::Tensor& actual, const torch::Tensor& expected) {
  std::printf("[parity] t5_tiny %s fp32 max abs error %.3g (max |ref| %.3g)\n", what,
              ft::max_abs_diff(actual, expected), expected.abs().max().item<double>());
}

/// mean |actual - expected| / mean |expected| (float64).
double t5_mean_relative_error(const torch::Tensor& actual, const torch::Tensor& expected) {
  const auto e = expected.to(torch::kDouble);
  return (actual.to(torch::kDouble) - e).abs().mean().item<double>() / e.abs().mean().item<double>();
}

void t5_report_half(const char* what, const char* dtype, const torch::Tensor& actual,
                    const torch::Tensor& expected) {
  std::printf("[parity] t5_tiny %s %s mean |err| / mean |ref| = %.3g, max |err| / max |ref| = %.3g\n", what,
              dtype, t5_mean_relative_error(actual, expected),
              ft::max_abs_diff(actual, expected) / expected.abs().max().item<double>());
}

// ---------------------------------------------------------------------------
// Parity with transformers
// ---------------------------------------------------------------------------

TEST(T5EncoderModel, MatchesTransformersFixture) {
  auto t5 = t5_tiny_model();
  torch::NoGradGuard no_grad;
  const auto& t = t5_tiny_io();
  const auto out = t5->forward(t.at("input.input_ids"), {}, /*output_hidden_states=*/true);
  t5_report("output.last_hidden_state", out.last_hidden_state, t.at("output.last_hidden_state"));
  EXPECT_TRUE(
      ft::all_close(out.last_hidden_state, t.at("output.last_hidden_state"), kT5Fp32Atol, kT5Fp32Rtol));
  ASSERT_EQ(out.hidden_states.size(), 4u);  // embeddings, blocks 0-1, final-normed (transformers' order)
  for (size_t k = 0; k < out.hidden_states.size(); ++k) {
    const std::string key = "output.hidden_states." + std::to_string(k);
    t5_report(key.c_str(), out.hidden_states[k], t.at(key));
    EXPECT_TRUE(ft::all_close(out.hidden_states[k], t.at(key), kT5Fp32Atol, kT5Fp32Rtol)) << key;
  }
  EXPECT_TRUE(ft::all_close(out.hidden_states.back(), out.last_hidden_state, 0.0));
  EXPECT_EQ(out.last_hidden_state.scalar_type(), torch::kFloat);
  // Without hidden states the same values come out.
  EXPECT_TRUE(
      ft::all_close(t5->forward(t.at("input.input_ids")).last_hidden_state, out.last_hidden_state, 0.0));
  EXPECT_TRUE(t5->forward(t.at("input.input_ids")).hidden_states.empty());
}

TEST(T5EncoderModel, PositionBiasAndBucketsMatchTransformers) {
  auto t5 = t5_tiny_model();
  torch::NoGradGuard no_grad;
  const auto& t = t5_tiny_io();
  const auto buckets = flowgrpo::models::t5_relative_position_buckets(128, 128, true, 32, 128);
  EXPECT_EQ(buckets.scalar_type(), torch::kLong);
  EXPECT_TRUE(torch::equal(buckets, t.at("inter.relative_position_bucket")));
  // Layer 0's bias, [1, 4, 128, 128], reused by every block.
  const auto bias =
      t5->encoder->block[0]->as<flowgrpo::models::T5BlockImpl>()->self_attention()->compute_bias(128, 128);
  EXPECT_EQ(bias.sizes(), c10::IntArrayRef({1, 4, 128, 128}));
  const auto& expected = t.at("inter.position_bias");
  t5_report("inter.position_bias", bias.expand_as(expected), expected);
  EXPECT_TRUE(ft::all_close(bias.expand_as(expected), expected, 0.0));
  const auto out = t5->forward(t.at("input.input_ids"));
  EXPECT_TRUE(ft::all_close(out.position_bias.expand_as(expected), expected, 0.0));
  // Only block 0 owns the table.
  for (size_t i = 1; i < t5->encoder->block->size(); ++i)
    EXPECT_FALSE(t5->encoder->block[i]
                     ->as<flowgrpo::models::T5BlockImpl>()
                     ->self_attention()
                     ->has_relative_attention_bias());
}

TEST(T5EncoderModel, BucketsFollowTheFormula) {
  using flowgrpo::models::t5_relative_position_bucket;
  // 32 buckets, max distance 128: 16 per direction, 8 exact; positive
  // (key after query) offset by 16; distances >= 128 share bucket 15 / 31.
  const auto rel =
      torch::tensor({0, -1, 1, -7, 7, -8, 8, -12, 12, -127, 127, -128, 128, -1000, 1000}, torch::kLong);
  const auto b = t5_relative_position_bucket(rel, true, 32, 128);
  // 12: 8 + int(log(12/8) / log(16) * 8) = 8 + int(1.17) = 9.
  const auto expected = torch::tensor({0, 1, 17, 7, 23, 8, 24, 9, 25, 15, 31, 15, 31, 15, 31}, torch::kLong);
  EXPECT_TRUE(torch::equal(b, expected)) << b;
  // Unidirectional: positive positions (the future) fall into bucket 0.
  const auto uni = t5_relative_position_bucket(torch::tensor({3, 0, -3, -200}, torch::kLong), false, 32, 128);
  EXPECT_TRUE(torch::equal(uni, torch::tensor({0, 0, 3, 31}, torch::kLong))) << uni;
  ft::expect_invalid_argument([&] { t5_relative_position_bucket(rel, true, 2, 128); },
                              {"num_buckets", "found num_buckets 2"});
  ft::expect_invalid_argument([&] { t5_relative_position_bucket(rel, true, 32, 8); }, {"max_distance > 8"});
  ft::expect_invalid_argument([&] { t5_relative_position_bucket(rel.to(torch::kFloat), true, 32, 128); },
                              {"integer"});
}

TEST(T5EncoderModel, MaskedMatchesTransformers) {
  auto t5 = t5_tiny_model();
  torch::NoGradGuard no_grad;
  const auto& t = t5_tiny_io();
  const auto& mask = t.at("input.attention_mask");
  ASSERT_LT(mask.sum().item<int64_t>(), mask.numel());  // the fixture has padding
  const auto out = t5->forward(t.at("input.input_ids"), mask);
  t5_report("output_masked.last_hidden_state", out.last_hidden_state,
            t.at("output_masked.last_hidden_state"));
  EXPECT_TRUE(ft::all_close(out.last_hidden_state, t.at("output_masked.last_hidden_state"), kT5Fp32Atol,
                            kT5Fp32Rtol));
  // The mask matters (SD3 passes none): the unmasked output differs at real tokens.
  const auto first = mask.index({0}).to(torch::kBool);
  EXPECT_GT(ft::max_abs_diff(out.last_hidden_state[0].index({first}),
                             t.at("output.last_hidden_state")[0].index({first})),
            1e-3);
  EXPECT_EQ(out.position_bias.sizes(), c10::IntArrayRef({3, 4, 128, 128}));
  // A bool mask and an all-ones mask.
  const auto as_bool = t5->forward(t.at("input.input_ids"), mask.to(torch::kBool)).last_hidden_state;
  EXPECT_TRUE(ft::all_close(as_bool, out.last_hidden_state, 0.0));
  const auto ones = t5->forward(t.at("input.input_ids"), torch::ones_like(mask)).last_hidden_state;
  EXPECT_TRUE(ft::all_close(ones, t.at("output.last_hidden_state"), kT5Fp32Atol, kT5Fp32Rtol));
}

TEST(T5EncoderModel, Bf16WithinTolerance) {
  LoadOptions options;
  options.dtype = torch::kBFloat16;
  auto t5 = t5_tiny_model(options);
  EXPECT_EQ(t5->dtype(), torch::kBFloat16);
  for (const auto& [name, p] : io::state_dict(*t5)) EXPECT_EQ(p.scalar_type(), torch::kBFloat16) << name;
  torch::NoGradGuard no_grad;
  const auto& t = t5_tiny_io();
  const auto out = t5->forward(t.at("input.input_ids"));
  EXPECT_EQ(out.last_hidden_state.scalar_type(), torch::kBFloat16);
  t5_report_half("output.last_hidden_state", "bf16", out.last_hidden_state, t.at("output.last_hidden_state"));
  EXPECT_LE(t5_mean_relative_error(out.last_hidden_state, t.at("output.last_hidden_state")),
            kT5Bf16MeanRelTol);
}

TEST(T5EncoderModel, Fp16KeepsWoInFp32AndStaysFinite) {
  LoadOptions options;
  options.dtype = torch::kHalf;
  auto t5 = t5_tiny_model(options);
  EXPECT_EQ(t5->dtype(), torch::kHalf);
  int wo = 0;
  for (const auto& [name, p] : io::state_dict(*t5)) {
    const bool is_wo = name.find(".DenseReluDense.wo.") != std::string::npos;
    wo += is_wo;
    EXPECT_EQ(p.scalar_type(), is_wo ? torch::kFloat : torch::kHalf) << name;
  }
  EXPECT_EQ(wo, 3);
  torch::NoGradGuard no_grad;
  const auto& t = t5_tiny_io();
  const auto out = t5->forward(t.at("input.input_ids"), {}, true);
  EXPECT_EQ(out.last_hidden_state.scalar_type(), torch::kHalf);
  // wo's float32 output promotes the residual stream from block 0 on, as in transformers.
  EXPECT_EQ(out.hidden_states[0].scalar_type(), torch::kHalf);
  EXPECT_EQ(out.hidden_states[1].scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::isfinite(out.last_hidden_state).all().item<bool>());
  t5_report_half("output.last_hidden_state", "fp16", out.last_hidden_state, t.at("output.last_hidden_state"));
  EXPECT_LE(t5_mean_relative_error(out.last_hidden_state, t.at("output.last_hidden_state")),
            kT5Fp16MeanRelTol);
  const auto masked = t5->forward(t.at("input.input_ids"), t.at("input.attention_mask")).last_hidden_state;
  EXPECT_TRUE(torch::isfinite(masked).all().item<bool>());
  t5_report_half("output_masked.last_hidden_state", "fp16", masked, t.at("output_masked.last_hidden_state"));
  EXPECT_LE(t5_mean_relative_error(masked, t.at("output_masked.last_hidden_state")), kT5Fp16MeanRelTol);
}

TEST(T5EncoderModel, Fp16ClampAsTransformers) {
  using flowgrpo::models::t5_clamp_fp16;
  const double inf = std::numeric_limits<double>::infinity();
  const auto with_inf = torch::tensor({inf, -inf, 65504.0, 1.5}, torch::kHalf);
  // 65504 - 1000 = 64504 rounds to 64512 in float16.
  const auto clamped = t5_clamp_fp16(with_inf);
  EXPECT_TRUE(torch::equal(clamped, torch::tensor({64512.0, -64512.0, 64512.0, 1.5}, torch::kHalf)))
      << clamped;
  const auto finite = torch::tensor({65504.0, -65504.0, 2.0}, torch::kHalf);
  EXPECT_TRUE(torch::equal(t5_clamp_fp16(finite), finite));
  const auto bf16 = torch::tensor({inf, 3.0}, torch::kBFloat16);  // never clamped
  EXPECT_TRUE(torch::equal(t5_clamp_fp16(bf16), bf16));
}

// ---------------------------------------------------------------------------
// Structure, names, the meta-device T5-XXL
// ---------------------------------------------------------------------------

TEST(T5EncoderModel, ParameterNamesEqualFileKeys) {
  T5EncoderModel t5(T5Config::from_file(ft::data_path("text/t5_tiny/config.json")));
  const auto file = io::SafetensorsFile::open(ft::data_path("text/t5_tiny/model.safetensors"));
  const auto names = ft::expect_tensors_match_file(*t5, file);
  EXPECT_EQ(names.size(), 1u + 3u * 9u + 1u + 1u);  // shared, 3 blocks of 9, the table, final norm
}

TEST(T5EncoderModel, T5V11XxlOnMetaHasTheReferenceParameterCount) {
  const auto config = T5Config::t5_v1_1_xxl();
  // models.md §4: 4,762,310,656 parameters (transformers, shared counted once).
  EXPECT_EQ(config.num_parameters(), int64_t{4762310656});
  for (const auto dtype : {torch::kBFloat16, torch::kHalf}) {
    T5EncoderModel t5(config, dtype, torch::Device(torch::kMeta));
    int64_t count = 0;
    size_t tensors = 0;
    for (const auto& p : t5->parameters()) {
      EXPECT_TRUE(p.is_meta());
      count += p.numel();
      ++tensors;
    }
    EXPECT_EQ(count, int64_t{4762310656});
    EXPECT_EQ(tensors, 1u + 24u * 9u + 1u + 1u);
    EXPECT_EQ(t5->device().type(), torch::kMeta);
    const auto sd = io::state_dict(*t5);
    EXPECT_EQ(sd.at("shared.weight").sizes(), c10::IntArrayRef({32128, 4096}));
    EXPECT_EQ(sd.at("encoder.block.23.layer.0.SelfAttention.q.weight").sizes(),
              c10::IntArrayRef({4096, 4096}));
    EXPECT_EQ(sd.at("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight").sizes(),
              c10::IntArrayRef({32, 64}));
    EXPECT_EQ(sd.at("encoder.block.5.layer.1.DenseReluDense.wi_0.weight").sizes(),
              c10::IntArrayRef({10240, 4096}));
    EXPECT_EQ(sd.at("encoder.block.5.layer.1.DenseReluDense.wo.weight").sizes(),
              c10::IntArrayRef({4096, 10240}));
    EXPECT_EQ(sd.at("encoder.block.5.layer.1.DenseReluDense.wo.weight").scalar_type(),
              dtype == torch::kHalf ? torch::kFloat : dtype);
    EXPECT_EQ(sd.count("encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight"), 0u);
  }
}

TEST(T5EncoderModel, PlainAndGatedFeedForwardsAndInnerWidth) {
  auto config = T5Config::from_file(ft::data_path("text/t5_tiny/config.json"));
  for (const std::string ff : {"relu", "gated-relu", "gated-silu", "gelu", "gated-gelu"}) {
    SCOPED_TRACE(ff);
    config.feed_forward_proj = ff;
    config.vocab_size = 50;
    T5EncoderModel t5(config);
    const auto sd = io::state_dict(*t5);
    const bool gated = ff.rfind("gated-", 0) == 0;
    EXPECT_EQ(sd.count("encoder.block.0.layer.1.DenseReluDense.wi.weight"), gated ? 0u : 1u);
    EXPECT_EQ(sd.count("encoder.block.0.layer.1.DenseReluDense.wi_0.weight"), gated ? 1u : 0u);
    EXPECT_EQ(sd.at("encoder.block.2.layer.0.SelfAttention.o.weight").sizes(), c10::IntArrayRef({80, 64}));
    int64_t count = 0;
    for (const auto& p : t5->parameters()) count += p.numel();
    EXPECT_EQ(count, config.num_parameters());
    torch::NoGradGuard no_grad;
    const auto out = t5->forward(torch::randint(0, 50, {2, 7}));
    EXPECT_EQ(out.last_hidden_state.sizes(), c10::IntArrayRef({2, 7, 80}));
    EXPECT_TRUE(torch::isfinite(out.last_hidden_state).all().item<bool>());
  }
}

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------

TEST(T5EncoderModel, LoadsComponentFolderWeightsFileAndShards) {
  ft::TempDir dir;
  const auto& t = t5_tiny_io();
  torch::NoGradGuard no_grad;
  fs::create_directories(dir / "text_encoder_3");
  for (const char* f : {"config.json", "model.safetensors"})
    fs::copy_file(ft::data_path(std::string(kT5TinyDir) + "/" + f), dir / "text_encoder_3" / f);
  for (const fs::path& p : {dir / "text_encoder_3", dir / "text_encoder_3" / "model.safetensors"}) {
    auto t5 = T5EncoderModel::from_pretrained(p);
    EXPECT_TRUE(ft::all_close(t5->forward(t.at("input.input_ids")).last_hidden_state,
                              t.at("output.last_hidden_state"), kT5Fp32Atol, kT5Fp32Rtol))
        << p;
  }
  // Sharded as transformers writes it: shards + model.safetensors.index.json.
  io::TensorMap first, second;
  for (const auto& [k, v] : t5_tiny_weights()) (k.rfind("encoder.block.2.", 0) == 0 ? second : first)[k] = v;
  fs::create_directories(dir / "sharded");
  fs::copy_file(ft::data_path("text/t5_tiny/config.json"), dir / "sharded" / "config.json");
  ft::write_sharded_weights(dir / "sharded", {first, second});
  auto sharded = T5EncoderModel::from_pretrained(dir / "sharded");
  EXPECT_TRUE(ft::all_close(sharded->forward(t.at("input.input_ids")).last_hidden_state,
                            t.at("output.last_hidden_state"), kT5Fp32Atol, kT5Fp32Rtol));
  ft::expect_invalid_argument([&] { T5EncoderModel::from_pretrained(dir / "nothing"); }, {"does not exist"});
  fs::create_directories(dir / "empty");
  ft::expect_invalid_argument([&] { T5EncoderModel::from_pretrained(dir / "empty"); }, {"config.json"});
  LoadOptions bad;
  bad.dtype = torch::kInt;
  ft::expect_invalid_argument([&] { T5EncoderModel::from_pretrained(dir / "sharded", bad); },
                              {"unsupported parameter dtype", "Int"});
}

TEST(T5EncoderModel, StrictLoadingReportsAllProblemsAtOnce) {
  ft::TempDir dir;
  auto weights = t5_tiny_weights();
  weights.erase("encoder.block.1.layer.1.DenseReluDense.wi_1.weight");  // missing
  weights["encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight"] =
      torch::zeros({32, 4});                                                           // extra
  weights["encoder.block.2.layer.0.SelfAttention.q.weight"] = torch::zeros({80, 80});  // [64,80]
  t5_write_component(dir.path(), weights);
  ft::expect_invalid_argument(
      [&] { T5EncoderModel::from_pretrained(dir.path()); },
      {"T5EncoderModel", "3 problems", "missing in file",
       "encoder.block.1.layer.1.DenseReluDense.wi_1.weight", "unexpected in file",
       "encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight", "shape mismatch",
       "encoder.block.2.layer.0.SelfAttention.q.weight", "[80,80]", "[64,80]"});
  // A relu config against gated weights: wi missing, wi_0 / wi_1 unexpected.
  auto config = t5_tiny_config_json();
  config["feed_forward_proj"] = "relu";
  config.erase("dense_act_fn");
  config.erase("is_gated_act");
  t5_write_component(dir / "relu", t5_tiny_weights(), config);
  ft::expect_invalid_argument([&] { T5EncoderModel::from_pretrained(dir / "relu"); },
                              {"encoder.block.0.layer.1.DenseReluDense.wi.weight",
                               "encoder.block.0.layer.1.DenseReluDense.wi_0.weight"});
  // A bad config key is named with its file.
  config = t5_tiny_config_json();
  config["num_heads"] = 0;
  t5_write_component(dir / "badconfig", t5_tiny_weights(), config);
  ft::expect_invalid_argument([&] { T5EncoderModel::from_pretrained(dir / "badconfig"); },
                              {(dir / "badconfig" / "config.json").string(), "num_heads", ">= 1", "found 0"});
}

TEST(T5EncoderModel, TiedEmbedTokensAccepted) {
  const auto& t = t5_tiny_io();
  torch::NoGradGuard no_grad;
  ft::TempDir dir;
  // Both names, the same tensor (as some checkpoints store it).
  auto both = t5_tiny_weights();
  both["encoder.embed_tokens.weight"] = both.at("shared.weight").clone();
  t5_write_component(dir / "both", both);
  // Only the stack's name.
  auto only_tied = t5_tiny_weights();
  only_tied["encoder.embed_tokens.weight"] = only_tied.at("shared.weight");
  only_tied.erase("shared.weight");
  t5_write_component(dir / "tied", only_tied);
  for (const char* sub : {"both", "tied"}) {
    auto t5 = T5EncoderModel::from_pretrained(dir / sub);
    EXPECT_TRUE(ft::all_close(t5->forward(t.at("input.input_ids")).last_hidden_state,
                              t.at("output.last_hidden_state"), kT5Fp32Atol, kT5Fp32Rtol))
        << sub;
  }
  // Both, different values / shapes: refused, naming both.
  auto differ = t5_tiny_weights();
  differ["encoder.embed_tokens.weight"] = differ.at("shared.weight") + 1e-3;
  t5_write_component(dir / "differ", differ);
  ft::expect_invalid_argument([&] { T5EncoderModel::from_pretrained(dir / "differ"); },
                              {"encoder.embed_tokens.weight", "shared.weight", "differ in value"});
  auto shape = t5_tiny_weights();
  shape["encoder.embed_tokens.weight"] = torch::zeros({100, 80});
  t5_write_component(dir / "shape", shape);
  ft::expect_invalid_argument(
      [&] { T5EncoderModel::from_pretrained(dir / "shape"); },
      {"encoder.embed_tokens.weight", "[100,80]", "shared.weight", "[32128,80]", "differ in shape"});
  // Only the tied name with a wrong shape: a shape mismatch of shared.weight, its origin named.
  auto tied_shape = t5_tiny_weights();
  tied_shape.erase("shared.weight");
  tied_shape["encoder.embed_tokens.weight"] = torch::zeros({100, 80});
  t5_write_component(dir / "tied_shape", tied_shape);
  ft::expect_invalid_argument([&] { T5EncoderModel::from_pretrained(dir / "tied_shape"); },
                              {"encoder.embed_tokens.weight loaded as shared.weight", "shape mismatch",
                               "shared.weight (file [100,80]"});
}

TEST(T5EncoderModel, SavePretrainedRoundTrips) {
  auto t5 = t5_tiny_model();
  ft::TempDir dir;
  t5->save_pretrained(dir / "t5");
  EXPECT_EQ(T5Config::from_file(dir / "t5" / "config.json"), t5->config());
  const auto file = io::SafetensorsFile::open(dir / "t5" / "model.safetensors");
  EXPECT_EQ(file.names(), io::SafetensorsFile::open(ft::data_path("text/t5_tiny/model.safetensors")).names());
  auto again = T5EncoderModel::from_pretrained(dir / "t5");
  torch::NoGradGuard no_grad;
  const auto& ids = t5_tiny_io().at("input.input_ids");
  EXPECT_TRUE(ft::all_close(again->forward(ids).last_hidden_state, t5->forward(ids).last_hidden_state, 0.0));
}

TEST(T5EncoderModel, InputChecks) {
  auto t5 = t5_tiny_model();
  torch::NoGradGuard no_grad;
  const auto ids = t5_tiny_io().at("input.input_ids").slice(0, 0, 1).slice(1, 0, 16);
  // int32 ids are accepted and mean the same.
  EXPECT_TRUE(ft::all_close(t5->forward(ids.to(torch::kInt)).last_hidden_state,
                            t5->forward(ids).last_hidden_state, 0.0));
  ft::expect_invalid_argument([&] { t5->forward(ids.to(torch::kFloat)); },
                              {"input_ids", "integer dtype", "found [1,16] Float"});
  ft::expect_invalid_argument([&] { t5->forward(ids[0]); }, {"input_ids", "[B, S]", "found [16] Long"});
  ft::expect_invalid_argument([&] { t5->forward(torch::Tensor()); }, {"input_ids", "undefined"});
  ft::expect_invalid_argument(
      [&] {
        t5->forward(torch::zeros({1, 0}, torch::kLong));
      },
      {"non-empty", "[1,0]"});
  auto big = ids.clone();
  big[0][5] = 32128;
  ft::expect_invalid_argument([&] { t5->forward(big); }, {"[0, 32128)", "found 32128", "at [0, 5]"});
  auto negative = ids.clone();
  negative[0][3] = -1;
  ft::expect_invalid_argument([&] { t5->forward(negative); }, {"found -1", "at [0, 3]"});
  ft::expect_invalid_argument(
      [&] {
        t5->forward(ids, torch::ones({1, 15}));
      },
      {"attention_mask", "expected [1,16]", "found [1,15]"});
  auto two = torch::ones({1, 16});
  two[0][2] = 2;
  ft::expect_invalid_argument([&] { t5->forward(ids, two); },
                              {"attention_mask", "0 (padding) and 1", "found 2"});
}

// ---------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------

void t5_expect_config_rejected(const json& j, const std::vector<std::string>& needles) {
  ft::expect_config_rejected<T5Config>(j, "text_encoder_3/config.json", needles);
}

TEST(T5Config, ParsesTheFixture) {
  const auto c = T5Config::from_file(ft::data_path("text/t5_tiny/config.json"));
  EXPECT_EQ(c.vocab_size, 32128);
  EXPECT_EQ(c.d_model, 80);
  EXPECT_EQ(c.d_kv, 16);
  EXPECT_EQ(c.num_heads, 4);
  EXPECT_EQ(c.inner_dim(), 64);
  EXPECT_EQ(c.d_ff, 120);
  EXPECT_EQ(c.num_layers, 3);
  EXPECT_EQ(c.relative_attention_num_buckets, 32);
  EXPECT_EQ(c.relative_attention_max_distance, 128);
  EXPECT_DOUBLE_EQ(c.layer_norm_epsilon, 1e-6);
  EXPECT_EQ(c.feed_forward_proj, "gated-gelu");
  EXPECT_TRUE(c.is_gated_act());
  EXPECT_EQ(c.dense_act_fn(), "gelu_new");
  // shared 32128·80 + 3·(4·80·64 + 3·80·120 + 2·80) + 32·4 + 80
  EXPECT_EQ(c.num_parameters(), 32128 * 80 + 3 * (4 * 80 * 64 + 3 * 80 * 120 + 2 * 80) + 32 * 4 + 80);
}

TEST(T5Config, DerivesTheActivationAsTransformers) {
  const std::vector<std::tuple<std::string, bool, std::string>> cases = {{"relu", false, "relu"},
                                                                         {"gated-relu", true, "relu"},
                                                                         {"gated-gelu", true, "gelu_new"},
                                                                         {"gelu", false, "gelu"},
                                                                         {"gated-silu", true, "silu"},
                                                                         {"gelu_new", false, "gelu_new"},
                                                                         {"gated-gelu_new", true, "gelu_new"},
                                                                         {"swish", false, "swish"}};
  for (const auto& [proj, gated, act] : cases) {
    T5Config c;
    c.feed_forward_proj = proj;
    EXPECT_EQ(c.is_gated_act(), gated) << proj;
    EXPECT_EQ(c.dense_act_fn(), act) << proj;
  }
  for (const char* bad : {"gated-foo", "fast-gelu", "gated-gelu-x", "tanh", "", "gated-"}) {
    SCOPED_TRACE(bad);
    t5_expect_config_rejected({{"feed_forward_proj", bad}},
                              {"text_encoder_3/config.json", "feed_forward_proj", "gated-ACT",
                               std::string("found \"") + bad + "\""});
  }
}

TEST(T5Config, DefaultsRoundTripAndPreset) {
  const auto d = T5Config::from_json(json::object());
  EXPECT_EQ(d.d_model, 512);
  EXPECT_EQ(d.feed_forward_proj, "relu");
  const auto xxl = T5Config::t5_v1_1_xxl();
  EXPECT_NO_THROW(xxl.validate());
  EXPECT_EQ(xxl.d_model, 4096);
  EXPECT_EQ(xxl.d_kv, 64);
  EXPECT_EQ(xxl.num_heads, 64);
  EXPECT_EQ(xxl.d_ff, 10240);
  EXPECT_EQ(xxl.num_layers, 24);
  EXPECT_EQ(xxl.vocab_size, 32128);
  EXPECT_EQ(xxl.dense_act_fn(), "gelu_new");
  EXPECT_EQ(T5Config::from_json(xxl.to_json()), xxl);
  const auto j = xxl.to_json();
  EXPECT_EQ(j.at("architectures"), json::array({"T5EncoderModel"}));
  EXPECT_EQ(j.at("dense_act_fn"), "gelu_new");
  EXPECT_EQ(j.at("is_gated_act"), true);
  const auto tiny = T5Config::from_json(t5_tiny_config_json());
  EXPECT_EQ(T5Config::from_json(tiny.to_json()), tiny);
  ft::TempDir dir;
  tiny.save(dir / "sub" / "config.json");
  EXPECT_EQ(T5Config::from_file(dir / "sub" / "config.json"), tiny);
  // transformers' attribute_map aliases, and keys that do not shape the encoder.
  auto aliased = t5_tiny_config_json();
  aliased.erase("d_model");
  aliased["hidden_size"] = 80;
  aliased["num_attention_heads"] = 4;
  aliased["output_past"] = true;
  aliased["_name_or_path"] = "google/t5-v1_1-xxl";
  EXPECT_EQ(T5Config::from_json(aliased), tiny);
}

TEST(T5Config, RejectsWrongTypesAndValues) {
  const std::vector<std::pair<json, std::vector<std::string>>> cases = {
      {{{"d_model", "80"}}, {"d_model", "expected an integer", "found \"80\""}},
      {{{"d_kv", 0}}, {"d_kv", ">= 1", "found 0"}},
      {{{"num_layers", 2.5}}, {"num_layers", "expected an integer", "found 2.5"}},
      {{{"vocab_size", -3}}, {"vocab_size", ">= 1", "found -3"}},
      {{{"relative_attention_num_buckets", 3}}, {"relative_attention_num_buckets", ">= 4", "found 3"}},
      {{{"relative_attention_max_distance", 8}},
       {"relative_attention_max_distance", "> relative_attention_num_buckets / 4 = 8", "found 8"}},
      {{{"layer_norm_epsilon", 0}}, {"layer_norm_epsilon", "> 0", "found 0"}},
      {{{"layer_norm_epsilon", "1e-6"}}, {"layer_norm_epsilon", "expected a number"}},
      {{{"feed_forward_proj", 1}}, {"feed_forward_proj", "expected a string", "found 1"}},
      {{{"dense_act_fn", "relu"}}, {"dense_act_fn", "expected \"gelu_new\"", "gated-gelu", "found \"relu\""}},
      {{{"is_gated_act", false}}, {"is_gated_act", "expected true", "found false"}},
      {{{"is_gated_act", "yes"}}, {"is_gated_act", "expected true or false"}},
      {{{"model_type", "umt5"}}, {"model_type", "expected \"t5\"", "found \"umt5\""}},
      {{{"pruned_heads", {{"0", json::array({1})}}}}, {"pruned_heads", "not supported"}},
      {{{"hidden_size", 64}}, {"hidden_size", "alias of \"d_model\"", "64 vs 80"}},
      {{{"use_flash", true}}, {"unknown config key \"use_flash\"", "known keys", "feed_forward_proj"}},
  };
  for (const auto& [patch, needles] : cases) {
    auto j = t5_tiny_config_json();
    j.update(patch);
    SCOPED_TRACE(patch.dump());
    t5_expect_config_rejected(j, needles);
  }
  ft::expect_invalid_argument([] { T5Config::from_json(json::array()); }, {"JSON object"});
  ft::TempDir dir;
  ft::write_text_file(dir / "config.json", "{ not json");
  ft::expect_invalid_argument([&] { T5Config::from_file(dir / "config.json"); },
                              {(dir / "config.json").string(), "invalid JSON"});
  T5Config bad;
  bad.num_heads = 0;
  ft::expect_invalid_argument([&] { T5EncoderModel t5(bad); }, {"num_heads", "found 0"});
  ft::expect_invalid_argument([&] { T5EncoderModel t5(T5Config{}, torch::kLong); },
                              {"unsupported parameter dtype"});
}

}  // namespace
