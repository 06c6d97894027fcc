#include "flowgrpo/rl/grpo_loss.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "flowgrpo/rl/metrics.h"
#include "support/test_support.h"

namespace rl = flowgrpo::rl;
using flowgrpo::testing::all_close;

namespace {

using flowgrpo::testing::f64;

// Six samples with ε = 0.2 covering every case of the clipped objective:
//   A > 0, r > 1+ε (clipped term wins)   A > 0, r < 1−ε (unclipped wins)
//   A < 0, r > 1+ε (unclipped wins)      A < 0, r < 1−ε (clipped term wins)
//   A > 0, r inside                      A < 0, r inside
const std::vector<double> kRatios = {1.5, 0.5, 1.5, 0.5, 1.1, 0.9};
const std::vector<double> kAdvantages = {1, 1, -1, -1, 2, -0.5};
constexpr double kEps = 0.2;

rl::GrpoLossInputs policy_inputs(const torch::Tensor& log_prob) {
  rl::GrpoLossInputs in;
  in.log_prob = log_prob;
  in.old_log_prob = torch::zeros_like(log_prob);
  in.advantages = f64(kAdvantages);
  return in;
}

torch::Tensor ratio_log_probs() {
  return torch::log(f64(kRatios));
}

}  // namespace

TEST(GrpoLoss, PolicyLossMatchesHandComputation) {
  const auto out = rl::grpo_loss(policy_inputs(ratio_log_probs()), {kEps, 0.0});
  // max(−A·r, −A·clamp(r, 0.8, 1.2)) per sample:
  //   max(−1.5, −1.2) = −1.2;  max(−0.5, −0.8) = −0.5;  max(1.5, 1.2) = 1.5;
  //   max(0.5, 0.8) = 0.8;     −2·1.1 = −2.2;           0.5·0.9 = 0.45.
  const double expected = (-1.2 - 0.5 + 1.5 + 0.8 - 2.2 + 0.45) / 6;
  EXPECT_NEAR(out.policy_loss.item<double>(), expected, 1e-12);
  EXPECT_NEAR(out.loss.item<double>(), expected, 1e-12);
  EXPECT_FALSE(out.kl_loss.defined());
  EXPECT_TRUE(all_close(out.ratio, f64(kRatios), 1e-12));
}

TEST(GrpoLoss, ClipFractionsAndApproxKl) {
  const auto out = rl::grpo_loss(policy_inputs(ratio_log_probs()), {kEps, 0.0});
  EXPECT_NEAR(out.metrics.clipfrac.item<double>(), 4.0 / 6, 1e-6);
  EXPECT_NEAR(out.metrics.clipfrac_gt_one.item<double>(), 2.0 / 6, 1e-6);
  EXPECT_NEAR(out.metrics.clipfrac_lt_one.item<double>(), 2.0 / 6, 1e-6);
  double sq = 0;
  for (double r : kRatios) sq += std::log(r) * std::log(r);
  EXPECT_NEAR(out.metrics.approx_kl.item<double>(), 0.5 * sq / 6, 1e-6);
  EXPECT_EQ(out.metrics.approx_kl.dim(), 0);
  EXPECT_FALSE(out.metrics.clipfrac.requires_grad());
}

TEST(GrpoLoss, PolicyGradientIsZeroWhereTheClippedTermWins) {
  auto lp = ratio_log_probs().requires_grad_(true);
  const auto out = rl::grpo_loss(policy_inputs(lp), {kEps, 0.0});
  const auto grad = torch::autograd::grad({out.policy_loss}, {lp})[0];
  // d/dlogp of −A·r is −A·r; zero where the clamp is active in the max. Inside the clip
  // range the two terms tie and torch.maximum splits the gradient, summing to −A·r.
  const std::vector<double> g = {0.0, -0.5, 1.5, 0.0, -2.2, 0.45};
  EXPECT_TRUE(all_close(grad, f64(g) / 6, 1e-12));
}

TEST(GrpoLoss, PolicyGradientMatchesCentralFiniteDifferences) {
  auto lp = ratio_log_probs().requires_grad_(true);
  const auto out = rl::grpo_loss(policy_inputs(lp), {kEps, 0.0});
  const auto grad = torch::autograd::grad({out.policy_loss}, {lp})[0];
  const double h = 1e-6;
  for (int64_t i = 0; i < lp.size(0); ++i) {
    auto plus = ratio_log_probs(), minus = ratio_log_probs();
    plus[i] += h;
    minus[i] -= h;
    const double fd = (rl::grpo_loss(policy_inputs(plus), {kEps, 0.0}).policy_loss.item<double>() -
                       rl::grpo_loss(policy_inputs(minus), {kEps, 0.0}).policy_loss.item<double>()) /
                      (2 * h);
    EXPECT_NEAR(grad[i].item<double>(), fd, 1e-8) << "sample " << i;
  }
}

TEST(GrpoLoss, OnPolicyRatioIsExactlyOne) {
  // Realistic float32 log-probs; the advantages are the tracker's float64.
  const auto lp = torch::tensor({-1.2345f, 0.75f, -3.5f, 2.25f}).requires_grad_(true);
  rl::GrpoLossInputs in;
  in.log_prob = lp;
  in.old_log_prob = lp.detach().clone();
  in.advantages = f64({0.3, -1.7, 2.2, -0.1});
  const auto out = rl::grpo_loss(in, {1e-4, 0.0});
  EXPECT_TRUE(torch::equal(out.ratio.detach(), torch::ones({4})));
  EXPECT_EQ(out.policy_loss.item<double>(), -in.advantages.mean().item<double>());
  EXPECT_EQ(out.metrics.clipfrac.item<double>(), 0.0);
  EXPECT_EQ(out.metrics.clipfrac_gt_one.item<double>(), 0.0);
  EXPECT_EQ(out.metrics.clipfrac_lt_one.item<double>(), 0.0);
  EXPECT_EQ(out.metrics.approx_kl.item<double>(), 0.0);
  // The on-policy gradient is the plain policy gradient −A/B.
  const auto grad = torch::autograd::grad({out.loss}, {lp})[0];
  EXPECT_TRUE(all_close(grad.to(torch::kDouble), -in.advantages / 4, 1e-7));
}

namespace {

struct KlCase {
  torch::Tensor mean, ref, std_dev_t;
};

KlCase kl_case() {
  torch::manual_seed(3);
  return {torch::randn({3, 2, 4, 5}, torch::kDouble), torch::randn({3, 2, 4, 5}, torch::kDouble),
          f64({0.7, 1.3, 2.1}).reshape({3, 1, 1, 1})};
}

double kl_by_hand(const KlCase& c) {
  double total = 0;
  for (int64_t b = 0; b < 3; ++b) {
    const double sq = (c.mean[b] - c.ref[b]).pow(2).mean().item<double>();
    const double s = c.std_dev_t[b].item<double>();
    total += sq / (2 * s * s);
  }
  return total / 3;
}

rl::GrpoLossInputs kl_inputs(const KlCase& c, const torch::Tensor& mean) {
  rl::GrpoLossInputs in;
  in.log_prob = f64({0.01, -0.02, 0.0});
  in.old_log_prob = torch::zeros({3}, torch::kDouble);
  in.advantages = f64({1.0, -1.0, 0.5});
  in.prev_sample_mean = mean;
  in.ref_prev_sample_mean = c.ref;
  in.std_dev_t = c.std_dev_t;
  return in;
}

}  // namespace

TEST(GrpoLoss, KlTermMatchesHandComputationWithoutDt) {
  const auto c = kl_case();
  const double beta = 0.04;
  const auto out = rl::grpo_loss(kl_inputs(c, c.mean), {0.2, beta});
  ASSERT_TRUE(out.kl_loss.defined());
  EXPECT_NEAR(out.kl_loss.item<double>(), kl_by_hand(c), 1e-12);
  EXPECT_NEAR(out.loss.item<double>(), out.policy_loss.item<double>() + beta * kl_by_hand(c), 1e-12);
  // std_dev_t as [B] or a shared scalar.
  auto in = kl_inputs(c, c.mean);
  in.std_dev_t = c.std_dev_t.reshape({3});
  EXPECT_NEAR(rl::grpo_loss(in, {0.2, beta}).kl_loss.item<double>(), kl_by_hand(c), 1e-12);
  KlCase shared = c;
  shared.std_dev_t = torch::full({3, 1, 1, 1}, 0.9, torch::kDouble);
  in.std_dev_t = torch::tensor(0.9, torch::kDouble);
  EXPECT_NEAR(rl::grpo_loss(in, {0.2, beta}).kl_loss.item<double>(), kl_by_hand(shared), 1e-12);
}

TEST(GrpoLoss, KlGradientMatchesAnalyticAndFiniteDifferences) {
  const auto c = kl_case();
  auto mean = c.mean.clone().requires_grad_(true);
  const auto out = rl::grpo_loss(kl_inputs(c, mean), {0.2, 0.1});
  const auto grad = torch::autograd::grad({out.kl_loss}, {mean})[0];
  // d/dμ mean_B[mean_CHW(μ − μref)² / (2σ²)] = (μ − μref) / (B · CHW · σ²)
  const auto analytic = (c.mean - c.ref) / (3.0 * 40.0 * c.std_dev_t.pow(2));
  EXPECT_TRUE(all_close(grad, analytic, 1e-12));
  const double h = 1e-6;
  for (int64_t flat : {0, 17, 45, 119}) {
    auto plus = c.mean.clone(), minus = c.mean.clone();
    plus.view({-1})[flat] += h;
    minus.view({-1})[flat] -= h;
    const double fd = (rl::grpo_loss(kl_inputs(c, plus), {0.2, 0.1}).kl_loss.item<double>() -
                       rl::grpo_loss(kl_inputs(c, minus), {0.2, 0.1}).kl_loss.item<double>()) /
                      (2 * h);
    EXPECT_NEAR(grad.view({-1})[flat].item<double>(), fd, 1e-9) << flat;
  }
  // The total loss carries β times that gradient and none flows into the reference.
  auto ref = c.ref.clone().requires_grad_(true);
  auto in = kl_inputs(c, mean);
  in.ref_prev_sample_mean = ref;
  const auto total = rl::grpo_loss(in, {0.2, 0.1});
  const auto g_total = torch::autograd::grad({total.loss}, {mean})[0];
  EXPECT_TRUE(all_close(g_total, 0.1 * analytic, 1e-12));
  EXPECT_FALSE(total.kl_loss.grad_fn() == nullptr);
}

TEST(GrpoLoss, KlAveragesOverAllNonBatchDims) {
  // Packed FLUX latents [B, L, C] and video latents [B, C, F, H, W] reduce the same way.
  torch::manual_seed(5);
  for (const auto& shape : {std::vector<int64_t>{2, 6, 4}, std::vector<int64_t>{2, 3, 2, 2, 2}}) {
    const auto m = torch::randn(shape, torch::kDouble), r = torch::randn(shape, torch::kDouble);
    rl::GrpoLossInputs in;
    in.log_prob = torch::zeros({2}, torch::kDouble);
    in.old_log_prob = torch::zeros({2}, torch::kDouble);
    in.advantages = torch::zeros({2}, torch::kDouble);
    in.prev_sample_mean = m;
    in.ref_prev_sample_mean = r;
    in.std_dev_t = f64({1.0, 2.0});
    const double expected =
        ((m[0] - r[0]).pow(2).mean().item<double>() / 2 + (m[1] - r[1]).pow(2).mean().item<double>() / 8) / 2;
    EXPECT_NEAR(rl::grpo_loss(in, {1e-4, 1.0}).kl_loss.item<double>(), expected, 1e-12);
  }
}

TEST(GrpoLoss, RejectsBadOptionsAndInputs) {
  const auto in = policy_inputs(ratio_log_probs());
  EXPECT_THROW(rl::grpo_loss(in, {0.0, 0.0}), std::invalid_argument);
  EXPECT_THROW(rl::grpo_loss(in, {-1e-4, 0.0}), std::invalid_argument);
  EXPECT_THROW(rl::grpo_loss(in, {1e-4, -0.1}), std::invalid_argument);
  EXPECT_THROW(rl::grpo_loss(in, {1e-4, std::nan("")}), std::invalid_argument);
  // β > 0 without the KL inputs.
  EXPECT_THROW(rl::grpo_loss(in, {1e-4, 0.04}), std::invalid_argument);
  auto bad = in;
  bad.advantages = f64({1, 2});
  EXPECT_THROW(rl::grpo_loss(bad, {1e-4, 0.0}), c10::Error);
  bad = in;
  bad.old_log_prob = torch::zeros({6, 1}, torch::kDouble);
  EXPECT_THROW(rl::grpo_loss(bad, {1e-4, 0.0}), c10::Error);
  const auto c = kl_case();
  auto kl = kl_inputs(c, c.mean);
  kl.ref_prev_sample_mean = c.ref.narrow(1, 0, 1);
  EXPECT_THROW(rl::grpo_loss(kl, {0.2, 0.1}), c10::Error);
  kl = kl_inputs(c, c.mean);
  kl.std_dev_t = f64({1.0, 2.0});
  EXPECT_THROW(rl::grpo_loss(kl, {0.2, 0.1}), c10::Error);
}

TEST(GrpoLoss, RecordsTheReferenceMetricNames) {
  rl::MetricAccumulator m;
  rl::record_grpo_metrics(rl::grpo_loss(policy_inputs(ratio_log_probs()), {kEps, 0.0}), m);
  EXPECT_EQ(m.names(), (std::vector<std::string>{"approx_kl", "clipfrac", "clipfrac_gt_one",
                                                 "clipfrac_lt_one", "loss", "policy_loss"}));
  const auto c = kl_case();
  rl::record_grpo_metrics(rl::grpo_loss(kl_inputs(c, c.mean), {0.2, 0.1}), m);
  EXPECT_EQ(m.count("kl_loss"), 1);
  EXPECT_EQ(m.count("loss"), 2);
  EXPECT_NEAR(m.mean("clipfrac"), (4.0 / 6 + 0.0) / 2, 1e-6);
}
