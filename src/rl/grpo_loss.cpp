#include "flowgrpo/rl/grpo_loss.h"

#include "flowgrpo/rl/metrics.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace flowgrpo::rl {

namespace {

void check_options(const GrpoLossOptions& o) {
  if (!std::isfinite(o.clip_range) || o.clip_range <= 0)
    throw std::invalid_argument("grpo_loss: clip_range must be a finite positive number, got " +
                                std::to_string(o.clip_range));
  if (!std::isfinite(o.beta) || o.beta < 0)
    throw std::invalid_argument("grpo_loss: beta must be finite and >= 0, got " + std::to_string(o.beta));
}

// L_kl = mean_B[ mean_{non-batch}(μθ − μref)² / (2·std_dev_t²) ]
// (train_sd3.py: ((prev_sample_mean - prev_sample_mean_ref) ** 2).mean(dim=(1,2,3), keepdim=True)
//  / (2 * std_dev_t ** 2), then torch.mean; no Δt, issue #78.)
torch::Tensor kl_term(const GrpoLossInputs& in, int64_t batch) {
  const auto& mean = in.prev_sample_mean;
  const auto ref = in.ref_prev_sample_mean.detach();
  TORCH_CHECK(mean.dim() >= 1 && mean.size(0) == batch, "grpo_loss: prev_sample_mean must be [", batch,
              ", ...], got ", mean.sizes());
  TORCH_CHECK(ref.sizes() == mean.sizes(), "grpo_loss: ref_prev_sample_mean ", ref.sizes(),
              " must match prev_sample_mean ", mean.sizes());
  TORCH_CHECK(in.std_dev_t.numel() == batch || in.std_dev_t.numel() == 1, "grpo_loss: std_dev_t must hold ",
              batch, " elements or one, got ", in.std_dev_t.sizes());
  if (in.std_dev_t.numel() == batch && in.std_dev_t.dim() > 0)
    TORCH_CHECK(in.std_dev_t.size(0) == batch, "grpo_loss: std_dev_t must be [", batch, "] or [", batch,
                ",1,...], got ", in.std_dev_t.sizes());
  auto sq = (mean - ref).pow(2);
  if (sq.dim() > 1) {
    std::vector<int64_t> dims;
    for (int64_t d = 1; d < sq.dim(); ++d) dims.push_back(d);
    sq = sq.mean(dims);
  }
  const auto std_b = in.std_dev_t.numel() == 1 ? in.std_dev_t.reshape({}) : in.std_dev_t.reshape({batch});
  return (sq / (2 * std_b.pow(2))).mean();
}

}  // namespace

GrpoLossOutput grpo_loss(const GrpoLossInputs& in, const GrpoLossOptions& options) {
  check_options(options);
  TORCH_CHECK(in.log_prob.defined() && in.old_log_prob.defined() && in.advantages.defined(),
              "grpo_loss: log_prob, old_log_prob and advantages are required");
  TORCH_CHECK(in.log_prob.dim() == 1 && in.log_prob.size(0) > 0,
              "grpo_loss: log_prob must be [B] with B > 0, got ", in.log_prob.sizes());
  const int64_t batch = in.log_prob.size(0);
  TORCH_CHECK(in.old_log_prob.sizes() == in.log_prob.sizes(), "grpo_loss: old_log_prob ",
              in.old_log_prob.sizes(), " must match log_prob ", in.log_prob.sizes());
  TORCH_CHECK(in.advantages.sizes() == in.log_prob.sizes(), "grpo_loss: advantages ", in.advantages.sizes(),
              " must match log_prob ", in.log_prob.sizes());
  if (options.beta > 0 &&
      (!in.prev_sample_mean.defined() || !in.ref_prev_sample_mean.defined() || !in.std_dev_t.defined()))
    throw std::invalid_argument(
        "grpo_loss: beta > 0 needs prev_sample_mean, ref_prev_sample_mean and std_dev_t");

  const double eps = options.clip_range;
  const auto old_log_prob = in.old_log_prob.detach();
  const auto advantages = in.advantages.detach();

  GrpoLossOutput out;
  // train_sd3.py: ratio = exp(log_prob - old_log_prob);
  // policy_loss = mean(maximum(-A * ratio, -A * clamp(ratio, 1 - eps, 1 + eps)))
  out.ratio = torch::exp(in.log_prob - old_log_prob);
  const auto unclipped = -advantages * out.ratio;
  const auto clipped = -advantages * torch::clamp(out.ratio, 1.0 - eps, 1.0 + eps);
  out.policy_loss = torch::maximum(unclipped, clipped).mean();
  if (options.beta > 0) {
    out.kl_loss = kl_term(in, batch);
    out.loss = out.policy_loss + options.beta * out.kl_loss;
  } else {
    out.loss = out.policy_loss;
  }

  {
    torch::NoGradGuard no_grad;
    const auto delta = in.log_prob.detach() - old_log_prob;
    const auto r = out.ratio.detach();
    // train_sd3.py `info`: approx_kl, clipfrac, clipfrac_gt_one, clipfrac_lt_one.
    out.metrics.approx_kl = (0.5 * delta.pow(2).mean()).to(torch::kFloat);
    out.metrics.clipfrac = ((r - 1.0).abs() > eps).to(torch::kFloat).mean();
    out.metrics.clipfrac_gt_one = ((r - 1.0) > eps).to(torch::kFloat).mean();
    out.metrics.clipfrac_lt_one = ((1.0 - r) > eps).to(torch::kFloat).mean();
  }
  return out;
}

void record_grpo_metrics(const GrpoLossOutput& output, MetricAccumulator& metrics, int64_t weight) {
  metrics.add("loss", output.loss.detach(), weight);
  metrics.add("policy_loss", output.policy_loss.detach(), weight);
  if (output.kl_loss.defined()) metrics.add("kl_loss", output.kl_loss.detach(), weight);
  metrics.add("approx_kl", output.metrics.approx_kl, weight);
  metrics.add("clipfrac", output.metrics.clipfrac, weight);
  metrics.add("clipfrac_gt_one", output.metrics.clipfrac_gt_one, weight);
  metrics.add("clipfrac_lt_one", output.metrics.clipfrac_lt_one, weight);
}

std::vector<std::string> grpo_metric_names(bool with_kl) {
  std::vector<std::string> names{"loss",     "policy_loss",     "approx_kl",
                                 "clipfrac", "clipfrac_gt_one", "clipfrac_lt_one"};
  if (with_kl) names.insert(names.begin() + 2, "kl_loss");
  return names;
}

}  // namespace flowgrpo::rl
