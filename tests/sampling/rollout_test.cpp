#include "flowgrpo/sampling/rollout.h"

#include "gaussian_velocity.h"
#include "support/test_support.h"
#include "tiny_velocity.h"

#include <gtest/gtest.h>

#include <set>

namespace fs = flowgrpo::sampling;
using flowgrpo::testing::TinyVelocity;

namespace {

const std::vector<int64_t> kShape{4, 8, 8};

fs::Conditioning pooled(int64_t batch, uint64_t seed) {
  torch::manual_seed(seed);
  return {torch::randn({batch, 3, 5}), torch::randn({batch, 6})};
}

fs::RolloutOptions sde_options(double guidance = 4.5) {
  fs::RolloutOptions o;
  o.guidance_scale = guidance;
  o.noise_level = 0.7;
  return o;
}

}  // namespace

TEST(Rollout, StoresTrajectoryWithReferenceLayout) {
  TinyVelocity model(4, 6, 1);
  torch::NoGradGuard no_grad;
  const auto schedule = fs::sd3_schedule(10);
  fs::SeededNoise noise({11, 12, 13});
  const auto r = fs::sample_rollout(model, pooled(3, 1), pooled(3, 2), schedule, sde_options(), noise, kShape,
                                    torch::kCPU);
  EXPECT_EQ(r.latents.sizes(), (std::vector<int64_t>{3, 10, 4, 8, 8}));
  EXPECT_EQ(r.next_latents.sizes(), r.latents.sizes());
  EXPECT_EQ(r.log_probs.sizes(), (std::vector<int64_t>{3, 10}));
  EXPECT_EQ(r.timesteps.sizes(), (std::vector<int64_t>{3, 10}));
  EXPECT_EQ(r.latents.scalar_type(), torch::kFloat);
  // next_latents[:, j] is latents[:, j+1]: one chain, stored twice as the reference does.
  EXPECT_TRUE(torch::equal(r.next_latents.narrow(1, 0, 9), r.latents.narrow(1, 1, 9)));
  EXPECT_TRUE(torch::equal(r.next_latents.select(1, 9), r.final_latents));
  EXPECT_TRUE(torch::equal(r.latents.select(1, 0), noise.initial_latents(kShape, torch::kCPU)));
  EXPECT_TRUE(torch::equal(r.timesteps[1], schedule.timesteps));
  EXPECT_TRUE(torch::isfinite(r.log_probs).all().item<bool>());
}

TEST(Rollout, ReplaysBitForBitFromSeeds) {
  TinyVelocity model(4, 6, 1);
  torch::NoGradGuard no_grad;
  const auto schedule = fs::sd3_schedule(10);
  const auto cond = pooled(4, 1);
  const auto neg = pooled(4, 2);
  const auto a = fs::sample_rollout(model, cond, neg, schedule, sde_options(), fs::SeededNoise({1, 2, 3, 4}),
                                    kShape, torch::kCPU);
  const auto b = fs::sample_rollout(model, cond, neg, schedule, sde_options(), fs::SeededNoise({1, 2, 3, 4}),
                                    kShape, torch::kCPU);
  EXPECT_TRUE(torch::equal(a.latents, b.latents));
  EXPECT_TRUE(torch::equal(a.log_probs, b.log_probs));
  const auto c = fs::sample_rollout(model, cond, neg, schedule, sde_options(), fs::SeededNoise({1, 2, 3, 5}),
                                    kShape, torch::kCPU);
  EXPECT_TRUE(torch::equal(a.final_latents[0], c.final_latents[0]));
  EXPECT_FALSE(torch::equal(a.final_latents[3], c.final_latents[3]));
}

TEST(Rollout, SampleNoiseDependsOnlyOnItsOwnSeed) {
  // Sample 2 of a batch gets the same initial latent and step noise alone or in a batch.
  fs::SeededNoise batch({7, 8, 9});
  const auto alone = batch.select({2});
  EXPECT_TRUE(torch::equal(batch.initial_latents(kShape, torch::kCPU)[2],
                           alone.initial_latents(kShape, torch::kCPU)[0]));
  EXPECT_TRUE(
      torch::equal(batch.step_noise(5, kShape, torch::kCPU)[2], alone.step_noise(5, kShape, torch::kCPU)[0]));
  EXPECT_FALSE(
      torch::equal(batch.step_noise(5, kShape, torch::kCPU), batch.step_noise(6, kShape, torch::kCPU)));
  EXPECT_NE(fs::derive_seed({1, 2}), fs::derive_seed({2, 1}));
}

// flow_grpo.md pitfall 7: with unchanged weights and the same batch composition the
// training-side recomputation reproduces the sampling-time log-probs, i.e. ratio 1.
TEST(Rollout, RecomputedLogProbsAreOnPolicy) {
  for (const auto type : {fs::SdeType::kSde, fs::SdeType::kCps}) {
    TinyVelocity model(4, 6, 3);
    const auto schedule = fs::sd3_schedule(10);
    const auto cond = pooled(3, 5);
    const auto neg = pooled(3, 6);
    auto options = sde_options();
    options.sde_type = type;
    fs::Rollout r;
    {
      torch::NoGradGuard no_grad;
      r = fs::sample_rollout(model, cond, neg, schedule, options, fs::SeededNoise({4, 5, 6}), kShape,
                             torch::kCPU);
    }
    for (int64_t j = 0; j < r.num_sde_steps(); ++j) {
      // With grad enabled, as in training.
      const auto out = fs::score_transition(model, r.latents.select(1, j), r.next_latents.select(1, j),
                                            r.step_indices.select(1, j), schedule, cond, neg,
                                            options.guidance_scale, options.noise_level, type);
      ASSERT_TRUE(out.log_prob.requires_grad());
      const auto ratio = torch::exp(out.log_prob.detach() - r.log_probs.select(1, j));
      EXPECT_LE((ratio - 1).abs().max().item<double>(), 1e-6) << fs::to_string(type) << " step " << j;
    }
  }
}

TEST(Rollout, SdeWindowRunsOdeOutsideAndStoresOnlyTheWindow) {
  TinyVelocity model(4, 6, 1);
  torch::NoGradGuard no_grad;
  const auto schedule = fs::sd3_schedule(10);
  auto options = sde_options();
  options.sde_type = fs::SdeType::kCps;
  options.window = fs::SdeWindow{2, 3};
  const auto cond = pooled(2, 1);
  const auto neg = pooled(2, 2);
  const auto a =
      fs::sample_rollout(model, cond, neg, schedule, options, fs::SeededNoise({1, 2}), kShape, torch::kCPU);
  EXPECT_EQ(a.latents.size(1), 3);
  EXPECT_TRUE(torch::equal(a.step_indices[0], torch::tensor({2, 3, 4}, torch::kLong)));
  // Before the window the path is the deterministic ODE from the initial latent (CPS at
  // noise level 0 is Euler up to float rounding: (x − σv)(1 − σ') + (x + (1 − σ)v)σ').
  const auto ode_prefix = fs::sample_ode(
      model, cond, neg, fs::Schedule{schedule.sigmas.narrow(0, 0, 3), schedule.timesteps.narrow(0, 0, 2)},
      options.guidance_scale, fs::SeededNoise({1, 2}), kShape, torch::kCPU);
  EXPECT_TRUE(flowgrpo::testing::all_close(a.latents.select(1, 0), ode_prefix, 1e-5));
}

TEST(Rollout, NoiseLevelZeroIsTheEulerOde) {
  flowgrpo::testing::GaussianVelocity model(0.3, 0.8);
  torch::NoGradGuard no_grad;
  const auto schedule = fs::sd3_schedule(10);
  auto options = sde_options(1.0);
  options.noise_level = 0.0;
  const auto sde =
      fs::sample_rollout(model, {}, {}, schedule, options, fs::SeededNoise({1, 2}), kShape, torch::kCPU);
  const auto ode = fs::sample_ode(model, {}, {}, schedule, 1.0, fs::SeededNoise({1, 2}), kShape, torch::kCPU);
  EXPECT_TRUE(torch::equal(sde.final_latents, ode));
}

TEST(Rollout, GuidanceCombinesBranchesAsTheSd3Pipeline) {
  flowgrpo::testing::GaussianVelocity model(0.0, 1.0);
  const auto x = torch::randn({2, 1, 2, 2});
  const auto t = torch::full({2}, 500.0f);
  fs::Conditioning pos{{}, torch::tensor({{1.0f}, {2.0f}})};
  fs::Conditioning neg{{}, torch::tensor({{0.0f}, {0.0f}})};
  const auto v = fs::guided_velocity(model, x, t, pos, neg, 4.5);
  const auto vc = model.forward(x, t, pos);
  const auto vu = model.forward(x, t, neg);
  EXPECT_TRUE(flowgrpo::testing::all_close(v, vu + 4.5 * (vc - vu), 1e-6));
  // g <= 1: a single conditional pass.
  const int before = model.calls();
  fs::guided_velocity(model, x, t, pos, neg, 1.0);
  EXPECT_EQ(model.calls(), before + 1);
  EXPECT_THROW(fs::guided_velocity(model, x, t, pos, fs::Conditioning{{}, torch::zeros({3, 1})}, 4.5),
               std::invalid_argument);
}

TEST(SdeWindow, DrawsStartUniformlyInsideTheRange) {
  std::mt19937_64 rng(0);
  std::set<int64_t> starts;
  for (int i = 0; i < 200; ++i) {
    const auto w = fs::draw_sde_window(10, 3, 0, 5, rng);
    EXPECT_EQ(w.size, 3);
    EXPECT_GE(w.start, 0);
    EXPECT_LE(w.end(), 5);
    starts.insert(w.start);
  }
  EXPECT_EQ(starts, (std::set<int64_t>{0, 1, 2}));
  EXPECT_EQ(fs::draw_sde_window(10, 0, 0, 5, rng).size, 10);
  EXPECT_THROW(fs::draw_sde_window(10, 6, 0, 5, rng), std::invalid_argument);
  EXPECT_EQ(fs::num_train_timesteps(fs::SdeWindow::full(10), 10, 0.99), 9);
  EXPECT_EQ(fs::num_train_timesteps(fs::SdeWindow{1, 3}, 10, 0.99), 3);
}
