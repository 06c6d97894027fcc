// CLIPTextModelWithProjection against live transformers (ctest label
// `reference`): small random CLIP text encoders drawn when the test runs
// (tests/reference/clip_oracle.py: quick_gelu, gelu, gelu_new and
// gelu_pytorch_tanh; legacy argmax and current first-EOS pooling; 1-3 layers;
// random widths, heads, MLP and projection sizes, vocabularies and position
// counts; single-file, sharded and bfloat16 checkpoints), built and saved by
// transformers, loaded by flowgrpo from the saved folder, and compared on every
// hidden state, last_hidden_state, pooler_output, text_embeds and the pooled
// positions at fp32 <= 1e-4 + 1e-4·|ref|. The seed is printed on failure;
// FLOWGRPO_REFERENCE_SEED=S replays a run.
#include "flowgrpo/models/text_encoders/clip_text_model.h"

#include "flowgrpo/io/safetensors.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {
namespace clip_text_model_reference_test {

namespace fs = std::filesystem;
namespace ft = flowgrpo::testing;
namespace fio = flowgrpo::io;
using flowgrpo::models::CLIPTextModelWithProjection;

constexpr double kClipReferenceAtol = 1e-4;
constexpr double kClipReferenceRtol = 1e-4;

TEST(CLIPTextModelReference, RandomEncodersMatchTransformers) {
  FLOWGRPO_REQUIRE_PYTHON("torch transformers safetensors");
  const uint64_t seed = ft::reference_seed();
  SCOPED_TRACE("FLOWGRPO_REFERENCE_SEED=" + std::to_string(seed));
  ft::TempDir dir;
  const auto cases = ft::run_coverage_oracle("clip_oracle.py", seed, dir.path());
  ASSERT_EQ(cases.size(), 6u);
  torch::NoGradGuard no_grad;
  double worst = 0.0, worst_abs = 0.0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.dump());
    const fs::path case_dir = dir / c["dir"].get<std::string>();
    const auto t = fio::load_safetensors(case_dir / "io.safetensors");
    auto model = CLIPTextModelWithProjection::from_pretrained(case_dir);  // a component folder
    EXPECT_EQ(model->config().hidden_act, c["config"]["hidden_act"].get<std::string>());
    EXPECT_EQ(model->config().legacy_pooling(), c["legacy_pooling"].get<bool>());
    const auto out = model->forward(t.at("input.input_ids"), /*output_hidden_states=*/true);
    const int64_t layers = model->config().num_hidden_layers;
    ASSERT_EQ(static_cast<int64_t>(out.hidden_states.size()), layers + 1);
    std::vector<std::pair<std::string, torch::Tensor>> checks = {
        {"output.last_hidden_state", out.last_hidden_state},
        {"output.pooler_output", out.pooled},
        {"output.text_embeds", out.text_embeds},
        {"output.hidden_states." + std::to_string(layers - 1), out.penultimate_hidden_state}};
    for (int64_t k = 0; k <= layers; ++k)
      checks.emplace_back("output.hidden_states." + std::to_string(k), out.hidden_states[k]);
    for (const auto& [key, actual] : checks) {
      const auto& expected = t.at(key);
      EXPECT_TRUE(ft::all_close(actual, expected, kClipReferenceAtol, kClipReferenceRtol)) << key;
      const double err = ft::max_abs_diff(actual, expected);
      worst_abs = std::max(worst_abs, err);
      worst = std::max(worst, err / (1.0 + expected.abs().max().item<double>()));
    }
    EXPECT_TRUE(out.eos_index.equal(t.at("output.eos_index"))) << out.eos_index << t.at("output.eos_index");
  }
  std::printf(
      "[parity] %zu random CLIPTextModelWithProjections (seed %llu) fp32 max abs error %.3g (%.3g of 1 + max "
      "|ref|)\n",
      cases.size(), static_cast<unsigned long long>(seed), worst_abs, worst);
}

}  // namespace clip_text_model_reference_test
}  // namespace
