#include "flowgrpo/models/text_encoders/clip_text_model.h"

#include "flowgrpo/common/error.h"
#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/io/state_dict.h"
#include "flowgrpo/io/weight_source.h"
#include "flowgrpo/log/logging.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace flowgrpo::models {

namespace fs = std::filesystem;

namespace {

/// The one file tensor that is not a parameter: transformers < 4.31 saved
/// CLIPTextEmbeddings' `position_ids` buffer (arange(P), later non-persistent).
constexpr const char* kCLIPPositionIdsKey = "text_model.embeddings.position_ids";

/// transformers' `torch_dtype` spelling of a parameter dtype.
std::string clip_torch_dtype_name(torch::Dtype dtype) {
  switch (dtype) {
    case torch::kFloat: return "float32";
    case torch::kHalf: return "float16";
    case torch::kBFloat16: return "bfloat16";
    case torch::kDouble: return "float64";
    default: return "";
  }
}

struct CLIPResolvedPaths {
  fs::path config;
  fs::path weights;
};

CLIPResolvedPaths clip_resolve_paths(const fs::path& path) {
  if (!fs::exists(path))
    throw std::invalid_argument("CLIPTextModelWithProjection path does not exist: " + path.string());
  if (fs::is_directory(path)) {
    if (fs::is_regular_file(path / "config.json")) return {path / "config.json", path};
    throw std::invalid_argument("no CLIPTextModelWithProjection config in " + path.string() +
                                ": expected config.json (a component folder such as text_encoder/ or "
                                "text_encoder_2/)");
  }
  const fs::path config = path.parent_path() / "config.json";
  if (!fs::is_regular_file(config)) {
    throw std::invalid_argument("no config.json beside the CLIPTextModelWithProjection weights " +
                                path.string() + " (looked for " + config.string() + ")");
  }
  return {config, path};
}

std::string clip_summary(const CLIPTextConfig& c) {
  return "d " + std::to_string(c.hidden_size) + ", " + std::to_string(c.num_hidden_layers) + " layers, " +
         std::to_string(c.num_attention_heads) + " heads, " + c.hidden_act + ", projection " +
         std::to_string(c.projection_dim);
}

}  // namespace

CLIPTextModelWithProjectionImpl::CLIPTextModelWithProjectionImpl(const CLIPTextConfig& config,
                                                                 torch::Dtype dtype, torch::Device device,
                                                                 bool initialize)
    : config_(config) {
  config_.validate();
  const auto options = torch::TensorOptions().dtype(dtype).device(device);
  // modeling_clip.py::CLIPTextModelWithProjection.__init__.
  text_model = register_module("text_model", CLIPTextTransformer(config_, options));
  text_projection = register_module(
      "text_projection", CLIPLinear(config_.hidden_size, config_.projection_dim, /*bias=*/false, options));
  if (initialize && device.type() != torch::kMeta) init_weights();
}

void CLIPTextModelWithProjectionImpl::init_weights() {
  // modeling_clip.py::CLIPPreTrainedModel._init_weights for the text-side modules.
  torch::NoGradGuard no_grad;
  const double factor = config_.initializer_factor;
  const double d = static_cast<double>(config_.hidden_size);
  const double layers = static_cast<double>(config_.num_hidden_layers);
  const double in_proj_std = std::pow(d, -0.5) * std::pow(2.0 * layers, -0.5) * factor;
  const double out_proj_std = std::pow(d, -0.5) * factor;
  const double fc_std = std::pow(2.0 * d, -0.5) * factor;
  text_model->embeddings->token_embedding->weight.normal_(0.0, 0.02 * factor);
  text_model->embeddings->position_embedding->weight.normal_(0.0, 0.02 * factor);
  for (const auto& module : *text_model->encoder->layers) {
    auto* layer = module->as<CLIPEncoderLayer>();
    auto& attn = *layer->self_attn;
    for (auto* proj : {&attn.q_proj, &attn.k_proj, &attn.v_proj}) (*proj)->weight.normal_(0.0, in_proj_std);
    attn.out_proj->weight.normal_(0.0, out_proj_std);
    layer->mlp->fc1->weight.normal_(0.0, fc_std);
    layer->mlp->fc2->weight.normal_(0.0, in_proj_std);
    for (auto* proj :
         {&attn.q_proj, &attn.k_proj, &attn.v_proj, &attn.out_proj, &layer->mlp->fc1, &layer->mlp->fc2})
      (*proj)->bias.zero_();
    for (auto* norm : {&layer->layer_norm1, &layer->layer_norm2}) {
      (*norm)->weight.fill_(1.0);
      (*norm)->bias.zero_();
    }
  }
  text_model->final_layer_norm->weight.fill_(1.0);
  text_model->final_layer_norm->bias.zero_();
  text_projection->weight.normal_(0.0, std::pow(d, -0.5) * factor);
}

torch::Dtype CLIPTextModelWithProjectionImpl::dtype() const {
  return text_projection->weight.scalar_type();
}

torch::Device CLIPTextModelWithProjectionImpl::device() const {
  return text_projection->weight.device();
}

CLIPTextOutput CLIPTextModelWithProjectionImpl::forward(const torch::Tensor& input_ids,
                                                        bool output_hidden_states) {
  auto out = text_model->forward(input_ids, output_hidden_states);
  // modeling_clip.py::CLIPTextModelWithProjection.forward: text_embeds = text_projection(pooled_output).
  out.text_embeds = text_projection->forward(out.pooled);
  return out;
}

void CLIPTextModelWithProjectionImpl::load_weights(const io::WeightSource& source) {
  io::LoadOptions options;
  options.convert_dtype = true;
  if (!source.contains(kCLIPPositionIdsKey)) {
    io::load_state_dict(*this, source, options);
    return;
  }
  // Zero-copy views of every other tensor; io::load_state_dict checks them as strictly as the file.
  io::TensorMap tensors;
  for (const auto& name : source.names()) {
    if (name != kCLIPPositionIdsKey) tensors.emplace(name, source.view(name));
  }
  io::load_state_dict(*this, tensors, source.description() + " (" + kCLIPPositionIdsKey + " ignored)",
                      options);
}

void CLIPTextModelWithProjectionImpl::save_pretrained(const fs::path& dir) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
  config_.save(dir / "config.json", clip_torch_dtype_name(dtype()));
  // {"format": "pt"}: the metadata transformers' save_pretrained writes.
  io::save_safetensors(dir / "model.safetensors", io::state_dict(*this), {{"format", "pt"}});
}

CLIPTextModelWithProjection CLIPTextModelWithProjection::from_pretrained(const fs::path& path,
                                                                         const LoadOptions& options) {
  const auto paths = clip_resolve_paths(path);
  const auto config = CLIPTextConfig::from_file(paths.config);
  auto source = io::WeightSource::open(paths.weights);
  CLIPTextModelWithProjection model(config, options.dtype, options.device, /*initialize=*/false);
  const std::string summary = clip_summary(config);
  with_context("loading CLIPTextModelWithProjection (" + summary + ", config " + paths.config.string() + ")",
               [&] { model->load_weights(source); });
  model->eval();
  log::get("models")->info("loaded CLIPTextModelWithProjection from {} ({}, {})", source.description(),
                           summary, c10::toString(options.dtype));
  return model;
}

}  // namespace flowgrpo::models
