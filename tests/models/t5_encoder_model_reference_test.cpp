// T5EncoderModel against live transformers (ctest label `reference`): small
// random T5 encoders drawn when the test runs (tests/reference/t5_oracle.py:
// gated-gelu, relu, gated-silu, gated-relu and gelu feed-forwards; inner width
// num_heads·d_kv equal to and different from d_model; 4 to 48 buckets and max
// distances shorter than the sequence; 1-3 layers; single-file and sharded
// weights), built and saved by transformers, loaded by flowgrpo from the saved
// folder, and compared at fp32 <= 1e-4 + 1e-4·|ref| on every hidden state with
// and without a padding mask, with the position bias and buckets exact; the
// bfloat16 and float16 models (transformers' from_pretrained(torch_dtype=...),
// float32 `wo` in float16) against transformers' own half-precision outputs.
// The seed is printed on failure; FLOWGRPO_REFERENCE_SEED=S replays a run.
#include "flowgrpo/models/text_encoders/t5_encoder_model.h"

#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/models/text_encoders/t5_block.h"
#include "flowgrpo/models/text_encoders/t5_relative_position.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>

namespace {

namespace fs = std::filesystem;
namespace ft = flowgrpo::testing;
namespace fio = flowgrpo::io;
using flowgrpo::models::LoadOptions;
using flowgrpo::models::T5EncoderModel;

constexpr double kT5ReferenceAtol = 1e-4;
constexpr double kT5ReferenceRtol = 1e-4;
// The half paths run op for op as transformers' (float32 softmax, float32 `wo`
// and promoted residual in fp16, the fp16 clamp): with the LibTorch that the
// Python torch ships, the bf16 and fp16 outputs were bit-identical to
// transformers' for 9 seeds (54 models), as the fp32 ones were. The bound, on
// max |x − ref| / (1 + max |ref|), leaves room for another LibTorch's kernels.
constexpr double kT5ReferenceHalfTol = 1e-2;

TEST(T5EncoderModelReference, RandomEncodersMatchTransformers) {
  FLOWGRPO_REQUIRE_PYTHON("torch transformers safetensors");
  const uint64_t seed = ft::reference_seed();
  SCOPED_TRACE("FLOWGRPO_REFERENCE_SEED=" + std::to_string(seed));
  ft::TempDir dir;
  const auto cases = ft::run_coverage_oracle("t5_oracle.py", seed, dir.path());
  ASSERT_EQ(cases.size(), 6u);
  torch::NoGradGuard no_grad;
  double worst = 0.0, worst_abs = 0.0, worst_half[2] = {0.0, 0.0};
  int sharded = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.dump());
    const fs::path case_dir = dir / c["dir"].get<std::string>();
    const auto t = fio::load_safetensors(case_dir / "io.safetensors");
    sharded += fs::exists(case_dir / "model.safetensors.index.json");
    auto t5 = T5EncoderModel::from_pretrained(case_dir);
    const auto& config = t5->config();
    EXPECT_EQ(config.feed_forward_proj, c["config"]["feed_forward_proj"].get<std::string>());
    const auto& ids = t.at("input.input_ids");
    const auto& mask = t.at("input.attention_mask");
    const int64_t seq = ids.size(1);

    // Buckets and block 0's bias: exact.
    const auto buckets = flowgrpo::models::t5_relative_position_buckets(
        seq, seq, true, config.relative_attention_num_buckets, config.relative_attention_max_distance);
    EXPECT_TRUE(torch::equal(buckets, t.at("inter.relative_position_bucket")));
    const auto bias =
        t5->encoder->block[0]->as<flowgrpo::models::T5BlockImpl>()->self_attention()->compute_bias(seq, seq);
    EXPECT_TRUE(torch::equal(bias, t.at("inter.position_bias")));

    const auto plain = t5->forward(ids, {}, /*output_hidden_states=*/true);
    const auto masked = t5->forward(ids, mask, /*output_hidden_states=*/true);
    std::vector<std::pair<std::string, torch::Tensor>> checks = {
        {"output.last_hidden_state", plain.last_hidden_state},
        {"output_masked.last_hidden_state", masked.last_hidden_state}};
    ASSERT_EQ(plain.hidden_states.size(), static_cast<size_t>(config.num_layers + 1));
    for (size_t k = 0; k < plain.hidden_states.size(); ++k) {
      checks.emplace_back("output.hidden_states." + std::to_string(k), plain.hidden_states[k]);
      checks.emplace_back("output_masked.hidden_states." + std::to_string(k), masked.hidden_states[k]);
    }
    for (const auto& [key, actual] : checks) {
      const auto& expected = t.at(key);
      EXPECT_TRUE(ft::all_close(actual, expected, kT5ReferenceAtol, kT5ReferenceRtol)) << key;
      const double err = ft::max_abs_diff(actual, expected);
      worst_abs = std::max(worst_abs, err);
      worst = std::max(worst, err / (1.0 + expected.abs().max().item<double>()));
    }

    // Half precision against transformers' own half-precision run.
    const std::pair<torch::Dtype, const char*> halves[] = {
        {torch::kBFloat16, "output_bf16.last_hidden_state"}, {torch::kHalf, "output_fp16.last_hidden_state"}};
    for (int h = 0; h < 2; ++h) {
      LoadOptions options;
      options.dtype = halves[h].first;
      auto half = T5EncoderModel::from_pretrained(case_dir, options);
      const auto out = half->forward(ids).last_hidden_state;
      const auto& expected = t.at(halves[h].second);
      EXPECT_EQ(out.scalar_type(), expected.scalar_type()) << halves[h].second;
      const double err = ft::max_abs_diff(out, expected) / (1.0 + expected.abs().max().item<double>());
      EXPECT_LE(err, kT5ReferenceHalfTol) << halves[h].second;
      worst_half[h] = std::max(worst_half[h], err);
    }
  }
  EXPECT_GE(sharded, 1);
  std::printf(
      "[parity] %zu random T5EncoderModels (seed %llu) fp32 max abs error %.3g (%.3g of 1 + max |ref|); vs "
      "transformers' own bf16 %.3g, fp16 %.3g (of 1 + max |ref|)\n",
      cases.size(), static_cast<unsigned long long>(seed), worst_abs, worst, worst_half[0], worst_half[1]);
}

}  // namespace
