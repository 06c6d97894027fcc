// SD3Pipeline against live diffusers 0.33.1 + transformers (ctest label `reference`):
// a tiny random StableDiffusion3Pipeline drawn when the test runs
// (tests/reference/sd3_pipeline_oracle.py: random CLIP-L / CLIP-G / T5 / transformer
// sizes, the real CLIP BPE files, a T5 sentencepiece model, weights sharded by
// save_pretrained) is loaded by flowgrpo from the folder diffusers wrote, and its
// prompt encoding (positive and the empty negative prompt, a prompt cut by both
// tokenizers, unicode, emoji; a T5 tokenizer.json with either Metaspace prepend scheme)
// and decode path are compared at fp32 <= 1e-4; then the same through a
// prompt-embedding cache, which must equal the direct encoding to float rounding, keep
// its rows when extended, and be refused when built with other options.
// FLOWGRPO_REFERENCE_SEED=S replays a run.
#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/models/pipelines/sd3_pipeline.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace {

namespace fs = std::filesystem;
namespace ft = flowgrpo::testing;
namespace fm = flowgrpo::models;

constexpr double kAtol = 1e-4;
constexpr double kRtol = 1e-4;

struct OracleCase {
  ft::TempDir dir;
  nlohmann::json info;
  flowgrpo::io::TensorMap io;
  fs::path model() const { return dir / "model"; }
};

// One oracle run shared by the tests of this file (it takes tens of seconds).
const OracleCase& oracle_case() {
  static OracleCase* c = [] {
    auto* c = new OracleCase();
    const auto r = ft::run_command(ft::reference_oracle("sd3_pipeline_oracle.py") + " " +
                                   std::to_string(ft::reference_seed()) + " " + c->dir.path().string());
    if (r.exit_code != 0) throw std::runtime_error("sd3_pipeline_oracle.py failed:\n" + r.output);
    std::ifstream in(c->dir / "case.json");
    c->info = nlohmann::json::parse(in);
    c->io = flowgrpo::io::load_safetensors(c->dir / "io.safetensors");
    return c;
  }();
  return *c;
}

fm::SD3PipelineOptions options_for(const OracleCase& c) {
  fm::SD3PipelineOptions o;
  o.resolution = c.info["resolution"].get<int64_t>();
  o.text.max_sequence_length = c.info["max_sequence_length"].get<int64_t>();
  o.progress = false;
  return o;
}

std::vector<std::string> prompts_of(const OracleCase& c) {
  return c.info["prompts"].get<std::vector<std::string>>();
}

TEST(SD3PipelineReference, EncodesPromptsAndDecodesAsDiffusers) {
  FLOWGRPO_REQUIRE_PYTHON("torch diffusers transformers sentencepiece safetensors");
  SCOPED_TRACE("FLOWGRPO_REFERENCE_SEED=" + std::to_string(ft::reference_seed()));
  const auto& c = oracle_case();
  SCOPED_TRACE("T5 prepend_scheme " + c.info.value("t5_prepend_scheme", std::string("?")));
  auto p = fm::SD3Pipeline::from_pretrained(c.model(), options_for(c));
  ASSERT_NE(p->prompt_encoder(), nullptr);
  torch::NoGradGuard no_grad;
  const auto prompts = prompts_of(c);
  const auto cond = p->encode_prompts(prompts);
  EXPECT_TRUE(ft::all_close(cond.encoder_hidden_states, c.io.at("output.prompt_embeds"), kAtol, kRtol))
      << ft::max_abs_diff(cond.encoder_hidden_states, c.io.at("output.prompt_embeds"));
  EXPECT_TRUE(ft::all_close(cond.pooled_projections, c.io.at("output.pooled_prompt_embeds"), kAtol, kRtol));
  const auto negative = p->encode_prompts(std::vector<std::string>(prompts.size(), ""));
  EXPECT_TRUE(
      ft::all_close(negative.encoder_hidden_states, c.io.at("output.negative_prompt_embeds"), kAtol, kRtol));
  EXPECT_TRUE(ft::all_close(negative.pooled_projections, c.io.at("output.negative_pooled_prompt_embeds"),
                            kAtol, kRtol));
  // diffusers' clip_skip: the CLIP states one layer further from the output.
  auto skip_options = options_for(c);
  skip_options.text.clip_skip = 1;
  auto skipped = fm::SD3Pipeline::from_pretrained(c.model(), skip_options);
  EXPECT_TRUE(ft::all_close(skipped->encode_prompts({prompts[0], prompts[1]}).encoder_hidden_states,
                            c.io.at("output.prompt_embeds_clip_skip1"), kAtol, kRtol));
  const auto image = p->decode(c.io.at("input.latents"));
  EXPECT_TRUE(ft::all_close(image, c.io.at("output.image01"), kAtol, kRtol));
  EXPECT_EQ(p->latent_shape(), (std::vector<int64_t>{16, 16, 16}));
  // The velocity model runs on the assembled conditioning.
  const auto v =
      p->velocity_model().forward(torch::randn({1, 16, 16, 16}), torch::full({1}, 500.0f), cond.slice(0, 1));
  EXPECT_EQ(v.sizes(), (std::vector<int64_t>{1, 16, 16, 16}));
}

TEST(SD3PipelineReference, PromptCacheEqualsTheEncodersAndRefusesOtherOptions) {
  FLOWGRPO_REQUIRE_PYTHON("torch diffusers transformers sentencepiece safetensors");
  SCOPED_TRACE("FLOWGRPO_REFERENCE_SEED=" + std::to_string(ft::reference_seed()));
  const auto& c = oracle_case();
  const auto prompts = prompts_of(c);
  ft::TempDir dir;
  auto o = options_for(c);
  o.prompt_cache = dir / "cache.safetensors";
  o.cache_prompts = {prompts[0], prompts[1]};
  auto cached = fm::SD3Pipeline::from_pretrained(c.model(), o);
  EXPECT_EQ(cached->prompt_encoder(), nullptr) << "the encoders are released once the cache is built";
  ASSERT_TRUE(cached->prompt_cache().has_value());
  EXPECT_EQ(cached->prompt_cache()->size(), 3u) << "two prompts and the empty one";
  auto direct = fm::SD3Pipeline::from_pretrained(c.model(), options_for(c));
  torch::NoGradGuard no_grad;
  const std::vector<std::string> batch{prompts[1], "", prompts[0], prompts[1]};
  const auto a = cached->encode_prompts(batch);
  const auto b = direct->encode_prompts(batch);
  // Equal up to float rounding: the cache was encoded in other batches, and a batch's
  // composition can change the last bits of a matrix product.
  EXPECT_TRUE(ft::all_close(a.encoder_hidden_states, b.encoder_hidden_states, 1e-5, 1e-5));
  EXPECT_TRUE(ft::all_close(a.pooled_projections, b.pooled_projections, 1e-5, 1e-5));
  EXPECT_NE(ft::expect_invalid_argument([&] { cached->encode_prompts({prompts[2]}); },
                                        {"does not hold the prompt"}),
            "");
  // More prompts: the cache is extended, the old rows kept.
  o.cache_prompts = {prompts[2]};
  auto extended = fm::SD3Pipeline::from_pretrained(c.model(), o);
  EXPECT_EQ(extended->prompt_cache()->size(), 4u);
  EXPECT_TRUE(torch::equal(extended->encode_prompts(batch).encoder_hidden_states, a.encoder_hidden_states))
      << "the old rows are kept as they were";
  // Another T5 length is another encoding: the file is refused, not reused.
  o.text.max_sequence_length += 8;
  ft::expect_invalid_argument([&] { fm::SD3Pipeline::from_pretrained(c.model(), o); },
                              {"cache.safetensors", "other text encoders or options", "Delete the file"});
}

}  // namespace
