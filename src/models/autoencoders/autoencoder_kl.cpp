#include "flowgrpo/models/autoencoders/autoencoder_kl.h"

#include "flowgrpo/common/error.h"
#include "flowgrpo/common/shape_string.h"
#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/io/state_dict.h"
#include "flowgrpo/io/weight_source.h"
#include "flowgrpo/log/logging.h"

#include <set>
#include <stdexcept>
#include <vector>

namespace flowgrpo::models {

namespace fs = std::filesystem;

namespace {

/// The one table of weight-name aliases: the attention names of diffusers files
/// written before the Attention refactor (LDM's AttnBlock naming), which
/// diffusers still maps on load (modeling_utils.py::_fix_state_dict_keys_on_load).
/// Original-format LDM checkpoints additionally store these weights as 1×1
/// convolutions [C, C, 1, 1] (single_file_utils.py::conv_attn_to_linear);
/// those are viewed as [C, C].
struct VaeLegacyAttentionAlias {
  const char* legacy;
  const char* current;
};
constexpr VaeLegacyAttentionAlias kVaeLegacyAttentionAliases[] = {
    {"query", "to_q"}, {"key", "to_k"}, {"value", "to_v"}, {"proj_attn", "to_out.0"}};

/// Dotted paths of every SpatialSelfAttention in `module` ("decoder.mid_block.attentions.0").
std::vector<std::string> vae_attention_paths(const torch::nn::Module& module) {
  std::vector<std::string> paths;
  for (const auto& item : module.named_modules(/*name_prefix=*/"", /*include_self=*/false)) {
    if (dynamic_cast<const SpatialSelfAttentionImpl*>(item.value().get()) != nullptr)
      paths.push_back(item.key());
  }
  return paths;
}

/// File tensor name → model tensor name, for the tensors the alias table renames.
/// A legacy name is only mapped when the current name is absent from the file,
/// so a file holding both keeps the legacy one as "unexpected" (reported).
std::map<std::string, std::string> vae_legacy_renames(const torch::nn::Module& module,
                                                      const io::WeightSource& source) {
  std::map<std::string, std::string> renames;
  for (const auto& path : vae_attention_paths(module)) {
    for (const auto& alias : kVaeLegacyAttentionAliases) {
      for (const char* leaf : {".weight", ".bias"}) {
        const std::string legacy = path + "." + alias.legacy + leaf;
        const std::string current = path + "." + alias.current + leaf;
        if (source.contains(legacy) && !source.contains(current)) renames[legacy] = current;
      }
    }
  }
  return renames;
}

/// Whether `file_shape` is the 1×1-convolution form [C, C, 1, 1] of a linear
/// attention weight [C, C] the model expects.
bool vae_is_conv_form_of(const std::vector<int64_t>& file_shape, const torch::Tensor& target) {
  return target.dim() == 2 && file_shape.size() == 4 && file_shape[0] == target.size(0) &&
         file_shape[1] == target.size(1) && file_shape[2] == 1 && file_shape[3] == 1;
}

void vae_check_input(const torch::Tensor& t, const char* what, int64_t channels, int64_t divisor) {
  const std::string expected = "[B, " + std::to_string(channels) + ", H, W]";
  const std::string found = t.defined() ? shape_string(t.sizes()) : std::string("an undefined tensor");
  if (!t.defined() || t.dim() != 4 || t.size(1) != channels) {
    throw std::invalid_argument(std::string("AutoencoderKL: ") + what + ": expected shape " + expected +
                                ", found " + found);
  }
  if (t.size(0) == 0 || t.size(2) == 0 || t.size(3) == 0) {
    throw std::invalid_argument(std::string("AutoencoderKL: ") + what + ": expected a non-empty " + expected +
                                ", found " + found);
  }
  if (divisor > 1 && (t.size(2) % divisor != 0 || t.size(3) % divisor != 0)) {
    throw std::invalid_argument(std::string("AutoencoderKL: ") + what +
                                ": height and width must be divisible by " + std::to_string(divisor) +
                                " (2^(len(block_out_channels) - 1)), found " + std::to_string(t.size(2)) +
                                "x" + std::to_string(t.size(3)) + " in " + found);
  }
}

/// Runs `f` on chunks of `chunk` samples (all at once for chunk 0 or a batch
/// that fits) and concatenates the results along the batch.
template <class F>
torch::Tensor vae_in_slices(const torch::Tensor& x, int64_t chunk, F&& f) {
  if (chunk <= 0 || x.size(0) <= chunk) return f(x);
  std::vector<torch::Tensor> outs;
  for (const auto& part : x.split(chunk, 0)) outs.push_back(f(part));
  return torch::cat(outs, 0);
}

}  // namespace

AutoencoderKLImpl::AutoencoderKLImpl(const AutoencoderKLConfig& config, torch::Dtype dtype,
                                     torch::Device device)
    : config_(config) {
  config_.validate();
  // autoencoder_kl.py::AutoencoderKL.__init__ (diffusers v0.33.1).
  encoder = register_module("encoder", VAEEncoder(config_));
  decoder = register_module("decoder", VAEDecoder(config_));
  const int64_t latent = config_.latent_channels;
  if (config_.use_quant_conv)
    quant_conv =
        register_module("quant_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(2 * latent, 2 * latent, 1)));
  if (config_.use_post_quant_conv)
    post_quant_conv =
        register_module("post_quant_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(latent, latent, 1)));
  to(device, dtype);
}

torch::Dtype AutoencoderKLImpl::dtype() const {
  return decoder->conv_in->weight.scalar_type();
}

torch::Device AutoencoderKLImpl::device() const {
  return decoder->conv_in->weight.device();
}

void AutoencoderKLImpl::set_slice_size(int64_t batch_chunk) {
  if (batch_chunk < 0) {
    throw std::invalid_argument("AutoencoderKL: slice size must be >= 0 (0 = whole batch), found " +
                                std::to_string(batch_chunk));
  }
  slice_size_ = batch_chunk;
}

torch::Tensor AutoencoderKLImpl::encode_moments(const torch::Tensor& image) {
  // autoencoder_kl.py::AutoencoderKL._encode without tiling.
  auto h = encoder->forward(image);
  return quant_conv ? quant_conv->forward(h) : h;
}

torch::Tensor AutoencoderKLImpl::decode_latents(const torch::Tensor& z, ActivationRecord* record) {
  // autoencoder_kl.py::AutoencoderKL._decode without tiling.
  auto h = post_quant_conv ? post_quant_conv->forward(z) : z;
  return decoder->forward(h, record);
}

DiagonalGaussianDistribution AutoencoderKLImpl::encode(const torch::Tensor& image) {
  vae_check_input(image, "encode: image", config_.in_channels, spatial_scale_factor());
  const auto x = image.to(device(), dtype());
  auto moments =
      vae_in_slices(x, slice_size_, [this](const torch::Tensor& part) { return encode_moments(part); });
  return DiagonalGaussianDistribution::from_moments(moments);
}

torch::Tensor AutoencoderKLImpl::decode(const torch::Tensor& z, ActivationRecord* record) {
  vae_check_input(z, "decode: z", config_.latent_channels, 1);
  const auto x = z.to(device(), dtype());
  if (record != nullptr) return decode_latents(x, record);
  return vae_in_slices(x, slice_size_,
                       [this](const torch::Tensor& part) { return decode_latents(part, nullptr); });
}

torch::Tensor AutoencoderKLImpl::forward(const torch::Tensor& image) {
  return decode(encode(image).mode());
}

torch::Tensor AutoencoderKLImpl::to_model_space(const torch::Tensor& z) const {
  // models.md §2: z = (E(x) − shift)·scaling.
  return (z - config_.shift_factor) * config_.scaling_factor;
}

torch::Tensor AutoencoderKLImpl::from_model_space(const torch::Tensor& latents) const {
  // pipeline_stable_diffusion_3.py: (latents / scaling_factor) + shift_factor. A
  // division, as there, not a multiplication by the reciprocal (not bit-identical).
  return latents / config_.scaling_factor + config_.shift_factor;
}

torch::Tensor AutoencoderKLImpl::decode_to_image01(const torch::Tensor& latents) {
  // image_processor.py::VaeImageProcessor.denormalize, as postprocess(output_type="pt") applies it.
  return (decode(from_model_space(latents)) * 0.5 + 0.5).clamp(0, 1);
}

void AutoencoderKLImpl::load_weights(const io::WeightSource& source) {
  io::LoadOptions options;
  options.convert_dtype = true;
  const auto renames = vae_legacy_renames(*this, source);
  const auto target = io::state_dict(*this);
  const auto attention_paths = vae_attention_paths(*this);
  const auto model_name_of = [&renames](const std::string& file_name) {
    const auto it = renames.find(file_name);
    return it == renames.end() ? file_name : it->second;
  };
  // File tensors to view as [C, C]: 1×1-conv attention weights (either naming).
  std::set<std::string> conv_form;
  for (const auto& name : source.names()) {
    const std::string model_name = model_name_of(name);
    const auto it = target.find(model_name);
    if (it == target.end() || !vae_is_conv_form_of(source.info(name).shape, it->second)) continue;
    for (const auto& path : attention_paths) {
      if (model_name.rfind(path + ".", 0) == 0) conv_form.insert(name);
    }
  }
  if (renames.empty() && conv_form.empty()) {
    io::load_state_dict(*this, source, options);
    return;
  }
  // Alias path: zero-copy views under the current names; io::load_state_dict then
  // checks them as strictly as a file (a problem is reported under the current name).
  io::TensorMap tensors;
  for (const auto& name : source.names()) {
    auto t = source.view(name);
    if (conv_form.count(name)) t = t.view({t.size(0), t.size(1)});
    tensors.emplace(model_name_of(name), t);
  }
  io::load_state_dict(*this, tensors, source.description() + " (legacy attention names mapped)", options);
}

void AutoencoderKLImpl::save_pretrained(const fs::path& dir) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
  config_.save(dir / "config.json");
  // {"format": "pt"}: the metadata diffusers' save_pretrained writes.
  io::save_safetensors(dir / "diffusion_pytorch_model.safetensors", io::state_dict(*this),
                       {{"format", "pt"}});
}

namespace {

struct VaeResolvedPaths {
  fs::path config;
  fs::path weights;
};

VaeResolvedPaths vae_resolve_paths(const fs::path& path) {
  if (!fs::exists(path)) throw std::invalid_argument("AutoencoderKL path does not exist: " + path.string());
  if (fs::is_directory(path)) {
    if (fs::is_regular_file(path / "vae" / "config.json"))
      return {path / "vae" / "config.json", path / "vae"};
    if (fs::is_regular_file(path / "config.json")) return {path / "config.json", path};
    throw std::invalid_argument(
        "no AutoencoderKL config in " + path.string() +
        ": expected vae/config.json (pipeline folder) or config.json (component folder)");
  }
  const fs::path config = path.parent_path() / "config.json";
  if (!fs::is_regular_file(config)) {
    throw std::invalid_argument("no config.json beside the AutoencoderKL weights " + path.string() +
                                " (looked for " + config.string() + ")");
  }
  return {config, path};
}

std::string vae_channels_string(const std::vector<int64_t>& channels) {
  std::string out = "[";
  for (size_t i = 0; i < channels.size(); ++i) out += (i ? "," : "") + std::to_string(channels[i]);
  return out + "]";
}

}  // namespace

AutoencoderKL AutoencoderKL::from_pretrained(const fs::path& path, const AutoencoderKLLoadOptions& options) {
  const auto paths = vae_resolve_paths(path);
  const auto config = AutoencoderKLConfig::from_file(paths.config);
  auto source = io::WeightSource::open(paths.weights);
  AutoencoderKL model(config, options.dtype, options.device);
  const std::string summary = "blocks " + vae_channels_string(config.block_out_channels) + ", latent " +
                              std::to_string(config.latent_channels);
  with_context("loading AutoencoderKL (" + summary + ", config " + paths.config.string() + ")",
               [&] { model->load_weights(source); });
  model->eval();
  log::get("models")->info("loaded AutoencoderKL from {} ({}, {})", source.description(), summary,
                           c10::toString(options.dtype));
  return model;
}

}  // namespace flowgrpo::models
