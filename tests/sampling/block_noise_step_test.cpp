// flow_step with noise_block > 1 (sample.sde_noise_block): the SDE step in the subspace
// of latents constant on b×b blocks of each channel, the ODE in its complement.
#include "flowgrpo/sampling/flow_step.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

namespace fs = flowgrpo::sampling;

namespace {

torch::Tensor block_mean(const torch::Tensor& x, int64_t b) {
  return torch::avg_pool2d(x, {b, b}).repeat_interleave(b, 2).repeat_interleave(b, 3);
}

struct Case {
  torch::Tensor v, x, noise, sigma, sigma_next;
};

Case make_case(uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  return {torch::randn({3, 2, 4, 6}, gen), torch::randn({3, 2, 4, 6}, gen), torch::randn({3, 2, 4, 6}, gen),
          torch::tensor({1.0f, 0.7f, 0.3f}), torch::tensor({0.9f, 0.6f, 0.2f})};
}

}  // namespace

TEST(BlockNoiseStep, SdeInTheBlockSubspaceOdeInItsComplement) {
  const auto c = make_case(1);
  const int64_t b = 2;
  const double a = 0.7, sigma_max = 0.95;
  const auto full = fs::flow_step(fs::SdeType::kSde, c.v, c.x, c.sigma, c.sigma_next, sigma_max, a, c.noise);
  const auto euler = fs::euler_step(c.v, c.x, c.sigma, c.sigma_next);
  const auto out = fs::flow_step(fs::SdeType::kSde, c.v, c.x, c.sigma, c.sigma_next, sigma_max, a, c.noise, {}, b);
  // The mean: the full SDE's in the subspace, Euler's in the complement.
  EXPECT_TRUE(torch::allclose(block_mean(out.prev_sample_mean, b), block_mean(full.prev_sample_mean, b), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(out.prev_sample_mean - block_mean(out.prev_sample_mean, b),
                              euler - block_mean(euler, b), 1e-5, 1e-6));
  // The noise lies in the subspace, with the full step's scale.
  const auto step_noise = out.prev_sample - out.prev_sample_mean;
  EXPECT_TRUE(torch::allclose(step_noise, block_mean(step_noise, b), 1e-5, 1e-6));
  const auto dt = (c.sigma - c.sigma_next).view({3, 1, 1, 1});
  const auto scale = full.std_dev_t * torch::sqrt(dt);
  EXPECT_TRUE(torch::allclose(step_noise, scale * block_mean(c.noise, b), 1e-5, 1e-6));
  // log p: standard-normal subspace coordinates b·(block mean of ε), 2·2·3 = 12 per sample.
  const auto coords = torch::avg_pool2d(c.noise, {b, b}) * static_cast<double>(b);
  const auto expected = (-coords.pow(2) / 2 - torch::log(scale) - 0.5 * std::log(2 * M_PI)).mean({1, 2, 3});
  EXPECT_TRUE(torch::allclose(out.log_prob, expected, 1e-4, 1e-5)) << out.log_prob << expected;
  // Scoring the drawn sample gives back its log-probability.
  const auto scored = fs::flow_step(fs::SdeType::kSde, c.v, c.x, c.sigma, c.sigma_next, sigma_max, a, {},
                                    out.prev_sample, b);
  EXPECT_TRUE(torch::allclose(scored.log_prob, out.log_prob, 1e-4, 1e-5));
  // Off-subspace differences in x' are not scored (the complement is deterministic).
  const auto off = torch::randn({3, 2, 4, 6});
  const auto rescored = fs::flow_step(fs::SdeType::kSde, c.v, c.x, c.sigma, c.sigma_next, sigma_max, a, {},
                                      out.prev_sample + off - block_mean(off, b), b);
  EXPECT_TRUE(torch::allclose(rescored.log_prob, out.log_prob, 1e-4, 1e-5));
}

TEST(BlockNoiseStep, BlockOfOneIsTheReferenceStepAndTheMeanIsDifferentiable) {
  const auto c = make_case(2);
  const auto ref = fs::flow_step(fs::SdeType::kSde, c.v, c.x, c.sigma, c.sigma_next, 0.95, 0.7, c.noise);
  const auto one = fs::flow_step(fs::SdeType::kSde, c.v, c.x, c.sigma, c.sigma_next, 0.95, 0.7, c.noise, {}, 1);
  EXPECT_TRUE(torch::equal(ref.prev_sample, one.prev_sample));
  EXPECT_TRUE(torch::equal(ref.log_prob, one.log_prob));
  auto v = c.v.clone().requires_grad_(true);
  const auto out = fs::flow_step(fs::SdeType::kCps, v, c.x, c.sigma, c.sigma_next, 0.95, 0.5, {}, c.x, 2);
  out.log_prob.sum().backward();
  ASSERT_TRUE(v.grad().defined());
  EXPECT_GT(v.grad().abs().sum().item<double>(), 0.0);
}

TEST(BlockNoiseStep, BadBlockIsNamed) {
  const auto c = make_case(3);
  EXPECT_THROW(fs::flow_step(fs::SdeType::kSde, c.v, c.x, c.sigma, c.sigma_next, 0.95, 0.7, c.noise, {}, 0),
               std::invalid_argument);
  try {
    fs::flow_step(fs::SdeType::kSde, c.v, c.x, c.sigma, c.sigma_next, 0.95, 0.7, c.noise, {}, 4);  // 6 % 4
    FAIL() << "a block that does not divide the width must be refused";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("noise_block 4"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[3, 2, 4, 6]"), std::string::npos) << e.what();
  }
}
