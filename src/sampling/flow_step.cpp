#include "flowgrpo/sampling/flow_step.h"

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace flowgrpo::sampling {

namespace {

std::string shape_of(const torch::Tensor& t) {
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}

// σ as [B,1,...,1] (or [1,1,...,1]) float32 so it broadcasts over a sample of rank `ndim`.
torch::Tensor per_sample(const torch::Tensor& sigma, int64_t batch, int64_t ndim, const char* name) {
  if (!sigma.defined()) throw std::invalid_argument(std::string("flow_step: ") + name + " is undefined");
  auto s = sigma.to(torch::kFloat).flatten();
  if (s.numel() != 1 && s.numel() != batch)
    throw std::invalid_argument(std::string("flow_step: ") + name + " must have 1 or " +
                                std::to_string(batch) + " elements (one per sample), found " +
                                std::to_string(s.numel()));
  std::vector<int64_t> shape(static_cast<size_t>(ndim), 1);
  shape[0] = s.numel();
  return s.view(shape);
}

void check_same_shape(const torch::Tensor& a, const torch::Tensor& b, const char* name_a,
                      const char* name_b) {
  if (a.sizes() != b.sizes())
    throw std::invalid_argument(std::string("flow_step: ") + name_a + " " + shape_of(a) + " and " + name_b +
                                " " + shape_of(b) + " must have the same shape");
}

}  // namespace

std::string to_string(SdeType type) {
  return type == SdeType::kCps ? "cps" : "sde";
}

SdeType parse_sde_type(std::string_view name) {
  if (name == "sde") return SdeType::kSde;
  if (name == "cps") return SdeType::kCps;
  throw std::invalid_argument("unknown SDE type '" + std::string(name) + "' (expected one of: sde, cps)");
}

torch::Tensor euler_step(const torch::Tensor& model_output, const torch::Tensor& sample,
                         const torch::Tensor& sigma, const torch::Tensor& sigma_next) {
  check_same_shape(model_output, sample, "model_output", "sample");
  const auto ndim = sample.dim();
  auto dt = per_sample(sigma_next, sample.size(0), ndim, "sigma_next") -
            per_sample(sigma, sample.size(0), ndim, "sigma");
  auto prev = sample.to(torch::kFloat) + dt * model_output;
  return prev.to(model_output.scalar_type());
}

StepOutput flow_step(SdeType type, const torch::Tensor& model_output_in, const torch::Tensor& sample_in,
                     const torch::Tensor& sigma_in, const torch::Tensor& sigma_next_in, double sigma_max,
                     double noise_level, const torch::Tensor& noise, const torch::Tensor& prev_sample_in) {
  check_same_shape(model_output_in, sample_in, "model_output", "sample");
  if (sample_in.dim() < 2)
    throw std::invalid_argument("flow_step: sample must be batched [B,...], found shape " +
                                shape_of(sample_in));
  const bool draw = !prev_sample_in.defined();
  if (draw && !noise.defined())
    throw std::invalid_argument(
        "flow_step: either noise (to draw x') or prev_sample (to score it) is required");
  if (draw)
    check_same_shape(noise, sample_in, "noise", "sample");
  else
    check_same_shape(prev_sample_in, sample_in, "prev_sample", "sample");

  // bf16/fp16 overflow in the mean: everything below is float32 (reference comment).
  const auto model_output = model_output_in.to(torch::kFloat);
  const auto sample = sample_in.to(torch::kFloat);
  const int64_t batch = sample.size(0);
  const int64_t ndim = sample.dim();
  const auto sigma = per_sample(sigma_in, batch, ndim, "sigma");
  const auto sigma_prev = per_sample(sigma_next_in, batch, ndim, "sigma_next");
  const auto dt = sigma_prev - sigma;

  StepOutput out;
  torch::Tensor prev_sample;
  torch::Tensor log_prob;
  if (type == SdeType::kSde) {
    // std_dev_t = sqrt(σ / (1 − (σ == 1 ? σ_max : σ))) · a — σ = 1 would divide by zero.
    const auto denom_sigma =
        torch::where(sigma == 1, torch::full_like(sigma, static_cast<float>(sigma_max)), sigma);
    const auto std_dev_t = torch::sqrt(sigma / (1 - denom_sigma)) * noise_level;
    const auto var_term = std_dev_t.pow(2);
    const auto mean = sample * (1 + var_term / (2 * sigma) * dt) +
                      model_output * (1 + var_term * (1 - sigma) / (2 * sigma)) * dt;
    const auto sqrt_neg_dt = torch::sqrt(-1 * dt);
    prev_sample =
        draw ? mean + std_dev_t * sqrt_neg_dt * noise.to(torch::kFloat) : prev_sample_in.to(torch::kFloat);
    const auto scale = std_dev_t * sqrt_neg_dt;
    // log sqrt(2π) as the reference evaluates it: on a float32 tensor.
    const auto log_sqrt_2pi = torch::log(torch::sqrt(2 * torch::full({}, static_cast<float>(M_PI))));
    log_prob = -(prev_sample.detach() - mean).pow(2) / (2 * scale.pow(2)) - torch::log(scale) - log_sqrt_2pi;
    out.prev_sample_mean = mean;
    out.std_dev_t = std_dev_t;
  } else {
    const double s = std::sin(noise_level * M_PI / 2);
    const auto std_dev_t = sigma_prev * s;
    const auto pred_original_sample = sample - sigma * model_output;  // x̂0
    const auto noise_estimate = sample + model_output * (1 - sigma);  // x̂1
    const auto mean = pred_original_sample * (1 - sigma_prev) +
                      noise_estimate * torch::sqrt(sigma_prev.pow(2) - std_dev_t.pow(2));
    prev_sample = draw ? mean + std_dev_t * noise.to(torch::kFloat) : prev_sample_in.to(torch::kFloat);
    log_prob = -(prev_sample.detach() - mean).pow(2);  // all constants dropped, as the reference
    out.prev_sample_mean = mean;
    out.std_dev_t = std_dev_t;
  }
  std::vector<int64_t> reduce_dims;
  for (int64_t d = 1; d < log_prob.dim(); ++d) reduce_dims.push_back(d);
  out.log_prob = log_prob.mean(reduce_dims);
  out.prev_sample = prev_sample;
  return out;
}

}  // namespace flowgrpo::sampling
