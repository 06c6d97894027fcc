#include "flowgrpo/models/transformers/joint_transformer_block.h"

#include "flowgrpo/models/attention.h"
#include "flowgrpo/models/lora_linear.h"
#include "flowgrpo/models/normalization.h"

#include <stdexcept>

namespace flowgrpo::models {

namespace {
constexpr double kEps = 1e-6;  // attention.py: every LayerNorm / RMSNorm in the block

template <class Impl>
Impl& child_as(const torch::nn::Module& parent, const std::string& name) {
  // Looked up by name (not a cached holder) like the linears, so that what the
  // tree holds now is what runs; a replacement of another type is an error.
  auto* m = dynamic_cast<Impl*>(child_module(parent, name).get());
  if (m == nullptr) throw std::runtime_error(parent.name() + "." + name + " has an unexpected module type");
  return *m;
}

}  // namespace

JointTransformerBlockImpl::JointTransformerBlockImpl(const JointTransformerBlockOptions& o) : options_(o) {
  // attention.py::JointTransformerBlock.__init__ (diffusers v0.33.1).
  if (o.use_dual_attention) {
    register_module("norm1", SD35AdaLayerNormZeroX(o.dim));
  } else {
    register_module("norm1", AdaLayerNormZero(o.dim));
  }
  if (o.context_pre_only) {
    register_module("norm1_context", AdaLayerNormContinuous(o.dim, o.dim, kEps));
  } else {
    register_module("norm1_context", AdaLayerNormZero(o.dim));
  }
  AttentionOptions attn;
  attn.query_dim = o.dim;
  attn.heads = o.num_attention_heads;
  attn.dim_head = o.attention_head_dim;
  attn.added_kv_proj_dim = o.dim;
  attn.context_pre_only = o.context_pre_only;
  attn.qk_norm = o.qk_norm;
  attn.eps = kEps;
  register_module("attn", Attention(attn));
  if (o.use_dual_attention) {
    AttentionOptions attn2 = attn;
    attn2.added_kv_proj_dim = 0;
    attn2.context_pre_only = false;
    register_module("attn2", Attention(attn2));
  }
  register_module("ff", FeedForward(o.dim, o.dim));
  if (!o.context_pre_only) register_module("ff_context", FeedForward(o.dim, o.dim));
}

std::pair<torch::Tensor, torch::Tensor> JointTransformerBlockImpl::forward(
    const torch::Tensor& hidden_states, const torch::Tensor& encoder_hidden_states, const torch::Tensor& temb,
    ActivationRecord* record, const std::string& prefix) {
  // attention.py::JointTransformerBlock.forward (diffusers v0.33.1).
  torch::Tensor norm_x, gate_msa, shift_mlp, scale_mlp, gate_mlp, norm_x2, gate_msa2;
  if (options_.use_dual_attention) {
    auto n = child_as<SD35AdaLayerNormZeroXImpl>(*this, "norm1").forward(hidden_states, temb);
    norm_x = n.x, gate_msa = n.gate_msa, shift_mlp = n.shift_mlp, scale_mlp = n.scale_mlp,
    gate_mlp = n.gate_mlp;
    norm_x2 = n.x2, gate_msa2 = n.gate_msa2;
  } else {
    auto n = child_as<AdaLayerNormZeroImpl>(*this, "norm1").forward(hidden_states, temb);
    norm_x = n.x, gate_msa = n.gate_msa, shift_mlp = n.shift_mlp, scale_mlp = n.scale_mlp,
    gate_mlp = n.gate_mlp;
  }
  if (record != nullptr) {
    const torch::Tensor outs[] = {norm_x, gate_msa, shift_mlp, scale_mlp, gate_mlp, norm_x2, gate_msa2};
    for (int i = 0; i < 7; ++i) record_activation(record, prefix + "norm1." + std::to_string(i), outs[i]);
  }

  torch::Tensor norm_c, c_gate_msa, c_shift_mlp, c_scale_mlp, c_gate_mlp;
  if (options_.context_pre_only) {
    norm_c =
        child_as<AdaLayerNormContinuousImpl>(*this, "norm1_context").forward(encoder_hidden_states, temb);
    record_activation(record, prefix + "norm1_context", norm_c);
  } else {
    auto n = child_as<AdaLayerNormZeroImpl>(*this, "norm1_context").forward(encoder_hidden_states, temb);
    norm_c = n.x, c_gate_msa = n.gate_msa, c_shift_mlp = n.shift_mlp, c_scale_mlp = n.scale_mlp;
    c_gate_mlp = n.gate_mlp;
    if (record != nullptr) {
      const torch::Tensor outs[] = {norm_c, c_gate_msa, c_shift_mlp, c_scale_mlp, c_gate_mlp};
      for (int i = 0; i < 5; ++i)
        record_activation(record, prefix + "norm1_context." + std::to_string(i), outs[i]);
    }
  }

  auto [attn_x, attn_c] = child_as<AttentionImpl>(*this, "attn").forward_joint(norm_x, norm_c);
  record_activation(record, prefix + "attn.0", attn_x);
  record_activation(record, prefix + "attn.1", attn_c);

  auto x = hidden_states + gate_msa.unsqueeze(1) * attn_x;
  if (options_.use_dual_attention) {
    auto attn2 = child_as<AttentionImpl>(*this, "attn2").forward(norm_x2);
    record_activation(record, prefix + "attn2", attn2);
    x = x + gate_msa2.unsqueeze(1) * attn2;
  }
  auto nx = layer_norm_no_affine(x, kEps) * (1 + scale_mlp.unsqueeze(1)) + shift_mlp.unsqueeze(1);
  auto ff = child_as<FeedForwardImpl>(*this, "ff").forward(nx);
  record_activation(record, prefix + "ff", ff);
  x = x + gate_mlp.unsqueeze(1) * ff;

  torch::Tensor c;
  if (!options_.context_pre_only) {
    c = encoder_hidden_states + c_gate_msa.unsqueeze(1) * attn_c;
    auto nc = layer_norm_no_affine(c, kEps) * (1 + c_scale_mlp.unsqueeze(1)) + c_shift_mlp.unsqueeze(1);
    auto ffc = child_as<FeedForwardImpl>(*this, "ff_context").forward(nc);
    record_activation(record, prefix + "ff_context", ffc);
    c = c + c_gate_mlp.unsqueeze(1) * ffc;
  }
  return {c, x};
}

}  // namespace flowgrpo::models
