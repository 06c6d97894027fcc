#pragma once
/// @file joint_transformer_block.h
/// diffusers v0.33.1 `models/attention.py::JointTransformerBlock` (MMDiT block,
/// with the MMDiT-X second self-attention of SD3.5 when use_dual_attention).
///
///     norm1:          AdaLayerNormZero (6D) | SD35AdaLayerNormZeroX (9D, dual)
///     norm1_context:  AdaLayerNormZero | AdaLayerNormContinuous (context_pre_only)
///     a_x, a_c = attn(nx, nc)                          (joint attention)
///     x += gate_msa·a_x
///     x += gate_msa2·attn2(nx2)                        (dual only; nx2 from the same LN(x))
///     x += gate_mlp·ff(LN(x)·(1+scale_mlp)+shift_mlp)
///     c += c_gate_msa·a_c;  c += c_gate_mlp·ff_context(LN(c)·(1+c_scale_mlp)+c_shift_mlp)
///                                                      (not context_pre_only)
/// The context_pre_only block returns no context (an undefined tensor).

#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>

namespace flowgrpo::models {

/// Named intermediate activations, filled by forward passes when given (for
/// debugging against the diffusers fixtures' `inter.*` tensors).
using ActivationRecord = std::map<std::string, torch::Tensor>;

/// Stores a detached `t` under `name` when `record` is given (debugging hooks).
inline void record_activation(ActivationRecord* record, const std::string& name, const torch::Tensor& t) {
  if (record != nullptr && t.defined()) (*record)[name] = t.detach();
}

struct JointTransformerBlockOptions {
  int64_t dim = 0;
  int64_t num_attention_heads = 1;
  int64_t attention_head_dim = 64;
  bool context_pre_only = false;
  bool qk_norm = false;  ///< "rms_norm"
  bool use_dual_attention = false;
};

class JointTransformerBlockImpl : public torch::nn::Module {
 public:
  explicit JointTransformerBlockImpl(const JointTransformerBlockOptions& options);

  /// @param hidden_states image tokens [B, N, D]; @param encoder_hidden_states [B, S, D];
  /// @param temb [B, D].
  /// @param record if given, receives `<prefix>norm1.{0..}`, `<prefix>norm1_context[.i]`,
  ///        `<prefix>attn.{0,1}`, `<prefix>attn2`, `<prefix>ff` (diffusers' submodule outputs).
  /// @return {context [B, S, D] (undefined when context_pre_only), image [B, N, D]} —
  ///         diffusers' (encoder_hidden_states, hidden_states) order.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& hidden_states,
                                                  const torch::Tensor& encoder_hidden_states,
                                                  const torch::Tensor& temb,
                                                  ActivationRecord* record = nullptr,
                                                  const std::string& prefix = "");

  const JointTransformerBlockOptions& options() const { return options_; }

 private:
  JointTransformerBlockOptions options_;
};
TORCH_MODULE(JointTransformerBlock);

}  // namespace flowgrpo::models
