#include "flowgrpo/models/text_encoders/t5_encoder_model.h"

#include "flowgrpo/common/error.h"
#include "flowgrpo/common/shape_string.h"
#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/io/state_dict.h"
#include "flowgrpo/io/weight_source.h"
#include "flowgrpo/log/logging.h"

#include <sstream>
#include <stdexcept>
#include <string>

namespace flowgrpo::models {

namespace fs = std::filesystem;

namespace {

constexpr const char* kT5SharedName = "shared.weight";
/// transformers' T5EncoderModel._tied_weights_keys: the stack's view of `shared`.
constexpr const char* kT5TiedEmbedName = "encoder.embed_tokens.weight";

void t5_check_dtype(torch::Dtype dtype) {
  if (dtype != torch::kFloat && dtype != torch::kBFloat16 && dtype != torch::kHalf) {
    throw std::invalid_argument(std::string("T5EncoderModel: unsupported parameter dtype ") +
                                c10::toString(dtype) + " (expected Float, BFloat16 or Half)");
  }
}

std::string t5_found(const torch::Tensor& t) {
  if (!t.defined()) return "an undefined tensor";
  return shape_string(t.sizes()) + " " + c10::toString(t.scalar_type());
}

/// input_ids as int64 on `device`, after checking rank, dtype and range.
torch::Tensor t5_checked_ids(const torch::Tensor& ids, int64_t vocab_size, torch::Device device) {
  if (!ids.defined() || ids.dim() != 2 || !c10::isIntegralType(ids.scalar_type(), /*includeBool=*/false)) {
    throw std::invalid_argument("T5EncoderModel: input_ids: expected [B, S] of an integer dtype, found " +
                                t5_found(ids));
  }
  if (ids.size(0) == 0 || ids.size(1) == 0) {
    throw std::invalid_argument("T5EncoderModel: input_ids: expected a non-empty [B, S], found " +
                                shape_string(ids.sizes()));
  }
  auto out = ids.to(device, torch::kLong);
  const auto bad = (out < 0).logical_or(out >= vocab_size);
  if (bad.any().item<bool>()) {
    const auto where = bad.nonzero()[0];
    const int64_t b = where[0].item<int64_t>(), s = where[1].item<int64_t>();
    throw std::invalid_argument("T5EncoderModel: input_ids: expected ids in [0, " +
                                std::to_string(vocab_size) + ") (vocab_size), found " +
                                std::to_string(out[b][s].item<int64_t>()) + " at [" + std::to_string(b) +
                                ", " + std::to_string(s) + "]");
  }
  return out;
}

torch::Tensor t5_checked_mask(const torch::Tensor& mask, const torch::Tensor& ids) {
  if (!mask.defined()) return mask;
  if (mask.sizes() != ids.sizes() || c10::isComplexType(mask.scalar_type())) {
    throw std::invalid_argument("T5EncoderModel: attention_mask: expected " + shape_string(ids.sizes()) +
                                " (the shape of input_ids) of 0 / 1, found " + t5_found(mask));
  }
  const auto m = mask.to(ids.device());
  const auto bad = (m != 0).logical_and(m != 1);
  if (bad.any().item<bool>()) {
    std::ostringstream value;
    value << m.masked_select(bad)[0].to(torch::kDouble).item<double>();
    throw std::invalid_argument(
        "T5EncoderModel: attention_mask: expected only 0 (padding) and 1 (token), found " + value.str());
  }
  return m;
}

}  // namespace

T5EncoderModelImpl::T5EncoderModelImpl(const T5Config& config, torch::Dtype dtype, torch::Device device)
    : config_(config) {
  config_.validate();
  t5_check_dtype(dtype);
  const auto options = torch::TensorOptions().dtype(dtype).device(device);
  // modeling_t5.py::T5EncoderModel.__init__: shared = nn.Embedding(vocab, d_model),
  // encoder = T5Stack(config, shared); _init_weights draws shared from N(0, factor²).
  shared = register_module(
      "shared", T5Embedding(config_.vocab_size, config_.d_model, config_.initializer_factor, options));
  encoder = register_module("encoder", T5Stack(config_, options));
}

torch::Dtype T5EncoderModelImpl::dtype() const {
  return shared->weight.scalar_type();
}

torch::Device T5EncoderModelImpl::device() const {
  return shared->weight.device();
}

T5EncoderOutput T5EncoderModelImpl::forward(const torch::Tensor& input_ids,
                                            const torch::Tensor& attention_mask, bool output_hidden_states) {
  const auto ids = t5_checked_ids(input_ids, config_.vocab_size, device());
  const auto mask = t5_checked_mask(attention_mask, ids);
  return encoder->forward(shared->forward(ids), mask, output_hidden_states);
}

void T5EncoderModelImpl::load_weights(const io::WeightSource& source) {
  io::LoadOptions options;
  options.convert_dtype = true;
  if (!source.contains(kT5TiedEmbedName)) {
    io::load_state_dict(*this, source, options);
    return;
  }
  // transformers may save the tied embedding under the stack's name too
  // (T5EncoderModel._tied_weights_keys); it is the same tensor as shared.weight.
  io::TensorMap tensors;
  for (const auto& name : source.names()) tensors.emplace(name, source.view(name));
  const auto tied = tensors.at(kT5TiedEmbedName);
  tensors.erase(kT5TiedEmbedName);
  std::string description = source.description();
  const auto it = tensors.find(kT5SharedName);
  if (it == tensors.end()) {
    tensors.emplace(kT5SharedName, tied);
    description += " (" + std::string(kT5TiedEmbedName) + " loaded as " + kT5SharedName + ")";
  } else {
    const auto& shared_file = it->second;
    const bool same_shape = tied.sizes() == shared_file.sizes();
    const bool same =
        same_shape && (tied.scalar_type() == shared_file.scalar_type()
                           ? torch::equal(tied, shared_file)
                           : torch::equal(tied.to(torch::kDouble), shared_file.to(torch::kDouble)));
    if (!same) {
      throw std::invalid_argument(
          "loading weights from " + source.description() + ": " + kT5TiedEmbedName + " " + t5_found(tied) +
          " and " + kT5SharedName + " " + t5_found(shared_file) +
          (same_shape ? " differ in value" : " differ in shape") +
          " (transformers ties them: a file holding both must hold the same tensor twice)");
    }
  }
  io::load_state_dict(*this, tensors, description, options);
}

void T5EncoderModelImpl::save_pretrained(const fs::path& dir) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
  config_.save(dir / "config.json");
  // {"format": "pt"}: the metadata transformers' save_pretrained writes.
  io::save_safetensors(dir / "model.safetensors", io::state_dict(*this), {{"format", "pt"}});
}

namespace {

struct T5ResolvedPaths {
  fs::path config;
  fs::path weights;
};

T5ResolvedPaths t5_resolve_paths(const fs::path& path) {
  if (!fs::exists(path)) throw std::invalid_argument("T5EncoderModel path does not exist: " + path.string());
  if (fs::is_directory(path)) {
    if (!fs::is_regular_file(path / "config.json")) {
      throw std::invalid_argument("no T5EncoderModel config in " + path.string() +
                                  ": expected config.json (a component folder such as text_encoder_3/)");
    }
    return {path / "config.json", path};
  }
  const fs::path config = path.parent_path() / "config.json";
  if (!fs::is_regular_file(config)) {
    throw std::invalid_argument("no config.json beside the T5EncoderModel weights " + path.string() +
                                " (looked for " + config.string() + ")");
  }
  return {config, path};
}

}  // namespace

T5EncoderModel T5EncoderModel::from_pretrained(const fs::path& path, const LoadOptions& options) {
  const auto paths = t5_resolve_paths(path);
  const auto config = T5Config::from_file(paths.config);
  t5_check_dtype(options.dtype);
  auto source = io::WeightSource::open(paths.weights);
  T5EncoderModel model(config, options.dtype, options.device);
  const std::string summary = "d_model " + std::to_string(config.d_model) + ", " +
                              std::to_string(config.num_layers) + " layers, " + config.feed_forward_proj;
  with_context("loading T5EncoderModel (" + summary + ", config " + paths.config.string() + ")",
               [&] { model->load_weights(source); });
  model->eval();
  log::get("models")->info("loaded T5EncoderModel from {} ({}, {}{})", source.description(), summary,
                           c10::toString(options.dtype),
                           options.dtype == torch::kHalf ? ", wo in Float" : "");
  return model;
}

}  // namespace flowgrpo::models
