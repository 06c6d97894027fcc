#include "flowgrpo/shapes/shapes_text_encoder.h"
#include "flowgrpo/io/text_file.h"

#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/io/state_dict.h"
#include "flowgrpo/io/weight_source.h"

#include <cmath>
#include <fstream>
#include <set>
#include <stdexcept>

namespace flowgrpo::shapes {

namespace {}  // namespace

ShapesTextEncoderConfig ShapesTextEncoderConfig::from_json(const nlohmann::json& j,
                                                           const std::string& source) {
  if (!j.is_object()) throw std::invalid_argument(source + ": expected a JSON object");
  ShapesTextEncoderConfig c;
  const std::map<std::string, int64_t*> keys{{"vocab_size", &c.vocab_size},
                                             {"hidden_size", &c.hidden_size},
                                             {"intermediate_size", &c.intermediate_size},
                                             {"num_hidden_layers", &c.num_hidden_layers},
                                             {"num_attention_heads", &c.num_attention_heads},
                                             {"max_position_embeddings", &c.max_position_embeddings},
                                             {"projection_dim", &c.projection_dim}};
  for (const auto& [key, value] : j.items()) {
    if (key == "_class_name") continue;
    auto it = keys.find(key);
    if (it == keys.end()) {
      std::string valid;
      for (const auto& [k, v] : keys) valid += (valid.empty() ? "" : ", ") + k;
      throw std::invalid_argument(source + ": unknown key '" + key + "' (valid keys: " + valid + ")");
    }
    if (!value.is_number_integer())
      throw std::invalid_argument(source + ": key '" + key + "' must be an integer, found " +
                                  value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    *it->second = value.get<int64_t>();
  }
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(source + ": " + e.what());
  }
  return c;
}

ShapesTextEncoderConfig ShapesTextEncoderConfig::from_file(const std::filesystem::path& path) {
  return from_json(io::read_json_file(path), path.string());
}

nlohmann::json ShapesTextEncoderConfig::to_json() const {
  return {{"_class_name", "ShapesTextEncoder"},
          {"vocab_size", vocab_size},
          {"hidden_size", hidden_size},
          {"intermediate_size", intermediate_size},
          {"num_hidden_layers", num_hidden_layers},
          {"num_attention_heads", num_attention_heads},
          {"max_position_embeddings", max_position_embeddings},
          {"projection_dim", projection_dim}};
}

void ShapesTextEncoderConfig::validate() const {
  for (auto [name, v] : {std::pair<const char*, int64_t>{"vocab_size", vocab_size},
                         {"hidden_size", hidden_size},
                         {"intermediate_size", intermediate_size},
                         {"num_hidden_layers", num_hidden_layers},
                         {"num_attention_heads", num_attention_heads},
                         {"max_position_embeddings", max_position_embeddings},
                         {"projection_dim", projection_dim}})
    if (v < 1) throw std::invalid_argument(std::string(name) + " must be >= 1, found " + std::to_string(v));
  if (hidden_size % num_attention_heads != 0)
    throw std::invalid_argument("num_attention_heads (" + std::to_string(num_attention_heads) +
                                ") must divide hidden_size (" + std::to_string(hidden_size) + ")");
}

ShapesTextEncoderLayerImpl::ShapesTextEncoderLayerImpl(const ShapesTextEncoderConfig& c)
    : heads_(c.num_attention_heads) {
  const auto d = c.hidden_size;
  layer_norm1 =
      register_module("layer_norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(1e-5)));
  // transformers' CLIPAttention keeps q/k/v/out under `self_attn`.
  auto attn = std::make_shared<torch::nn::Module>();
  q_proj = attn->register_module("q_proj", torch::nn::Linear(d, d));
  k_proj = attn->register_module("k_proj", torch::nn::Linear(d, d));
  v_proj = attn->register_module("v_proj", torch::nn::Linear(d, d));
  out_proj = attn->register_module("out_proj", torch::nn::Linear(d, d));
  register_module("self_attn", attn);
  layer_norm2 =
      register_module("layer_norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(1e-5)));
  auto mlp = std::make_shared<torch::nn::Module>();
  fc1 = mlp->register_module("fc1", torch::nn::Linear(d, c.intermediate_size));
  fc2 = mlp->register_module("fc2", torch::nn::Linear(c.intermediate_size, d));
  register_module("mlp", mlp);
}

torch::Tensor ShapesTextEncoderLayerImpl::forward(const torch::Tensor& x) {
  const auto b = x.size(0);
  const auto l = x.size(1);
  const auto d = x.size(2);
  const auto head_dim = d / heads_;
  auto split = [&](const torch::Tensor& t) { return t.view({b, l, heads_, head_dim}).transpose(1, 2); };
  auto h = layer_norm1(x);
  auto a = at::scaled_dot_product_attention(split(q_proj(h)), split(k_proj(h)), split(v_proj(h)),
                                            /*attn_mask=*/{}, /*dropout_p=*/0.0, /*is_causal=*/false,
                                            1.0 / std::sqrt(static_cast<double>(head_dim)));
  auto y = x + out_proj(a.transpose(1, 2).reshape({b, l, d}));
  return y + fc2(torch::gelu(fc1(layer_norm2(y))));
}

ShapesTextEncoderImpl::ShapesTextEncoderImpl(const ShapesTextEncoderConfig& config) : config_(config) {
  config_.validate();
  const auto d = config_.hidden_size;
  auto embeddings = std::make_shared<torch::nn::Module>();
  token_embedding =
      embeddings->register_module("token_embedding", torch::nn::Embedding(config_.vocab_size, d));
  position_embedding = embeddings->register_module("position_embedding",
                                                   torch::nn::Embedding(config_.max_position_embeddings, d));
  register_module("embeddings", embeddings);
  auto encoder = std::make_shared<torch::nn::Module>();
  layers = encoder->register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) layers->push_back(ShapesTextEncoderLayer(config_));
  register_module("encoder", encoder);
  final_layer_norm =
      register_module("final_layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(1e-5)));
  text_projection = register_module(
      "text_projection", torch::nn::Linear(torch::nn::LinearOptions(d, config_.projection_dim).bias(false)));
  // Small embeddings as CLIP initialises them (std 0.02): LibTorch's default N(0,1) is far too large.
  torch::NoGradGuard no_grad;
  token_embedding->weight.normal_(0.0, 0.02);
  position_embedding->weight.normal_(0.0, 0.02);
}

ShapesTextEncoderImpl::Output ShapesTextEncoderImpl::forward(const torch::Tensor& ids,
                                                             const torch::Tensor& eos) {
  if (ids.dim() != 2 || ids.size(1) > config_.max_position_embeddings)
    throw std::invalid_argument(
        "text encoder: ids must be [B, L<=" + std::to_string(config_.max_position_embeddings) + "]");
  const auto positions =
      torch::arange(ids.size(1), torch::TensorOptions().dtype(torch::kLong).device(ids.device()));
  auto x = token_embedding(ids) + position_embedding(positions).unsqueeze(0);
  for (const auto& layer : *layers) x = layer->as<ShapesTextEncoderLayer>()->forward(x);
  x = final_layer_norm(x);
  const auto rows =
      torch::arange(ids.size(0), torch::TensorOptions().dtype(torch::kLong).device(ids.device()));
  const auto pooled = text_projection(x.index({rows, eos.to(ids.device())}));
  return {x, pooled};
}

void ShapesTextEncoderImpl::save(const std::filesystem::path& dir) const {
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / "config.json");
  out << config_.to_json().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  if (!out) throw std::runtime_error("could not write " + (dir / "config.json").string());
  io::TensorMap tensors;
  for (const auto& [name, t] : io::state_dict(*this)) tensors[name] = t.detach().to(torch::kCPU).contiguous();
  io::save_safetensors(dir / "model.safetensors", tensors);
}

std::shared_ptr<ShapesTextEncoderImpl> ShapesTextEncoderImpl::load(const std::filesystem::path& dir) {
  auto encoder =
      std::make_shared<ShapesTextEncoderImpl>(ShapesTextEncoderConfig::from_file(dir / "config.json"));
  io::load_state_dict(*encoder, io::WeightSource::open(dir / "model.safetensors"));
  return encoder;
}

}  // namespace flowgrpo::shapes
