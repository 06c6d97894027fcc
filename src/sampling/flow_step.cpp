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

// flow_step with noise in the block-constant subspace (noise_block > 1), defined below.
StepOutput block_noise_step(SdeType type, const torch::Tensor& model_output_in, const torch::Tensor& sample_in,
                            const torch::Tensor& sigma_in, const torch::Tensor& sigma_next_in, double sigma_max,
                            double noise_level, const torch::Tensor& noise, const torch::Tensor& prev_sample_in,
                            int64_t b);

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
                     double noise_level, const torch::Tensor& noise, const torch::Tensor& prev_sample_in,
                     int64_t noise_block) {
  check_same_shape(model_output_in, sample_in, "model_output", "sample");
  if (noise_block < 1)
    throw std::invalid_argument("flow_step: noise_block must be >= 1, got " + std::to_string(noise_block));
  if (noise_block > 1)
    return block_noise_step(type, model_output_in, sample_in, sigma_in, sigma_next_in, sigma_max, noise_level,
                            noise, prev_sample_in, noise_block);
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

namespace {

// The orthogonal projection onto latents that are constant on b×b blocks of each
// channel: each block replaced by its mean.
torch::Tensor block_projection(const torch::Tensor& x, int64_t b) {
  return torch::avg_pool2d(x, {b, b}).repeat_interleave(b, 2).repeat_interleave(b, 3);
}

// Coordinates in an orthonormal basis of that subspace (one per block and channel):
// b · the block mean, so that the coordinates of standard-normal noise are standard normal.
torch::Tensor block_coordinates(const torch::Tensor& x, int64_t b) {
  return torch::avg_pool2d(x, {b, b}) * static_cast<double>(b);
}

StepOutput block_noise_step(SdeType type, const torch::Tensor& model_output_in, const torch::Tensor& sample_in,
                            const torch::Tensor& sigma_in, const torch::Tensor& sigma_next_in, double sigma_max,
                            double noise_level, const torch::Tensor& noise, const torch::Tensor& prev_sample_in,
                            int64_t b) {
  if (sample_in.dim() != 4 || sample_in.size(2) % b != 0 || sample_in.size(3) % b != 0)
    throw std::invalid_argument("flow_step: noise_block " + std::to_string(b) +
                                " needs samples [B,C,H,W] with H and W divisible by it, found shape " +
                                shape_of(sample_in));
  const bool draw = !prev_sample_in.defined();
  // The full step's mean and scale (its own noise and log-prob unused), and the ODE mean.
  const auto dummy = torch::zeros_like(sample_in, sample_in.options().dtype(torch::kFloat));
  const auto full = flow_step(type, model_output_in, sample_in, sigma_in, sigma_next_in, sigma_max, noise_level,
                              dummy, {}, 1);
  const auto euler = euler_step(model_output_in.to(torch::kFloat), sample_in.to(torch::kFloat), sigma_in,
                                sigma_next_in);
  // Stochastic in the block subspace (the SDE's mean and noise there), deterministic
  // (the ODE) in its complement. A constant diffusion matrix σ²P with the matching
  // score correction preserves the marginals for any projector P, as σ²I does.
  const auto mean = euler + block_projection(full.prev_sample_mean - euler, b);
  const int64_t batch = sample_in.size(0);
  const auto sigma = per_sample(sigma_in, batch, 4, "sigma");
  const auto sigma_prev = per_sample(sigma_next_in, batch, 4, "sigma_next");
  const auto scale = type == SdeType::kSde ? full.std_dev_t * torch::sqrt(sigma - sigma_prev) : full.std_dev_t;
  torch::Tensor prev_sample;
  if (draw) {
    if (!noise.defined())
      throw std::invalid_argument("flow_step: either noise (to draw x') or prev_sample (to score it) is required");
    check_same_shape(noise, sample_in, "noise", "sample");
    prev_sample = mean + scale * block_projection(noise.to(torch::kFloat), b);
  } else {
    check_same_shape(prev_sample_in, sample_in, "prev_sample", "sample");
    prev_sample = prev_sample_in.to(torch::kFloat);
  }
  const auto r = block_coordinates(prev_sample.detach() - mean, b);
  torch::Tensor log_prob;
  if (type == SdeType::kSde) {
    const auto log_sqrt_2pi = torch::log(torch::sqrt(2 * torch::full({}, static_cast<float>(M_PI))));
    log_prob = -r.pow(2) / (2 * scale.pow(2)) - torch::log(scale) - log_sqrt_2pi;
  } else {
    log_prob = -r.pow(2);
  }
  StepOutput out;
  out.prev_sample = prev_sample;
  out.log_prob = log_prob.mean({1, 2, 3});
  out.prev_sample_mean = mean;
  out.std_dev_t = full.std_dev_t;
  return out;
}

}  // namespace

}  // namespace flowgrpo::sampling
