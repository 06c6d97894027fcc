#include "flowgrpo/models/text_encoders/clip_text_transformer.h"

#include "flowgrpo/common/shape_string.h"

#include <stdexcept>
#include <string>

namespace flowgrpo::models {

torch::Tensor clip_pooling_positions(const torch::Tensor& input_ids, int64_t eos_token_id) {
  // modeling_clip.py::CLIPTextTransformer.forward. torch.argmax returns the first
  // maximal index, so both rules pick the FIRST end-of-text token when pad = eos.
  const auto ids = input_ids.to(torch::kLong);
  if (eos_token_id == 2) return ids.argmax(-1);
  return ids.eq(eos_token_id).to(torch::kInt).argmax(-1);
}

void clip_check_input_ids(const torch::Tensor& input_ids, const CLIPTextConfig& config) {
  const std::string prefix = "CLIPTextModel: input_ids: ";
  if (!input_ids.defined())
    throw std::invalid_argument(prefix + "expected [B, S] integer ids, found an undefined tensor");
  const std::string shape = shape_string(input_ids.sizes());
  if (input_ids.dim() != 2) throw std::invalid_argument(prefix + "expected shape [B, S], found " + shape);
  if (!c10::isIntegralType(input_ids.scalar_type(), /*includeBool=*/false)) {
    throw std::invalid_argument(prefix + "expected an integer dtype (int64), found " +
                                std::string(c10::toString(input_ids.scalar_type())));
  }
  if (input_ids.size(0) == 0 || input_ids.size(1) == 0)
    throw std::invalid_argument(prefix + "expected a non-empty [B, S], found " + shape);
  if (input_ids.size(1) > config.max_position_embeddings) {
    throw std::invalid_argument(prefix + "sequence length " + std::to_string(input_ids.size(1)) +
                                " exceeds max_position_embeddings = " +
                                std::to_string(config.max_position_embeddings) + " (shape " + shape + ")");
  }
  const int64_t lo = input_ids.min().item<int64_t>();
  const int64_t hi = input_ids.max().item<int64_t>();
  if (lo < 0 || hi >= config.vocab_size) {
    throw std::invalid_argument(prefix +
                                "expected ids in [0, vocab_size = " + std::to_string(config.vocab_size) +
                                "), found ids from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
}

CLIPTextTransformerImpl::CLIPTextTransformerImpl(const CLIPTextConfig& config,
                                                 const torch::TensorOptions& options)
    : config_(config) {
  config_.validate();
  embeddings = register_module("embeddings", CLIPTextEmbeddings(config_, options));
  encoder = register_module("encoder", CLIPEncoder(config_, options));
  final_layer_norm = register_module("final_layer_norm",
                                     CLIPLayerNorm(config_.hidden_size, config_.layer_norm_eps, options));
}

CLIPTextOutput CLIPTextTransformerImpl::forward(const torch::Tensor& input_ids, bool output_hidden_states) {
  clip_check_input_ids(input_ids, config_);
  const auto ids = input_ids.to(final_layer_norm->weight.device(), torch::kLong);
  CLIPTextOutput out;
  const auto x = embeddings->forward(ids);
  const auto last =
      encoder->forward(x, output_hidden_states ? &out.hidden_states : nullptr, &out.penultimate_hidden_state);
  out.last_hidden_state = final_layer_norm->forward(last);
  out.eos_index = clip_pooling_positions(ids, config_.eos_token_id);
  out.pooled = out.last_hidden_state.index({torch::arange(ids.size(0), ids.options()), out.eos_index});
  return out;
}

}  // namespace flowgrpo::models
