#include "flowgrpo/models/attention.h"

#include "flowgrpo/models/lora_linear.h"
#include "flowgrpo/models/normalization.h"

#include <cmath>
#include <stdexcept>

namespace flowgrpo::models {

namespace F = torch::nn::functional;

AttentionImpl::AttentionImpl(const AttentionOptions& o) : options_(o) {
  const int64_t inner = o.heads * o.dim_head;
  // Registration order follows diffusers' Attention.__init__ (it fixes the order
  // of named_parameters(), not the names, which are what loading compares).
  if (o.qk_norm) {
    register_module("norm_q", RMSNorm(o.dim_head, o.eps));
    register_module("norm_k", RMSNorm(o.dim_head, o.eps));
  }
  register_module("to_q", torch::nn::Linear(o.query_dim, inner));
  register_module("to_k", torch::nn::Linear(o.query_dim, inner));
  register_module("to_v", torch::nn::Linear(o.query_dim, inner));
  if (o.added_kv_proj_dim > 0) {
    register_module("add_k_proj", torch::nn::Linear(o.added_kv_proj_dim, inner));
    register_module("add_v_proj", torch::nn::Linear(o.added_kv_proj_dim, inner));
    register_module("add_q_proj", torch::nn::Linear(o.added_kv_proj_dim, inner));
  }
  to_out = register_module(
      "to_out", torch::nn::ModuleList(torch::nn::Linear(inner, o.query_dim), torch::nn::Dropout(0.0)));
  if (o.added_kv_proj_dim > 0 && !o.context_pre_only)
    register_module("to_add_out", torch::nn::Linear(inner, o.query_dim));
  if (o.added_kv_proj_dim > 0 && o.qk_norm) {
    register_module("norm_added_q", RMSNorm(o.dim_head, o.eps));
    register_module("norm_added_k", RMSNorm(o.dim_head, o.eps));
  }
}

torch::Tensor AttentionImpl::heads_first(const torch::Tensor& t) const {
  return t.view({t.size(0), -1, options_.heads, options_.dim_head}).transpose(1, 2);
}

torch::Tensor AttentionImpl::apply_norm(const char* name, const torch::Tensor& t) const {
  if (!options_.qk_norm) return t;
  auto* norm = dynamic_cast<RMSNormImpl*>(child_module(*this, name).get());
  if (norm == nullptr) throw std::runtime_error(std::string("Attention.") + name + " is not an RMSNorm");
  return norm->forward(t);
}

std::pair<torch::Tensor, torch::Tensor> AttentionImpl::forward_joint(const torch::Tensor& x,
                                                                     const torch::Tensor& context) {
  if (options_.added_kv_proj_dim <= 0) throw std::logic_error("Attention::forward_joint on a self-attention");
  // attention_processor.py::JointAttnProcessor2_0.__call__ (diffusers v0.33.1).
  const int64_t batch = x.size(0);
  const int64_t n_image = x.size(1);
  auto q = apply_norm("norm_q", heads_first(forward_linear(*this, "to_q", x)));
  auto k = apply_norm("norm_k", heads_first(forward_linear(*this, "to_k", x)));
  auto v = heads_first(forward_linear(*this, "to_v", x));
  auto cq = apply_norm("norm_added_q", heads_first(forward_linear(*this, "add_q_proj", context)));
  auto ck = apply_norm("norm_added_k", heads_first(forward_linear(*this, "add_k_proj", context)));
  auto cv = heads_first(forward_linear(*this, "add_v_proj", context));
  // Image tokens first, then context tokens.
  q = torch::cat({q, cq}, 2);
  k = torch::cat({k, ck}, 2);
  v = torch::cat({v, cv}, 2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(options_.dim_head));
  auto out = at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0,
                                              /*is_causal=*/false, scale);
  out = out.transpose(1, 2).reshape({batch, -1, options_.heads * options_.dim_head}).to(q.scalar_type());
  auto image = out.slice(1, 0, n_image);
  auto ctx = out.slice(1, n_image);
  if (!options_.context_pre_only) ctx = forward_linear(*this, "to_add_out", ctx);
  image = forward_linear(*to_out, "0", image);  // to_out[1] is Dropout(0): identity
  return {image, ctx};
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x) {
  // attention_processor.py::AttnProcessor2_0.__call__ for 3-D input, no mask,
  // no group/spatial norm, no residual, rescale_output_factor 1.
  const int64_t batch = x.size(0);
  auto q = apply_norm("norm_q", heads_first(forward_linear(*this, "to_q", x)));
  auto k = apply_norm("norm_k", heads_first(forward_linear(*this, "to_k", x)));
  auto v = heads_first(forward_linear(*this, "to_v", x));
  const double scale = 1.0 / std::sqrt(static_cast<double>(options_.dim_head));
  auto out = at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0,
                                              /*is_causal=*/false, scale);
  out = out.transpose(1, 2).reshape({batch, -1, options_.heads * options_.dim_head}).to(q.scalar_type());
  return forward_linear(*to_out, "0", out);
}

GELUProjImpl::GELUProjImpl(int64_t dim_in, int64_t dim_out) {
  register_module("proj", torch::nn::Linear(dim_in, dim_out));
}

torch::Tensor GELUProjImpl::forward(const torch::Tensor& x) {
  return F::gelu(forward_linear(*this, "proj", x), F::GELUFuncOptions().approximate("tanh"));
}

FeedForwardImpl::FeedForwardImpl(int64_t dim, int64_t dim_out, int64_t mult) {
  const int64_t inner = dim * mult;
  net = register_module("net", torch::nn::ModuleList(GELUProj(dim, inner), torch::nn::Dropout(0.0),
                                                     torch::nn::Linear(inner, dim_out)));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  auto* act = dynamic_cast<GELUProjImpl*>(child_module(*net, "0").get());
  if (act == nullptr) throw std::runtime_error("FeedForward.net.0 is not a GELU projection");
  return forward_linear(*net, "2", act->forward(x));
}

}  // namespace flowgrpo::models
