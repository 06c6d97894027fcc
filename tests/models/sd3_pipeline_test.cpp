// SD3Pipeline on a tiny SD3.5-layout folder composed from the fixtures
// (tests/support/sd3_tiny_folder.h): prompt assembly equal to the reference
// pipeline's (fixture sd3_prompt_assembly: StableDiffusion3Pipeline.encode_prompt
// with the same three encoders and tokenizers at T5 length 128), the prompt cache,
// and every bad folder named in the error.
#include "flowgrpo/models/pipelines/sd3_pipeline.h"
#include "flowgrpo/io/safetensors.h"
#include "support/sd3_tiny_folder.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace {

namespace fs = std::filesystem;
namespace ft = flowgrpo::testing;
namespace fm = flowgrpo::models;
namespace fio = flowgrpo::io;

constexpr double kAtol = 1e-4;
constexpr double kRtol = 1e-4;

const std::vector<std::string> kFixturePrompts = {"a photo of a red apple and a green pear",
                                                  "a neon sign that says \"GRPO\", 4k"};

fio::TensorMap assembly_fixture() {
  return fio::load_safetensors(fs::path(FLOWGRPO_TEST_DATA_DIR) / "text" / "sd3_prompt_assembly" /
                               "io.safetensors");
}

fm::SD3PipelineOptions tiny_options() {
  fm::SD3PipelineOptions o;
  o.resolution = 32;
  o.text.max_sequence_length = 128;
  o.progress = false;
  return o;
}

void edit_json(const fs::path& file, const std::function<void(nlohmann::json&)>& edit) {
  auto j = fio::read_json_file(file);
  edit(j);
  fio::write_text_atomic(file, j.dump(2));
}

TEST(SD3Pipeline, AssemblesPromptsAsTheReferencePipeline) {
  ft::TempDir dir;
  ft::write_sd3_tiny_folder(dir.path());
  auto p = fm::SD3Pipeline::from_pretrained(dir.path(), tiny_options());
  const auto f = assembly_fixture();
  auto* enc = p->prompt_encoder();
  ASSERT_NE(enc, nullptr);
  // The tokenizers give the reference's ids...
  EXPECT_TRUE(torch::equal(enc->clip_l_tokenizer().encode_batch(kFixturePrompts, 77).input_ids,
                           f.at("input.clip_l_input_ids")));
  EXPECT_TRUE(torch::equal(enc->clip_g_tokenizer().encode_batch(kFixturePrompts, 77).input_ids,
                           f.at("input.clip_g_input_ids")));
  EXPECT_TRUE(torch::equal(enc->t5_tokenizer()->encode_batch(kFixturePrompts, 128).input_ids,
                           f.at("input.t5_input_ids")));
  // ... and the assembled conditioning is the reference's.
  torch::NoGradGuard no_grad;
  const auto c = p->encode_prompts(kFixturePrompts);
  EXPECT_EQ(c.encoder_hidden_states.sizes(), (std::vector<int64_t>{2, 205, 80}));
  EXPECT_TRUE(ft::all_close(c.encoder_hidden_states, f.at("output.prompt_embeds"), kAtol, kRtol))
      << ft::max_abs_diff(c.encoder_hidden_states, f.at("output.prompt_embeds"));
  EXPECT_TRUE(ft::all_close(c.pooled_projections, f.at("output.pooled_prompt_embeds"), kAtol, kRtol));
  const auto n = p->encode_prompts({"", ""});
  EXPECT_TRUE(ft::all_close(n.encoder_hidden_states, f.at("output.negative_prompt_embeds"), kAtol, kRtol));
  EXPECT_TRUE(
      ft::all_close(n.pooled_projections, f.at("output.negative_pooled_prompt_embeds"), kAtol, kRtol));
  // The pieces from the fixture's own ids assemble to the same tensors.
  fm::SD3PromptPieces pieces{f.at("output.clip_l_penultimate"), f.at("output.clip_g_penultimate"),
                             f.at("output.clip_l_text_embeds"), f.at("output.clip_g_text_embeds"),
                             f.at("output.t5_last_hidden_state")};
  const auto assembled = fm::SD3PromptEncoder::assemble(pieces, 80);
  EXPECT_TRUE(torch::equal(assembled.encoder_hidden_states, f.at("output.prompt_embeds")));
  EXPECT_TRUE(torch::equal(assembled.pooled_projections, f.at("output.pooled_prompt_embeds")));
  EXPECT_EQ(p->latent_shape(), (std::vector<int64_t>{16, 16, 16}));
  EXPECT_EQ(p->schedule(10).num_steps(), 10);
  EXPECT_EQ(p->decode(torch::zeros({1, 16, 16, 16})).sizes(), (std::vector<int64_t>{1, 3, 32, 32}));
}

TEST(SD3Pipeline, LoadsInTheDtypeAskedFor) {
  ft::TempDir dir;
  ft::write_sd3_tiny_folder(dir.path());
  auto o = tiny_options();
  o.load.dtype = torch::kBFloat16;
  auto p = fm::SD3Pipeline::from_pretrained(dir.path(), o);
  EXPECT_EQ(p->transformer()->dtype(), torch::kBFloat16);
  EXPECT_EQ(p->prompt_encoder()->clip_l()->dtype(), torch::kBFloat16);
  EXPECT_EQ(p->prompt_encoder()->t5()->dtype(), torch::kBFloat16);
  EXPECT_EQ(p->vae()->dtype(), torch::kFloat) << "the VAE stays float32, as flow_grpo keeps it";
  torch::NoGradGuard no_grad;
  const auto c = p->encode_prompts(kFixturePrompts);
  EXPECT_EQ(c.encoder_hidden_states.scalar_type(), torch::kBFloat16);
  // bf16 keeps about 3 significant digits, which the tiny T5's unscaled attention
  // (scores up to 20) amplifies in places: the mean error is the bound (the T5 tests' 6%).
  const auto f = assembly_fixture();
  const auto& ref = f.at("output.prompt_embeds");
  const double mean_error = (c.encoder_hidden_states.to(torch::kFloat) - ref).abs().mean().item<double>();
  EXPECT_LT(mean_error / ref.abs().mean().item<double>(), 0.06);
}

TEST(SD3Pipeline, PromptCacheIsBuiltOnceReusedAndRefusedWhenStale) {
  ft::TempDir dir;
  ft::write_sd3_tiny_folder(dir.path());
  auto o = tiny_options();
  o.prompt_cache = dir / "cache" / "prompts.safetensors";
  o.cache_prompts = kFixturePrompts;
  auto p = fm::SD3Pipeline::from_pretrained(dir.path(), o);
  EXPECT_EQ(p->prompt_encoder(), nullptr);
  ASSERT_TRUE(fs::exists(o.prompt_cache));
  const auto f = assembly_fixture();
  const auto c = p->encode_prompts({kFixturePrompts[1], "", kFixturePrompts[0]});
  EXPECT_TRUE(ft::all_close(c.encoder_hidden_states[2], f.at("output.prompt_embeds")[0], kAtol, kRtol));
  EXPECT_TRUE(
      ft::all_close(c.encoder_hidden_states[1], f.at("output.negative_prompt_embeds")[0], kAtol, kRtol));
  const auto stamp = fs::last_write_time(o.prompt_cache);
  // A second load reuses the file untouched and loads no encoder.
  auto q = fm::SD3Pipeline::from_pretrained(dir.path(), o);
  EXPECT_EQ(fs::last_write_time(o.prompt_cache), stamp);
  EXPECT_TRUE(torch::equal(q->encode_prompts({kFixturePrompts[0]}).encoder_hidden_states,
                           p->encode_prompts({kFixturePrompts[0]}).encoder_hidden_states));
  // Other encoder weights: the cache is stale and refused with the reason.
  edit_json(dir / "text_encoder" / "config.json", [](nlohmann::json& j) { j["layer_norm_eps"] = 1e-6; });
  ft::expect_invalid_argument([&] { fm::SD3Pipeline::from_pretrained(dir.path(), o); },
                              {"prompts.safetensors", "other text encoders or options"});
  // A file that is not a cache names itself.
  fio::save_safetensors(dir / "bogus.safetensors", {{"x", torch::zeros({1})}});
  o.prompt_cache = dir / "bogus.safetensors";
  ft::expect_invalid_argument([&] { fm::SD3Pipeline::from_pretrained(dir.path(), o); },
                              {"bogus.safetensors", "format"});
}

TEST(SD3Pipeline, RefusesFoldersOfOtherModelFamilies) {
  ft::TempDir dir;
  ft::write_sd3_tiny_folder(dir.path());
  for (const char* cls : {"FluxPipeline", "StableDiffusionXLPipeline"}) {
    edit_json(dir / "model_index.json", [&](nlohmann::json& j) { j["_class_name"] = cls; });
    ft::expect_invalid_argument([&] { fm::SD3Pipeline::from_pretrained(dir.path(), tiny_options()); },
                                {"model_index.json", cls, "StableDiffusion3Pipeline"});
  }
  fs::remove(dir / "model_index.json");
  ft::expect_invalid_argument([&] { fm::SD3Pipeline::from_pretrained(dir.path(), tiny_options()); },
                              {"model_index.json", "missing"});
}

TEST(SD3Pipeline, NamesMissingComponentsFilesAndTensors) {
  {
    ft::TempDir dir;
    ft::write_sd3_tiny_folder(dir.path());
    fs::remove_all(dir / "text_encoder_2");
    ft::expect_invalid_argument([&] { fm::SD3Pipeline::from_pretrained(dir.path(), tiny_options()); },
                                {"text_encoder_2", "missing"});
  }
  {
    ft::TempDir dir;
    ft::write_sd3_tiny_folder(dir.path());
    edit_json(dir / "model_index.json", [](nlohmann::json& j) { j.erase("vae"); });
    ft::expect_invalid_argument([&] { fm::SD3Pipeline::from_pretrained(dir.path(), tiny_options()); },
                                {"model_index.json", "'vae'"});
  }
  {
    ft::TempDir dir;
    ft::write_sd3_tiny_folder(dir.path());
    auto w = fio::load_safetensors(dir / "transformer" / "diffusion_pytorch_model.safetensors");
    w.erase("proj_out.weight");
    fio::save_safetensors(dir / "transformer" / "diffusion_pytorch_model.safetensors", w);
    ft::expect_invalid_argument([&] { fm::SD3Pipeline::from_pretrained(dir.path(), tiny_options()); },
                                {"proj_out.weight"});
  }
  {
    ft::TempDir dir;
    ft::write_sd3_tiny_folder(dir.path());
    fio::write_text_atomic(dir / "tokenizer" / "vocab.json", "{ not json");
    ft::expect_invalid_argument([&] { fm::SD3Pipeline::from_pretrained(dir.path(), tiny_options()); },
                                {"vocab.json"});
  }
}

TEST(SD3Pipeline, NamesBothConfigsOfAMismatch) {
  {
    ft::TempDir dir;
    ft::write_sd3_tiny_folder(dir.path());
    edit_json(dir / "transformer" / "config.json", [](nlohmann::json& j) { j["joint_attention_dim"] = 96; });
    ft::expect_invalid_argument(
        [&] { fm::SD3Pipeline::from_pretrained(dir.path(), tiny_options()); },
        {"text_encoder_3/config.json", "d_model 80", "transformer/config.json", "joint_attention_dim 96"});
  }
  {
    ft::TempDir dir;
    ft::write_sd3_tiny_folder(dir.path());
    edit_json(dir / "transformer" / "config.json",
              [](nlohmann::json& j) { j["pooled_projection_dim"] = 64; });
    ft::expect_invalid_argument(
        [&] { fm::SD3Pipeline::from_pretrained(dir.path(), tiny_options()); },
        {"text_encoder/config.json", "text_encoder_2/config.json", "pooled_projection_dim 64"});
  }
  {
    ft::TempDir dir;
    ft::write_sd3_tiny_folder(dir.path());
    edit_json(dir / "vae" / "config.json", [](nlohmann::json& j) { j["latent_channels"] = 4; });
    ft::expect_invalid_argument(
        [&] { fm::SD3Pipeline::from_pretrained(dir.path(), tiny_options()); },
        {"vae/config.json", "latent_channels 4", "transformer/config.json", "in_channels 16"});
  }
  {
    ft::TempDir dir;
    ft::write_sd3_tiny_folder(dir.path());
    auto o = tiny_options();
    o.resolution = 34;
    ft::expect_invalid_argument([&] { fm::SD3Pipeline::from_pretrained(dir.path(), o); },
                                {"model.resolution = 34", "multiple of 4"});
  }
}

}  // namespace
