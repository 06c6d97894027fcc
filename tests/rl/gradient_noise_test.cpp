#include "flowgrpo/rl/gradient_noise.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <stdexcept>
#include <vector>

namespace rl = flowgrpo::rl;

namespace {

// Adds `weight * g` to the gradient of one parameter, as a scaled backward pass would.
void accumulate(torch::Tensor& p, const torch::Tensor& g, double weight) {
  if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
  p.mutable_grad().add_(g * weight);
}

}  // namespace

TEST(GradientNoise, TwoMicroBatchesByHand) {
  std::vector<torch::Tensor> params{torch::zeros({2}).requires_grad_(true)};
  {
    // Orthogonal unit gradients: no common direction, all noise.
    rl::GradientNoiseEstimator est;
    accumulate(params[0], torch::tensor({1.0f, 0.0f}), 1.0);
    est.end_micro_batch(params, 3);
    accumulate(params[0], torch::tensor({0.0f, 1.0f}), 1.0);
    est.end_micro_batch(params, 3);
    const auto e = est.end_step();
    ASSERT_TRUE(e.has_value());
    EXPECT_NEAR(e->grad_sq, 0.0, 1e-12);  // (|(1,1)|² − 2) / 2
    EXPECT_NEAR(e->trace, 3.0, 1e-12);    // 3 · (1 − 0)
  }
  params[0].mutable_grad().zero_();
  {
    // Identical gradients, accumulated at weight 1/2: all signal, in unscaled units.
    rl::GradientNoiseEstimator est(0.5);
    accumulate(params[0], torch::tensor({2.0f, 0.0f}), 0.5);
    est.end_micro_batch(params, 4);
    accumulate(params[0], torch::tensor({2.0f, 0.0f}), 0.5);
    est.end_micro_batch(params, 4);
    const auto e = est.end_step();
    ASSERT_TRUE(e.has_value());
    EXPECT_NEAR(e->grad_sq, 4.0, 1e-9);
    EXPECT_NEAR(e->trace, 0.0, 1e-9);
  }
}

TEST(GradientNoise, RecoversSignalAndNoiseOfSyntheticGradients) {
  // Micro-batch gradients g = G + noise/sqrt(n), noise ~ N(0, s² I): |G|² = d·0.05²,
  // tr Σ = s²·d. One step's |G|² estimate has a standard deviation near 1 here; averaged
  // over 2000 steps the estimates converge to both (a few per cent).
  const int64_t d = 200, n = 8, m = 4, steps = 2000;
  const double s = 1.0, weight = 1.0 / m;
  const auto G = torch::full({d}, 0.05);
  const double true_grad_sq = G.pow(2).sum().item<double>();  // 0.5
  const double true_trace = s * s * static_cast<double>(d);   // 200 → B = 400 images
  std::vector<torch::Tensor> params{torch::zeros({d}).requires_grad_(true)};
  rl::GradientNoiseEstimator est(weight);
  auto gen = at::detail::createCPUGenerator(7);
  double sum_grad_sq = 0, sum_trace = 0;
  for (int64_t k = 0; k < steps; ++k) {
    params[0].mutable_grad() = torch::zeros({d});
    for (int64_t j = 0; j < m; ++j) {
      const auto g = G + torch::randn({d}, gen) * (s / std::sqrt(static_cast<double>(n)));
      accumulate(params[0], g, weight);
      est.end_micro_batch(params, n);
    }
    const auto e = est.end_step();
    ASSERT_TRUE(e.has_value());
    sum_grad_sq += e->grad_sq;
    sum_trace += e->trace;
  }
  const double grad_sq = sum_grad_sq / steps, trace = sum_trace / steps;
  EXPECT_NEAR(grad_sq, true_grad_sq, 0.1 * true_grad_sq);
  EXPECT_NEAR(trace, true_trace, 0.05 * true_trace);
  const auto b = rl::gradient_noise_scale(trace, grad_sq);
  ASSERT_TRUE(b.has_value());
  EXPECT_NEAR(*b, true_trace / true_grad_sq, 0.15 * true_trace / true_grad_sq);
}

TEST(GradientNoise, MicroBatchesOfUnequalWeight) {
  // Micro-batches weighted by their sizes (the trainer's whole-group micro-batches):
  // each is unscaled by its own weight before the estimate.
  std::vector<torch::Tensor> params{torch::zeros({2}).requires_grad_(true)};
  rl::GradientNoiseEstimator est(0.5);
  accumulate(params[0], torch::tensor({2.0f, 0.0f}), 0.25);
  est.end_micro_batch(params, 2, 0.25);
  accumulate(params[0], torch::tensor({2.0f, 0.0f}), 0.75);
  est.end_micro_batch(params, 6, 0.75);
  const auto e = est.end_step();
  ASSERT_TRUE(e.has_value());
  EXPECT_NEAR(e->grad_sq, 4.0, 1e-6);
  EXPECT_NEAR(e->trace, 0.0, 1e-5);
  EXPECT_THROW(est.end_micro_batch(params, 2, 0.0), std::invalid_argument);
  EXPECT_THROW(est.end_micro_batch(params, 2, std::nan("")), std::invalid_argument);
}

TEST(GradientNoise, GroupsSplitAcrossMicroBatchesBiasTheSignalHigh) {
  // Per-image gradients G + u_group + e_image: the images of a group share u (as GRPO
  // groups share a prompt and, with same_latent, an initial noise). With micro-batches
  // of whole groups the pairwise products are independent and |G|² comes out right;
  // with every group split over all micro-batches they share the groups' mean u and
  // |G|² is biased high by |ū|² (B biased low) — the trainer's random shuffle, at its
  // worst. The whole-group noise is per group: tr Σ = k (c² d + s² d / k).
  const int64_t d = 200, k = 8, groups = 4, steps = 2000;
  const double c = 0.5, s = 1.0, weight = 1.0 / groups;
  const auto G = torch::full({d}, 0.05);
  const double true_grad_sq = G.pow(2).sum().item<double>();  // 0.5
  auto gen = at::detail::createCPUGenerator(11);
  double whole_sq = 0, whole_trace = 0, mixed_sq = 0;
  for (int64_t step = 0; step < steps; ++step) {
    std::vector<torch::Tensor> images;  // [groups][k] gradients
    for (int64_t g = 0; g < groups; ++g) {
      const auto u = torch::randn({d}, gen) * c;
      for (int64_t i = 0; i < k; ++i) images.push_back(G + u + torch::randn({d}, gen) * s);
    }
    for (const bool whole : {true, false}) {
      std::vector<torch::Tensor> params{torch::zeros({d}).requires_grad_(true)};
      params[0].mutable_grad() = torch::zeros({d});
      rl::GradientNoiseEstimator est(weight);
      for (int64_t mb = 0; mb < groups; ++mb) {
        std::vector<torch::Tensor> members;
        for (int64_t i = 0; i < k; ++i)
          // whole: micro-batch mb is group mb; mixed: two images of every group.
          members.push_back(whole ? images[static_cast<size_t>(mb * k + i)]
                                  : images[static_cast<size_t>((i % groups) * k + 2 * mb + i / groups)]);
        accumulate(params[0], torch::stack(members).mean(0), weight);
        est.end_micro_batch(params, k);
      }
      const auto e = est.end_step();
      ASSERT_TRUE(e.has_value());
      (whole ? whole_sq : mixed_sq) += e->grad_sq / steps;
      if (whole) whole_trace += e->trace / steps;
    }
  }
  const double true_trace = static_cast<double>(k) * (c * c * d + s * s * d / k);  // 600
  EXPECT_NEAR(whole_sq, true_grad_sq, 0.15 * true_grad_sq);
  EXPECT_NEAR(whole_trace, true_trace, 0.05 * true_trace);
  EXPECT_GT(mixed_sq, 10 * true_grad_sq);  // |G|² + c² d / groups = 13
}

TEST(GradientNoise, NeedsTwoMicroBatches) {
  std::vector<torch::Tensor> params{torch::zeros({3}).requires_grad_(true)};
  rl::GradientNoiseEstimator est;
  accumulate(params[0], torch::ones({3}), 1.0);
  est.end_micro_batch(params, 2);
  EXPECT_FALSE(est.end_step().has_value());  // one micro-batch: no pair
  EXPECT_EQ(est.micro_batches(), 0);
  params[0].mutable_grad().zero_();
  // Micro-batches of different sizes: |g1|² = 3, |g2|² = 3, g1·g2 = 3 → |G|² = 3, tr Σ = 0.
  accumulate(params[0], torch::ones({3}), 1.0);
  est.end_micro_batch(params, 2);
  accumulate(params[0], torch::ones({3}), 1.0);
  est.end_micro_batch(params, 5);
  const auto mixed = est.end_step();
  ASSERT_TRUE(mixed.has_value());
  EXPECT_NEAR(mixed->grad_sq, 3.0, 1e-9);
  EXPECT_NEAR(mixed->trace, 0.0, 1e-9);
  EXPECT_FALSE(rl::gradient_noise_scale(10.0, 0.0).has_value());
  EXPECT_FALSE(rl::gradient_noise_scale(10.0, -1e-3).has_value());
  EXPECT_DOUBLE_EQ(*rl::gradient_noise_scale(10.0, 0.5), 20.0);
}

TEST(GradientNoise, BadInputIsNamed) {
  EXPECT_THROW(rl::GradientNoiseEstimator(0.0), std::invalid_argument);
  std::vector<torch::Tensor> params{torch::zeros({3}).requires_grad_(true)};
  rl::GradientNoiseEstimator est;
  EXPECT_THROW(est.end_micro_batch(params, 0), std::invalid_argument);
  est.end_micro_batch(params, 1);
  std::vector<torch::Tensor> other{torch::zeros({4}).requires_grad_(true)};
  try {
    est.end_micro_batch(other, 1);
    FAIL() << "a changed parameter list must be refused";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("4 gradient values, earlier 3"), std::string::npos) << e.what();
  }
}
