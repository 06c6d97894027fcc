// AutoencoderKL against live diffusers 0.33.1 (ctest label `reference`): small
// random VAEs drawn when the test runs (tests/reference/vae_oracle.py: 1-3
// levels, 1-2 layers per block, quant convs on / off / mixed, mid-block attention
// on and off, current and legacy attention names, random channels, groups,
// latent channels, scaling and shift), built and saved by diffusers, loaded by
// flowgrpo from the saved folder, and compared on encode, decode and the SD3
// pipeline's decode path at fp32 <= 1e-4 + 1e-4·|ref|. The seed is printed on
// failure; FLOWGRPO_REFERENCE_SEED=S replays a run.
#include "flowgrpo/models/autoencoders/autoencoder_kl.h"

#include "flowgrpo/io/safetensors.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
namespace ft = flowgrpo::testing;
namespace fio = flowgrpo::io;
using flowgrpo::models::AutoencoderKL;

constexpr double kVaeReferenceAtol = 1e-4;
constexpr double kVaeReferenceRtol = 1e-4;

TEST(AutoencoderKLReference, RandomVaesMatchDiffusers) {
  FLOWGRPO_REQUIRE_PYTHON("torch diffusers safetensors");
  const uint64_t seed = ft::reference_seed();
  SCOPED_TRACE("FLOWGRPO_REFERENCE_SEED=" + std::to_string(seed));
  ft::TempDir dir;
  const auto cases = ft::run_coverage_oracle("vae_oracle.py", seed, dir.path());
  ASSERT_EQ(cases.size(), 6u);
  torch::NoGradGuard no_grad;
  double worst = 0.0, worst_abs = 0.0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.dump());
    const fs::path case_dir = dir / c["dir"].get<std::string>();
    const auto t = fio::load_safetensors(case_dir / "io.safetensors");
    auto vae = AutoencoderKL::from_pretrained(case_dir);  // a pipeline folder: case_K/vae/
    EXPECT_EQ(vae->config().use_quant_conv, c["config"]["use_quant_conv"].get<bool>());
    const auto dist = vae->encode(t.at("input.image"));
    const auto decoded = vae->decode(t.at("input.z"));
    const auto pipeline_decoded = vae->decode(vae->from_model_space(t.at("input.latents")));
    const auto image01 = vae->decode_to_image01(t.at("input.latents"));
    const std::pair<const char*, const torch::Tensor*> checks[] = {
        {"output.encode_mean", &dist.mean},
        {"output.encode_logvar", &dist.logvar},
        {"output.encode_std", &dist.stddev},
        {"output.decoded", &decoded},
        {"output.pipeline_decoded", &pipeline_decoded},
        {"output.pipeline_image01", &image01}};
    for (const auto& [key, actual] : checks) {
      const auto& expected = t.at(key);
      EXPECT_TRUE(ft::all_close(*actual, expected, kVaeReferenceAtol, kVaeReferenceRtol)) << key;
      const double err = ft::max_abs_diff(*actual, expected);
      worst_abs = std::max(worst_abs, err);
      worst = std::max(worst, err / (1.0 + expected.abs().max().item<double>()));
    }
  }
  std::printf(
      "[parity] %zu random AutoencoderKLs (seed %llu) fp32 max abs error %.3g (%.3g of 1 + max |ref|)\n",
      cases.size(), static_cast<unsigned long long>(seed), worst_abs, worst);
}

}  // namespace
