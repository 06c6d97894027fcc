#include "flowgrpo/models/text_encoders/t5_feed_forward.h"

#include <cmath>
#include <stdexcept>

namespace flowgrpo::models {

torch::Tensor t5_activation(const std::string& name, const torch::Tensor& x) {
  // transformers activations.py ACT2FN entries.
  if (name == "relu") return torch::relu(x);
  if (name == "gelu") return torch::gelu(x);  // GELUActivation: exact erf
  if (name == "silu" || name == "swish") return torch::silu(x);
  if (name == "gelu_new") {
    // NewGELUActivation, written out as there (not torch's gelu(approximate="tanh"),
    // which rounds differently).
    return 0.5 * x * (1.0 + torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * torch::pow(x, 3.0))));
  }
  throw std::invalid_argument("T5 feed-forward: unsupported activation \"" + name +
                              "\" (supported: relu, gelu, gelu_new, silu, swish)");
}

T5DenseActDenseImpl::T5DenseActDenseImpl(const T5Config& config, const torch::TensorOptions& options)
    : activation_(config.dense_act_fn()) {
  // modeling_t5.py::T5PreTrainedModel._init_weights (T5DenseActDense / T5DenseGatedActDense).
  const double f = config.initializer_factor;
  const double wi_std = f / std::sqrt(static_cast<double>(config.d_model));
  const double wo_std = f / std::sqrt(static_cast<double>(config.d_ff));
  if (config.is_gated_act()) {
    wi_0 = register_module("wi_0", T5Linear(config.d_model, config.d_ff, wi_std, options));
    wi_1 = register_module("wi_1", T5Linear(config.d_model, config.d_ff, wi_std, options));
  } else {
    wi = register_module("wi", T5Linear(config.d_model, config.d_ff, wi_std, options));
  }
  // T5PreTrainedModel._keep_in_fp32_modules = ["wo"], applied for float16 only.
  const auto wo_options = options.dtype() == torch::kHalf ? options.dtype(torch::kFloat) : options;
  wo = register_module("wo", T5Linear(config.d_ff, config.d_model, wo_std, wo_options));
}

torch::Tensor T5DenseActDenseImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = wi_0 ? t5_activation(activation_, wi_0->forward(x)) * wi_1->forward(x)
                         : t5_activation(activation_, wi->forward(x));
  // As transformers: the hidden activations take wo's dtype (float32 for a
  // float16 model) before the projection.
  if (h.scalar_type() != wo->weight.scalar_type()) h = h.to(wo->weight.scalar_type());
  return wo->forward(h);
}

}  // namespace flowgrpo::models
