#pragma once
/// @file t5_feed_forward.h
/// T5's feed-forward network (transformers `modeling_t5.py::T5DenseActDense`
/// and `T5DenseGatedActDense`, registered as `DenseReluDense`):
///
///     plain: wo(act(wi(x)))
///     gated: wo(act(wi_0(x)) * wi_1(x))          T5 v1.1 / XXL: act = gelu_new
///
/// with the hidden activations cast to wo's dtype before wo.
///
/// Precision: when the parameters are requested in float16, `wo` is created in
/// float32 (transformers' `T5PreTrainedModel._keep_in_fp32_modules = ["wo"]`,
/// which `from_pretrained(torch_dtype=torch.float16)` applies; without it T5's
/// large feed-forward outputs overflow float16). The output is then float32
/// and promotes the residual stream, as in transformers. bfloat16 and float32
/// keep every weight in the requested dtype.

#include "flowgrpo/models/text_encoders/t5_config.h"
#include "flowgrpo/models/text_encoders/t5_linear.h"

#include <torch/torch.h>

#include <string>

namespace flowgrpo::models {

/// The activations T5Config supports, by transformers' ACT2FN name: relu,
/// gelu (exact erf), gelu_new (tanh approximation, written out as
/// transformers' NewGELUActivation), silu / swish.
/// @throws std::invalid_argument naming the activation and the supported ones.
torch::Tensor t5_activation(const std::string& name, const torch::Tensor& x);

class T5DenseActDenseImpl : public torch::nn::Module {
 public:
  /// Gated (wi_0, wi_1 [d_ff, d_model]) or plain (wi [d_ff, d_model]) per
  /// config.is_gated_act(), and wo [d_model, d_ff]; `options` gives dtype and
  /// device (wo float32 when options asks for float16, see the file comment).
  T5DenseActDenseImpl(const T5Config& config, const torch::TensorOptions& options);

  /// x [..., d_model] -> [..., d_model] in wo's dtype.
  torch::Tensor forward(const torch::Tensor& x);

  T5Linear wi{nullptr};    ///< Plain only.
  T5Linear wi_0{nullptr};  ///< Gated only: the activated branch.
  T5Linear wi_1{nullptr};  ///< Gated only: the linear gate.
  T5Linear wo{nullptr};

 private:
  std::string activation_;
};
TORCH_MODULE(T5DenseActDense);

}  // namespace flowgrpo::models
