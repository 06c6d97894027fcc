#include "flowgrpo/models/transformers/sd3_transformer.h"
#include "flowgrpo/common/shape_string.h"

#include "flowgrpo/common/error.h"
#include "flowgrpo/io/state_dict.h"
#include "flowgrpo/io/weight_source.h"
#include "flowgrpo/log/logging.h"
#include "flowgrpo/models/gradient_checkpoint.h"
#include "flowgrpo/models/lora_linear.h"

#include <sstream>
#include <stdexcept>

namespace flowgrpo::models {

namespace fs = std::filesystem;

namespace {

void check_rank(const torch::Tensor& t, const char* name, int64_t rank, const std::string& expected) {
  if (!t.defined())
    throw std::invalid_argument(std::string(name) + ": undefined tensor, expected " + expected);
  if (t.dim() != rank) {
    throw std::invalid_argument(std::string(name) + ": expected shape " + expected + ", found " +
                                shape_string(t.sizes()));
  }
}

void check_size(const torch::Tensor& t, const char* name, int64_t dim, int64_t want,
                const std::string& expected) {
  if (t.size(dim) != want) {
    throw std::invalid_argument(std::string(name) + ": expected shape " + expected + ", found " +
                                shape_string(t.sizes()));
  }
}

}  // namespace

SD3TransformerImpl::SD3TransformerImpl(const SD3TransformerConfig& config, torch::Dtype dtype,
                                       torch::Device device)
    : config_(config) {
  config_.validate();
  const int64_t d = config_.inner_dim();
  // transformer_sd3.py::SD3Transformer2DModel.__init__ (diffusers v0.33.1). Each
  // submodule is moved to the target dtype/device right after construction.
  pos_embed = register_module(
      "pos_embed", PatchEmbed(config_.patch_size, config_.in_channels, d, config_.pos_embed_max_size));
  pos_embed->to(device, dtype);
  time_text_embed = register_module("time_text_embed",
                                    CombinedTimestepTextProjEmbeddings(d, config_.pooled_projection_dim));
  time_text_embed->to(device, dtype);
  register_module("context_embedder",
                  torch::nn::Linear(config_.joint_attention_dim, config_.caption_projection_dim))
      ->to(device, dtype);
  transformer_blocks = register_module("transformer_blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < config_.num_layers; ++i) {
    JointTransformerBlockOptions o;
    o.dim = d;
    o.num_attention_heads = config_.num_attention_heads;
    o.attention_head_dim = config_.attention_head_dim;
    o.context_pre_only = i == config_.num_layers - 1;
    o.qk_norm = config_.qk_norm.has_value();
    o.use_dual_attention = config_.is_dual_attention_layer(i);
    JointTransformerBlock block(o);
    block->to(device, dtype);
    transformer_blocks->push_back(block);
  }
  norm_out = register_module("norm_out", AdaLayerNormContinuous(d, d, 1e-6));
  norm_out->to(device, dtype);
  register_module("proj_out",
                  torch::nn::Linear(d, config_.patch_size * config_.patch_size * config_.out_channels))
      ->to(device, dtype);
}

torch::Dtype SD3TransformerImpl::dtype() const {
  return pos_embed->proj->weight.scalar_type();
}

torch::Device SD3TransformerImpl::device() const {
  return pos_embed->proj->weight.device();
}

torch::Tensor SD3TransformerImpl::forward(const torch::Tensor& hidden_states,
                                          const torch::Tensor& encoder_hidden_states,
                                          const torch::Tensor& pooled_projections,
                                          const torch::Tensor& timestep, ActivationRecord* record) {
  const auto& c = config_;
  const std::string hs_shape = "[B, " + std::to_string(c.in_channels) + ", H, W]";
  check_rank(hidden_states, "hidden_states", 4, hs_shape);
  check_size(hidden_states, "hidden_states", 1, c.in_channels, hs_shape);
  const int64_t batch = hidden_states.size(0);
  const std::string b = std::to_string(batch);
  const std::string ehs_shape = "[" + b + ", S, " + std::to_string(c.joint_attention_dim) + "]";
  check_rank(encoder_hidden_states, "encoder_hidden_states", 3, ehs_shape);
  check_size(encoder_hidden_states, "encoder_hidden_states", 0, batch, ehs_shape);
  check_size(encoder_hidden_states, "encoder_hidden_states", 2, c.joint_attention_dim, ehs_shape);
  const std::string pooled_shape = "[" + b + ", " + std::to_string(c.pooled_projection_dim) + "]";
  check_rank(pooled_projections, "pooled_projections", 2, pooled_shape);
  check_size(pooled_projections, "pooled_projections", 0, batch, pooled_shape);
  check_size(pooled_projections, "pooled_projections", 1, c.pooled_projection_dim, pooled_shape);
  if (!timestep.defined() || timestep.dim() > 1 || (timestep.numel() != batch && timestep.numel() != 1)) {
    throw std::invalid_argument(
        "timestep: expected shape [" + b + "] (or one value), found " +
        (timestep.defined() ? shape_string(timestep.sizes()) : std::string("undefined")));
  }
  const auto t = timestep.reshape({-1}).expand({batch});

  // transformer_sd3.py::SD3Transformer2DModel.forward (diffusers v0.33.1).
  const int64_t height = hidden_states.size(2);
  const int64_t width = hidden_states.size(3);
  auto x = pos_embed->forward(hidden_states);
  record_activation(record, "pos_embed", x);
  if (record != nullptr)
    record_activation(record, "time_text_embed.time_proj", time_text_embed->time_proj(t));
  auto temb = time_text_embed->forward(t, pooled_projections);
  record_activation(record, "time_text_embed", temb);
  auto ctx = forward_linear(*this, "context_embedder", encoder_hidden_states);
  record_activation(record, "context_embedder", ctx);

  const bool checkpointing = gradient_checkpointing_ && torch::GradMode::is_enabled();
  for (size_t i = 0; i < transformer_blocks->size(); ++i) {
    auto block = transformer_blocks->ptr<JointTransformerBlockImpl>(i);
    const std::string prefix = "transformer_blocks." + std::to_string(i) + ".";
    if (checkpointing) {
      auto fn = [block](const std::vector<torch::Tensor>& in) {
        auto out = block->forward(in[0], in[1], in[2]);
        return std::vector<torch::Tensor>{out.first, out.second};
      };
      auto out = checkpoint(fn, {x, ctx, temb}, block->parameters());
      ctx = out[0];
      x = out[1];
    } else {
      std::tie(ctx, x) = block->forward(x, ctx, temb, record, prefix);
    }
    record_activation(record, prefix + "0", ctx);
    record_activation(record, prefix + "1", x);
  }

  x = norm_out->forward(x, temb);
  record_activation(record, "norm_out", x);
  x = forward_linear(*this, "proj_out", x);
  record_activation(record, "proj_out", x);

  // Unpatchify: features are ordered (p, q, c); einsum("nhwpqc->nchpwq").
  const int64_t p = c.patch_size;
  const int64_t h = height / p;
  const int64_t w = width / p;
  x = x.reshape({batch, h, w, p, p, c.out_channels});
  x = x.permute({0, 5, 1, 3, 2, 4});
  return x.reshape({batch, c.out_channels, h * p, w * p});
}

void SD3TransformerImpl::load_weights(const io::WeightSource& source) {
  io::LoadOptions options;
  options.convert_dtype = true;
  options.ignore_missing_substrings = {".lora_A.", ".lora_B."};
  io::load_state_dict(*this, source, options);
}

namespace {

struct ResolvedPaths {
  fs::path config;
  fs::path weights;
};

ResolvedPaths resolve(const fs::path& path) {
  if (!fs::exists(path)) throw std::invalid_argument("SD3 transformer path does not exist: " + path.string());
  if (fs::is_directory(path)) {
    if (fs::is_regular_file(path / "transformer" / "config.json"))
      return {path / "transformer" / "config.json", path / "transformer"};
    if (fs::is_regular_file(path / "config.json")) return {path / "config.json", path};
    throw std::invalid_argument("no SD3 transformer config in " + path.string() +
                                ": expected transformer/config.json (pipeline folder) or config.json "
                                "(component folder)");
  }
  const fs::path config = path.parent_path() / "config.json";
  if (!fs::is_regular_file(config)) {
    throw std::invalid_argument("no config.json beside the SD3 transformer weights " + path.string() +
                                " (looked for " + config.string() + ")");
  }
  return {config, path};
}

}  // namespace

SD3Transformer SD3Transformer::from_pretrained(const fs::path& path, const SD3LoadOptions& options) {
  const auto paths = resolve(path);
  const auto config = SD3TransformerConfig::from_file(paths.config);
  auto source = io::WeightSource::open(paths.weights);
  SD3Transformer model(config, options.dtype, options.device);
  with_context("loading SD3 transformer (" + std::to_string(config.num_layers) + " layers, D " +
                   std::to_string(config.inner_dim()) + ", config " + paths.config.string() + ")",
               [&] { model->load_weights(source); });
  model->eval();
  log::get("models")->info("loaded SD3 transformer from {} ({} layers, D {}, {})", source.description(),
                           config.num_layers, config.inner_dim(), c10::toString(options.dtype));
  return model;
}

SD3VelocityModel::SD3VelocityModel(SD3Transformer transformer) : transformer_(std::move(transformer)) {}

torch::Tensor SD3VelocityModel::forward(const torch::Tensor& latents, const torch::Tensor& timestep,
                                        const sampling::Conditioning& cond) {
  if (!cond.encoder_hidden_states.defined() || !cond.pooled_projections.defined()) {
    throw std::invalid_argument(
        "SD3 velocity model: conditioning needs both encoder_hidden_states and pooled_projections");
  }
  const auto dtype = transformer_->dtype();
  const auto device = transformer_->device();
  return transformer_->forward(latents.to(device, dtype), cond.encoder_hidden_states.to(device, dtype),
                               cond.pooled_projections.to(device, dtype), timestep.to(device));
}

}  // namespace flowgrpo::models
