// CLIPTextModelWithProjection against transformers v4.40.0 (tests/data/text/
// clip_l_tiny and clip_g_tiny, copied from ../shared/fixtures/text: the SD3
// CLIP-L / CLIP-G layouts at toy width with the full 49408 vocabulary and 77
// positions, quick_gelu / exact gelu, eos_token_id 2), plus the real-size
// parameter counts on the meta device, config parsing, strict loading, pooling
// rules and input checks.
#include "flowgrpo/models/text_encoders/clip_text_model.h"

#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/io/state_dict.h"
#include "flowgrpo/io/weight_source.h"
#include "flowgrpo/models/text_encoders/clip_mlp.h"
#include "support/model_folder.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace {
// Named inside the anonymous namespace: the test sources of an area share one
// unity translation unit.
namespace clip_text_model_test {

namespace fs = std::filesystem;
namespace ft = flowgrpo::testing;
namespace io = flowgrpo::io;
using flowgrpo::models::CLIPActivation;
using flowgrpo::models::CLIPTextConfig;
using flowgrpo::models::CLIPTextModelWithProjection;
using flowgrpo::models::CLIPTextOutput;
using flowgrpo::models::LoadOptions;
using nlohmann::json;

constexpr double kFp32Atol = 1e-4;
constexpr double kFp32Rtol = 1e-4;
/// bf16 parameters and activations (fp32 softmax) against the fp32 reference:
/// max |error| / max |reference| per output (ct2's bf16 bound, as the VAE's).
constexpr double kBf16RelTol = 4e-2;
/// The same metric for float16 (3 more mantissa bits than bfloat16).
constexpr double kFp16RelTol = 5e-3;

const char* const kFixtures[] = {"clip_l_tiny", "clip_g_tiny"};

std::string fixture_dir(const std::string& name) {
  return "text/" + name;
}

const io::TensorMap& fixture_io(const std::string& name) {
  static std::map<std::string, io::TensorMap> cache;
  auto it = cache.find(name);
  if (it == cache.end())
    it =
        cache.emplace(name, io::load_safetensors(ft::data_path(fixture_dir(name) + "/io.safetensors"))).first;
  return it->second;
}

json fixture_config_json(const std::string& name) {
  return ft::read_json(ft::data_path(fixture_dir(name) + "/config.json"));
}

io::TensorMap fixture_weights(const std::string& name) {
  return io::load_safetensors(ft::data_path(fixture_dir(name) + "/model.safetensors"));
}

/// Compares at fp32 tolerance and returns the max abs error.
double expect_close(const torch::Tensor& actual, const torch::Tensor& expected, const std::string& what) {
  EXPECT_TRUE(ft::all_close(actual, expected, kFp32Atol, kFp32Rtol)) << what;
  return ft::max_abs_diff(actual, expected);
}

// ---------------------------------------------------------------------------
// Parity with transformers
// ---------------------------------------------------------------------------

TEST(CLIPTextModel, MatchesTransformersOnTheFixtures) {
  torch::NoGradGuard no_grad;
  for (const char* name : kFixtures) {
    SCOPED_TRACE(name);
    auto model = CLIPTextModelWithProjection::from_pretrained(ft::data_path(fixture_dir(name)));
    const auto& t = fixture_io(name);
    const auto out = model->forward(t.at("input.input_ids"), /*output_hidden_states=*/true);
    const int64_t layers = model->config().num_hidden_layers;
    ASSERT_EQ(static_cast<int64_t>(out.hidden_states.size()), layers + 1);
    double worst = 0.0;
    for (int64_t k = 0; k <= layers; ++k) {
      const std::string key = "output.hidden_states." + std::to_string(k);
      worst = std::max(worst, expect_close(out.hidden_states[k], t.at(key), key));
    }
    const std::string penultimate_key = "output.hidden_states." + std::to_string(layers - 1);
    worst = std::max(worst, expect_close(out.penultimate_hidden_state, t.at(penultimate_key), "penultimate"));
    EXPECT_TRUE(out.penultimate_hidden_state.equal(out.hidden_states[layers - 1]));
    worst = std::max(worst, expect_close(out.last_hidden_state, t.at("output.last_hidden_state"), "last"));
    worst = std::max(worst, expect_close(out.pooled, t.at("output.pooler_output"), "pooler_output"));
    worst = std::max(worst, expect_close(out.text_embeds, t.at("output.text_embeds"), "text_embeds"));
    EXPECT_TRUE(out.eos_index.equal(t.at("output.eos_index"))) << out.eos_index;
    std::printf("[parity] %s fp32 max abs error %.3g over %lld hidden states, last, pooled, text_embeds\n",
                name, worst, static_cast<long long>(layers + 1));
    // Without the flag the same values come out, and no hidden-state list.
    const auto again = model->forward(t.at("input.input_ids"));
    EXPECT_TRUE(again.hidden_states.empty());
    EXPECT_TRUE(again.text_embeds.equal(out.text_embeds));
    EXPECT_TRUE(again.penultimate_hidden_state.equal(out.penultimate_hidden_state));
    // int32 ids give the same result.
    EXPECT_TRUE(model->forward(t.at("input.input_ids").to(torch::kInt)).text_embeds.equal(out.text_embeds));
  }
}

TEST(CLIPTextModel, ShorterSequencesMatchTheirPrefix) {
  // Causal attention: the first S positions do not depend on later tokens.
  torch::NoGradGuard no_grad;
  auto model = CLIPTextModelWithProjection::from_pretrained(ft::data_path("text/clip_l_tiny"));
  const auto& t = fixture_io("clip_l_tiny");
  const auto ids = t.at("input.input_ids").slice(1, 0, 20);
  const auto out = model->forward(ids);
  EXPECT_TRUE(ft::all_close(out.penultimate_hidden_state, t.at("output.hidden_states.2").slice(1, 0, 20),
                            kFp32Atol, kFp32Rtol));
  EXPECT_TRUE(ft::all_close(out.last_hidden_state, t.at("output.last_hidden_state").slice(1, 0, 20),
                            kFp32Atol, kFp32Rtol));
}

TEST(CLIPTextModel, HalfDtypesWithinTolerance) {
  torch::NoGradGuard no_grad;
  for (const auto dtype : {torch::kBFloat16, torch::kHalf}) {
    LoadOptions options;
    options.dtype = dtype;
    const double tol = dtype == torch::kHalf ? kFp16RelTol : kBf16RelTol;
    for (const char* name : kFixtures) {
      SCOPED_TRACE(std::string(name) + " " + c10::toString(dtype));
      auto model = CLIPTextModelWithProjection::from_pretrained(ft::data_path(fixture_dir(name)), options);
      EXPECT_EQ(model->dtype(), dtype);
      const auto& t = fixture_io(name);
      const auto out = model->forward(t.at("input.input_ids"));
      const std::string penultimate_key =
          "output.hidden_states." + std::to_string(model->config().num_hidden_layers - 1);
      const std::pair<const char*, torch::Tensor> checks[] = {
          {penultimate_key.c_str(), out.penultimate_hidden_state},
          {"output.last_hidden_state", out.last_hidden_state},
          {"output.pooler_output", out.pooled},
          {"output.text_embeds", out.text_embeds}};
      for (const auto& [key, actual] : checks) {
        EXPECT_EQ(actual.scalar_type(), dtype) << key;
        const auto& expected = t.at(key);
        const double rel = ft::max_abs_diff(actual, expected) / expected.abs().max().item<double>();
        std::printf("[parity] %s %s %s max abs error / max |ref| = %.3g\n", name, key, c10::toString(dtype),
                    rel);
        EXPECT_LE(rel, tol) << key;
      }
      EXPECT_TRUE(out.eos_index.equal(t.at("output.eos_index")));
    }
  }
}

// ---------------------------------------------------------------------------
// Module tree, parameter counts, initialisation
// ---------------------------------------------------------------------------

TEST(CLIPTextModel, ParameterNamesEqualFileKeys) {
  for (const char* name : kFixtures) {
    SCOPED_TRACE(name);
    CLIPTextModelWithProjection model(
        CLIPTextConfig::from_file(ft::data_path(fixture_dir(name) + "/config.json")));
    const auto file = io::SafetensorsFile::open(ft::data_path(fixture_dir(name) + "/model.safetensors"));
    ft::expect_tensors_match_file(*model, file);
    EXPECT_EQ(model->config().num_parameters(), [&] {
      int64_t n = 0;
      for (const auto& p : model->parameters()) n += p.numel();
      return n;
    }());
  }
  // A few names spelled out, as SD3's files have them.
  CLIPTextModelWithProjection model(CLIPTextConfig::from_file(ft::data_path("text/clip_l_tiny/config.json")));
  const auto sd = io::state_dict(*model);
  for (const char* key :
       {"text_model.embeddings.token_embedding.weight", "text_model.embeddings.position_embedding.weight",
        "text_model.encoder.layers.2.self_attn.q_proj.weight",
        "text_model.encoder.layers.0.self_attn.out_proj.bias", "text_model.encoder.layers.1.mlp.fc1.weight",
        "text_model.encoder.layers.1.layer_norm2.bias", "text_model.final_layer_norm.weight",
        "text_projection.weight"})
    EXPECT_EQ(sd.count(key), 1u) << key;
  EXPECT_EQ(sd.count("text_projection.bias"), 0u);
  EXPECT_EQ(sd.at("text_projection.weight").sizes(), c10::IntArrayRef({24, 32}));
}

TEST(CLIPTextModel, RealSizePresetsOnMetaHaveTheReferenceParameterCounts) {
  // models.md §4: CLIP-L 123,650,304 and CLIP-G 694,659,840 parameters. Built on
  // the meta device: no parameter storage is allocated.
  const std::pair<CLIPTextConfig, int64_t> presets[] = {{CLIPTextConfig::clip_l(), 123650304},
                                                        {CLIPTextConfig::clip_g(), 694659840}};
  for (const auto& [config, expected] : presets) {
    SCOPED_TRACE(config.hidden_size);
    CLIPTextModelWithProjection model(config, torch::kBFloat16, torch::Device(torch::kMeta));
    int64_t count = 0;
    for (const auto& p : model->parameters()) {
      EXPECT_TRUE(p.is_meta());
      EXPECT_EQ(p.scalar_type(), torch::kBFloat16);
      count += p.numel();
    }
    EXPECT_EQ(count, expected);
    EXPECT_EQ(config.num_parameters(), expected);
    EXPECT_EQ(model->device().type(), torch::kMeta);
    EXPECT_EQ(static_cast<int64_t>(model->text_model->encoder->layers->size()), config.num_hidden_layers);
    const auto sd = io::state_dict(*model);
    EXPECT_EQ(sd.at("text_model.embeddings.token_embedding.weight").sizes(),
              c10::IntArrayRef({49408, config.hidden_size}));
    EXPECT_EQ(sd.at("text_model.encoder.layers.0.mlp.fc1.weight").sizes(),
              c10::IntArrayRef({config.intermediate_size, config.hidden_size}));
  }
}

TEST(CLIPTextModel, InitialisesAsTransformers) {
  auto config = CLIPTextConfig::from_file(ft::data_path("text/clip_g_tiny/config.json"));
  torch::manual_seed(0);
  CLIPTextModelWithProjection model(config);
  const auto sd = io::state_dict(*model);
  for (const auto& [k, v] : sd) {
    if (k.find("layer_norm") != std::string::npos && k.size() > 7 && k.substr(k.size() - 7) == ".weight") {
      EXPECT_TRUE(v.eq(1).all().item<bool>()) << k;
    } else if (k.size() > 5 && k.substr(k.size() - 5) == ".bias") {
      EXPECT_TRUE(v.eq(0).all().item<bool>()) << k;
    }
  }
  // Token embedding: normal(0, 0.02); q_proj: d^-0.5·(2L)^-0.5 = 40^-0.5/2.
  EXPECT_NEAR(sd.at("text_model.embeddings.token_embedding.weight").std().item<double>(), 0.02, 1e-3);
  EXPECT_NEAR(sd.at("text_model.encoder.layers.0.self_attn.q_proj.weight").std().item<double>(),
              std::pow(40.0, -0.5) / 2.0, 0.01);
  // initialize=false leaves the weights as allocated; from_pretrained overwrites every one.
  CLIPTextModelWithProjection raw(config, torch::kFloat, torch::kCPU, /*initialize=*/false);
  EXPECT_EQ(io::state_dict(*raw).size(), sd.size());
}

TEST(CLIPTextModel, ActivationsFollowTheirFormulas) {
  const auto x = torch::linspace(-4, 4, 81, torch::kDouble);
  using flowgrpo::models::clip_activation;
  EXPECT_TRUE(
      ft::all_close(clip_activation(x, CLIPActivation::kQuickGelu), x * torch::sigmoid(1.702 * x), 1e-12));
  EXPECT_TRUE(ft::all_close(clip_activation(x, CLIPActivation::kGelu),
                            0.5 * x * (1 + torch::erf(x / std::sqrt(2.0))), 1e-12));
  // transformers NewGELUActivation (gelu_new).
  const auto tanh_form = 0.5 * x * (1 + torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x.pow(3))));
  EXPECT_TRUE(ft::all_close(clip_activation(x, CLIPActivation::kGeluTanh), tanh_form, 1e-12));
  EXPECT_FALSE(ft::all_close(clip_activation(x, CLIPActivation::kGeluTanh),
                             clip_activation(x, CLIPActivation::kGelu), 1e-5));
}

// ---------------------------------------------------------------------------
// Pooling
// ---------------------------------------------------------------------------

TEST(CLIPTextModel, PoolingRules) {
  using flowgrpo::models::clip_pooling_positions;
  const auto ids =
      torch::tensor({49406, 320, 49407, 49407, 0, 49406, 320, 5, 0, 0, 49406, 49407, 0, 0, 0}, torch::kLong)
          .view({3, 5});
  // Legacy (eos_token_id 2): argmax(ids), the first largest id (BOS when no EOS).
  EXPECT_TRUE(clip_pooling_positions(ids, 2).equal(torch::tensor({2, 0, 1}, torch::kLong)));
  // Current: first == eos, 0 when there is none.
  EXPECT_TRUE(clip_pooling_positions(ids, 49407).equal(torch::tensor({2, 0, 1}, torch::kLong)));
  EXPECT_TRUE(clip_pooling_positions(ids, 320).equal(torch::tensor({1, 1, 0}, torch::kLong)));
  EXPECT_TRUE(clip_pooling_positions(ids, 0).equal(torch::tensor({4, 3, 2}, torch::kLong)));

  // The fixture weights under eos_token_id 49407 (non-legacy) pool at the same,
  // first-EOS, positions; under eos_token_id 320 elsewhere.
  torch::NoGradGuard no_grad;
  const auto& t = fixture_io("clip_l_tiny");
  for (int64_t eos : {49407, 320}) {
    SCOPED_TRACE(eos);
    ft::TempDir dir;
    auto config = fixture_config_json("clip_l_tiny");
    config["eos_token_id"] = eos;
    ft::write_component_folder(dir.path(), fixture_weights("clip_l_tiny"), config);
    auto model = CLIPTextModelWithProjection::from_pretrained(dir.path());
    EXPECT_FALSE(model->config().legacy_pooling());
    const auto out = model->forward(t.at("input.input_ids"));
    const auto expected_index = clip_pooling_positions(t.at("input.input_ids"), eos);
    EXPECT_TRUE(out.eos_index.equal(expected_index));
    const auto rows = torch::arange(4);
    EXPECT_TRUE(ft::all_close(out.pooled, t.at("output.last_hidden_state").index({rows, expected_index}),
                              kFp32Atol, kFp32Rtol));
    if (eos == 49407) {
      EXPECT_TRUE(ft::all_close(out.pooled, t.at("output.pooler_output"), kFp32Atol, kFp32Rtol));
    }
  }
}

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------

TEST(CLIPTextModel, LoadsComponentFolderFileAndShards) {
  const auto& t = fixture_io("clip_g_tiny");
  torch::NoGradGuard no_grad;
  ft::TempDir dir;
  fs::create_directories(dir / "text_encoder_2");
  for (const char* f : {"config.json", "model.safetensors"})
    fs::copy_file(ft::data_path(std::string("text/clip_g_tiny/") + f), dir.path() / "text_encoder_2" / f);
  for (const fs::path& p :
       {dir.path() / "text_encoder_2", dir.path() / "text_encoder_2" / "model.safetensors"}) {
    auto model = CLIPTextModelWithProjection::from_pretrained(p);
    EXPECT_TRUE(ft::all_close(model->forward(t.at("input.input_ids")).text_embeds, t.at("output.text_embeds"),
                              kFp32Atol, kFp32Rtol))
        << p;
  }
  // Sharded: two shards and an index, as transformers writes them.
  io::TensorMap first, second;
  for (const auto& [k, v] : fixture_weights("clip_g_tiny"))
    (k.find("embeddings.") != std::string::npos ? first : second)[k] = v;
  fs::create_directories(dir / "sharded");
  fs::copy_file(ft::data_path("text/clip_g_tiny/config.json"), dir / "sharded" / "config.json");
  ft::write_sharded_weights(dir / "sharded", {first, second});
  auto sharded = CLIPTextModelWithProjection::from_pretrained(dir / "sharded");
  EXPECT_TRUE(ft::all_close(sharded->forward(t.at("input.input_ids")).text_embeds, t.at("output.text_embeds"),
                            kFp32Atol, kFp32Rtol));
  ft::expect_invalid_argument([&] { CLIPTextModelWithProjection::from_pretrained(dir / "nothing"); },
                              {"does not exist", "nothing"});
  fs::create_directories(dir / "empty");
  ft::expect_invalid_argument([&] { CLIPTextModelWithProjection::from_pretrained(dir / "empty"); },
                              {"no CLIPTextModelWithProjection config", "config.json"});
}

TEST(CLIPTextModel, StrictLoadingReportsEveryProblemAtOnce) {
  ft::TempDir dir;
  auto weights = fixture_weights("clip_l_tiny");
  weights.erase("text_model.encoder.layers.1.self_attn.v_proj.bias");               // missing
  weights["text_model.encoder.layers.3.mlp.fc1.weight"] = torch::zeros({128, 32});  // unexpected (3 layers)
  weights["text_projection.bias"] = torch::zeros({24});                             // unexpected (no bias)
  weights["text_projection.weight"] = torch::zeros({32, 32});                       // mis-shaped ([24,32])
  ft::write_component_folder(dir.path(), weights, fixture_config_json("clip_l_tiny"));
  ft::expect_invalid_argument([&] { CLIPTextModelWithProjection::from_pretrained(dir.path()); },
                              {"loading CLIPTextModelWithProjection", "4 problems", "missing in file",
                               "text_model.encoder.layers.1.self_attn.v_proj.bias", "unexpected in file",
                               "text_model.encoder.layers.3.mlp.fc1.weight", "text_projection.bias",
                               "shape mismatch", "text_projection.weight (file [32,32], model [24,32])"});
}

TEST(CLIPTextModel, IgnoresOnlyTheLegacyPositionIdsBuffer) {
  const auto& t = fixture_io("clip_l_tiny");
  torch::NoGradGuard no_grad;
  {
    ft::TempDir dir;
    auto weights = fixture_weights("clip_l_tiny");
    weights["text_model.embeddings.position_ids"] = torch::arange(77, torch::kLong).unsqueeze(0);
    ft::write_component_folder(dir.path(), weights, fixture_config_json("clip_l_tiny"));
    auto model = CLIPTextModelWithProjection::from_pretrained(dir.path());
    EXPECT_TRUE(ft::all_close(model->forward(t.at("input.input_ids")).text_embeds, t.at("output.text_embeds"),
                              kFp32Atol, kFp32Rtol));
  }
  {
    // Any other extra key, and position_ids under another prefix, stay errors.
    ft::TempDir dir;
    auto weights = fixture_weights("clip_l_tiny");
    weights["text_model.embeddings.position_ids"] = torch::arange(77, torch::kLong).unsqueeze(0);
    weights["embeddings.position_ids"] = torch::arange(77, torch::kLong).unsqueeze(0);
    weights["logit_scale"] = torch::zeros({});
    ft::write_component_folder(dir.path(), weights, fixture_config_json("clip_l_tiny"));
    const auto message =
        ft::expect_invalid_argument([&] { CLIPTextModelWithProjection::from_pretrained(dir.path()); },
                                    {"2 problems", "embeddings.position_ids", "logit_scale"});
    EXPECT_EQ(message.find("[text_model.embeddings.position_ids"), std::string::npos) << message;
  }
}

TEST(CLIPTextModel, BadConfigInAFolderNamesFileAndKey) {
  ft::TempDir dir;
  auto config = fixture_config_json("clip_g_tiny");
  config["num_attention_heads"] = 3;
  ft::write_component_folder(dir.path(), fixture_weights("clip_g_tiny"), config);
  ft::expect_invalid_argument([&] { CLIPTextModelWithProjection::from_pretrained(dir.path()); },
                              {(dir.path() / "config.json").string(), "\"num_attention_heads\"",
                               "divisor of hidden_size = 40", "found 3"});
  config = fixture_config_json("clip_g_tiny");
  config["hidden_size"] = 48;  // a valid config that does not fit the weights
  ft::write_component_folder(dir.path(), fixture_weights("clip_g_tiny"), config);
  ft::expect_invalid_argument(
      [&] { CLIPTextModelWithProjection::from_pretrained(dir.path()); },
      {"35 problems", "shape mismatch",
       "text_model.embeddings.token_embedding.weight (file [49408,40], model [49408,48])"});
}

TEST(CLIPTextModel, SavePretrainedRoundTrips) {
  torch::NoGradGuard no_grad;
  const auto& t = fixture_io("clip_g_tiny");
  auto model = CLIPTextModelWithProjection::from_pretrained(ft::data_path("text/clip_g_tiny"));
  ft::TempDir dir;
  model->save_pretrained(dir / "text_encoder_2");
  EXPECT_EQ(CLIPTextConfig::from_file(dir / "text_encoder_2" / "config.json"), model->config());
  const auto written = ft::read_json(dir / "text_encoder_2" / "config.json");
  EXPECT_EQ(written.at("torch_dtype"), "float32");
  EXPECT_EQ(written.at("architectures"), json::array({"CLIPTextModelWithProjection"}));
  EXPECT_EQ(written.at("model_type"), "clip_text_model");
  const auto file = io::SafetensorsFile::open(dir / "text_encoder_2" / "model.safetensors");
  EXPECT_EQ(file.names(),
            io::SafetensorsFile::open(ft::data_path("text/clip_g_tiny/model.safetensors")).names());
  auto again = CLIPTextModelWithProjection::from_pretrained(dir / "text_encoder_2");
  EXPECT_TRUE(again->forward(t.at("input.input_ids"))
                  .text_embeds.equal(model->forward(t.at("input.input_ids")).text_embeds));
  // A bf16 model writes bf16 tensors and says so.
  LoadOptions bf16;
  bf16.dtype = torch::kBFloat16;
  CLIPTextModelWithProjection::from_pretrained(ft::data_path("text/clip_g_tiny"), bf16)
      ->save_pretrained(dir / "bf16");
  const auto bf16_file = io::SafetensorsFile::open(dir / "bf16" / "model.safetensors");
  for (const auto& name : bf16_file.names()) EXPECT_EQ(bf16_file.info(name).dtype, io::DType::kBF16) << name;
  EXPECT_EQ(ft::read_json(dir / "bf16" / "config.json").at("torch_dtype"), "bfloat16");
}

TEST(CLIPTextModel, RejectsBadInputIds) {
  auto model = CLIPTextModelWithProjection::from_pretrained(ft::data_path("text/clip_l_tiny"));
  torch::NoGradGuard no_grad;
  const auto ok = torch::full({2, 77}, 49407, torch::kLong);
  EXPECT_NO_THROW(model->forward(ok));
  ft::expect_invalid_argument([&] { model->forward(torch::Tensor()); }, {"input_ids", "undefined"});
  ft::expect_invalid_argument([&] { model->forward(torch::zeros({77}, torch::kLong)); },
                              {"input_ids", "expected shape [B, S]", "found [77]"});
  ft::expect_invalid_argument(
      [&] {
        model->forward(torch::zeros({1, 2, 77}, torch::kLong));
      },
      {"found [1,2,77]"});
  ft::expect_invalid_argument(
      [&] {
        model->forward(torch::zeros({2, 77}));
      },
      {"input_ids", "integer dtype", "found Float"});
  ft::expect_invalid_argument(
      [&] {
        model->forward(torch::zeros({2, 77}, torch::kBool));
      },
      {"integer dtype", "Bool"});
  ft::expect_invalid_argument(
      [&] {
        model->forward(torch::zeros({2, 78}, torch::kLong));
      },
      {"sequence length 78", "max_position_embeddings = 77"});
  ft::expect_invalid_argument(
      [&] {
        model->forward(torch::zeros({0, 77}, torch::kLong));
      },
      {"non-empty", "[0,77]"});
  ft::expect_invalid_argument(
      [&] {
        model->forward(torch::zeros({2, 0}, torch::kLong));
      },
      {"non-empty", "[2,0]"});
  auto bad = ok.clone();
  bad[1][5] = 49408;
  ft::expect_invalid_argument([&] { model->forward(bad); },
                              {"ids in [0, vocab_size = 49408)", "found ids from 49407 to 49408"});
  bad[1][5] = -1;
  ft::expect_invalid_argument([&] { model->forward(bad); }, {"found ids from -1 to 49407"});
}

// ---------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------

TEST(CLIPTextConfig, ParsesTheFixtures) {
  const auto l = CLIPTextConfig::from_file(ft::data_path("text/clip_l_tiny/config.json"));
  EXPECT_EQ(l.hidden_size, 32);
  EXPECT_EQ(l.num_hidden_layers, 3);
  EXPECT_EQ(l.num_attention_heads, 4);
  EXPECT_EQ(l.intermediate_size, 128);
  EXPECT_EQ(l.projection_dim, 24);
  EXPECT_EQ(l.hidden_act, "quick_gelu");
  EXPECT_EQ(l.activation(), CLIPActivation::kQuickGelu);
  EXPECT_EQ(l.vocab_size, 49408);
  EXPECT_EQ(l.max_position_embeddings, 77);
  EXPECT_DOUBLE_EQ(l.layer_norm_eps, 1e-5);
  EXPECT_EQ(l.eos_token_id, 2);
  EXPECT_TRUE(l.legacy_pooling());
  EXPECT_EQ(l.bos_token_id, std::optional<int64_t>(0));
  EXPECT_EQ(l.pad_token_id, std::optional<int64_t>(1));
  EXPECT_EQ(l.head_dim(), 8);
  const auto g = CLIPTextConfig::from_file(ft::data_path("text/clip_g_tiny/config.json"));
  EXPECT_EQ(g.hidden_size, 40);
  EXPECT_EQ(g.num_hidden_layers, 2);
  EXPECT_EQ(g.activation(), CLIPActivation::kGelu);
  EXPECT_EQ(g.projection_dim, 36);
}

TEST(CLIPTextConfig, PresetsAreSD35sEncoders) {
  const auto l = CLIPTextConfig::clip_l();
  EXPECT_EQ(l.hidden_size, 768);
  EXPECT_EQ(l.num_hidden_layers, 12);
  EXPECT_EQ(l.num_attention_heads, 12);
  EXPECT_EQ(l.intermediate_size, 3072);
  EXPECT_EQ(l.projection_dim, 768);
  EXPECT_EQ(l.hidden_act, "quick_gelu");
  const auto g = CLIPTextConfig::clip_g();
  EXPECT_EQ(g.hidden_size, 1280);
  EXPECT_EQ(g.num_hidden_layers, 32);
  EXPECT_EQ(g.num_attention_heads, 20);
  EXPECT_EQ(g.intermediate_size, 5120);
  EXPECT_EQ(g.projection_dim, 1280);
  EXPECT_EQ(g.hidden_act, "gelu");
  for (const auto& c : {l, g}) {
    EXPECT_EQ(c.vocab_size, 49408);
    EXPECT_EQ(c.max_position_embeddings, 77);
    EXPECT_DOUBLE_EQ(c.layer_norm_eps, 1e-5);
    EXPECT_TRUE(c.legacy_pooling());
    EXPECT_NO_THROW(c.validate());
    EXPECT_EQ(CLIPTextConfig::from_json(c.to_json()), c);
  }
  EXPECT_EQ(l.num_parameters(), 123650304);
  EXPECT_EQ(g.num_parameters(), 694659840);
}

TEST(CLIPTextConfig, DefaultsGenericKeysAndRoundTrip) {
  // An empty object gives transformers' CLIPTextConfig defaults.
  const auto d = CLIPTextConfig::from_json(json::object());
  EXPECT_EQ(d.hidden_size, 512);
  EXPECT_EQ(d.num_attention_heads, 8);
  EXPECT_EQ(d.projection_dim, 512);
  EXPECT_EQ(d.eos_token_id, 49407);
  EXPECT_FALSE(d.legacy_pooling());
  EXPECT_EQ(d, CLIPTextConfig());
  // Generic PretrainedConfig keys are accepted and ignored; null token ids kept.
  auto j = fixture_config_json("clip_l_tiny");
  j["_name_or_path"] = "stabilityai/stable-diffusion-3.5-medium";
  j["output_hidden_states"] = false;
  j["id2label"] = {{"0", "LABEL_0"}};
  j["pruned_heads"] = json::object();
  j["hidden_act"] = "gelu_new";
  j["pad_token_id"] = nullptr;
  const auto c = CLIPTextConfig::from_json(j);
  EXPECT_EQ(c.activation(), CLIPActivation::kGeluTanh);
  EXPECT_FALSE(c.pad_token_id.has_value());
  EXPECT_EQ(CLIPTextConfig::from_json(c.to_json()), c);
  ft::TempDir dir;
  c.save(dir / "sub" / "config.json", "float16");
  EXPECT_EQ(CLIPTextConfig::from_file(dir / "sub" / "config.json"), c);
  EXPECT_EQ(flowgrpo::models::parse_clip_activation("gelu_pytorch_tanh"), CLIPActivation::kGeluTanh);
  for (auto a : {CLIPActivation::kQuickGelu, CLIPActivation::kGelu, CLIPActivation::kGeluTanh})
    EXPECT_EQ(flowgrpo::models::parse_clip_activation(flowgrpo::models::to_string(a)), a);
}

TEST(CLIPTextConfig, RejectsWrongKeysTypesAndValues) {
  const std::vector<std::pair<json, std::vector<std::string>>> cases = {
      {{{"hidden_size", "32"}}, {"\"hidden_size\"", "expected an integer", "found \"32\""}},
      {{{"num_hidden_layers", 2.5}}, {"\"num_hidden_layers\"", "expected an integer", "found 2.5"}},
      {{{"num_hidden_layers", 0}}, {"\"num_hidden_layers\"", "expected >= 1", "found 0"}},
      {{{"num_attention_heads", 5}}, {"\"num_attention_heads\"", "divisor of hidden_size = 32", "found 5"}},
      {{{"hidden_act", "relu"}},
       {"\"hidden_act\"", "\"relu\"", "quick_gelu, gelu, gelu_new, gelu_pytorch_tanh"}},
      {{{"hidden_act", 1}}, {"\"hidden_act\"", "expected a string", "found 1"}},
      {{{"layer_norm_eps", 0}}, {"\"layer_norm_eps\"", "> 0", "found 0"}},
      {{{"layer_norm_eps", "1e-5"}}, {"\"layer_norm_eps\"", "expected a number"}},
      {{{"attention_dropout", 1.0}}, {"\"attention_dropout\"", "[0, 1)", "found 1.0"}},
      {{{"eos_token_id", 49408}}, {"\"eos_token_id\"", "[0, vocab_size = 49408)", "found 49408"}},
      {{{"eos_token_id", nullptr}}, {"\"eos_token_id\"", "expected an integer", "found null"}},
      {{{"bos_token_id", -1}}, {"\"bos_token_id\"", ">= 0", "found -1"}},
      {{{"model_type", "t5"}}, {"\"model_type\"", "\"clip_text_model\"", "found \"t5\""}},
      {{{"architectures", json::array({"CLIPTextModel"})}},
       {"\"architectures\"", "CLIPTextModelWithProjection", "[\"CLIPTextModel\"]"}},
      {{{"pruned_heads", {{"0", json::array({1})}}}}, {"\"pruned_heads\"", "not supported"}},
      {{{"text_config", json::object()}}, {"\"text_config\"", "full CLIPModel config", "clip_text_model"}},
      {{{"use_cache", true}}, {"unknown config key \"use_cache\"", "known keys", "projection_dim"}},
  };
  for (const auto& [patch, needles] : cases) {
    auto j = fixture_config_json("clip_l_tiny");
    j.update(patch);
    SCOPED_TRACE(patch.dump());
    ft::expect_config_rejected<CLIPTextConfig>(j, "text_encoder/config.json", needles);
  }
  ft::expect_invalid_argument([] { CLIPTextConfig::from_json(json::array()); }, {"JSON object"});
  ft::TempDir dir;
  ft::write_text_file(dir / "config.json", "{ not json");
  ft::expect_invalid_argument([&] { CLIPTextConfig::from_file(dir / "config.json"); },
                              {(dir / "config.json").string(), "invalid JSON"});
  CLIPTextConfig bad;
  bad.intermediate_size = 0;
  ft::expect_invalid_argument([&] { CLIPTextModelWithProjection model(bad); },
                              {"\"intermediate_size\"", "expected >= 1"});
  ft::expect_invalid_argument([] { flowgrpo::models::parse_clip_activation("silu"); },
                              {"\"silu\"", "valid:"});
}

}  // namespace clip_text_model_test
}  // namespace
