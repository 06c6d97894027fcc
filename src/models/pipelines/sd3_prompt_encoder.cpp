#include "flowgrpo/models/pipelines/sd3_prompt_encoder.h"

#include "flowgrpo/common/error.h"
#include "flowgrpo/common/shape_string.h"
#include "flowgrpo/io/file_fingerprint.h"
#include "flowgrpo/log/logging.h"
#include "flowgrpo/models/transformers/sd3_transformer_config.h"

#include <algorithm>
#include <stdexcept>

namespace flowgrpo::models {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kClipLength = 77;  // both CLIP tokenizers; SD3 pads and truncates to it

bool has_t5(const ModelIndex& index) {
  return index.components().count("text_encoder_3") != 0;
}

// Every regular file of a component folder, sorted, with its role name.
void add_folder(std::vector<std::pair<std::string, fs::path>>& files, const fs::path& dir,
                const std::string& role) {
  std::vector<fs::path> found;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) found.push_back(e.path());
  std::sort(found.begin(), found.end());
  if (found.empty()) throw std::invalid_argument("component folder " + dir.string() + " is empty");
  for (const auto& f : found) files.emplace_back(role + "/" + f.filename().string(), f);
}

}  // namespace

void SD3PromptEncoderOptions::validate() const {
  if (max_sequence_length < 2)
    throw std::invalid_argument("max_sequence_length = " + std::to_string(max_sequence_length) +
                                ": T5 needs at least 2 tokens (content and </s>)");
  if (clip_skip < 0)
    throw std::invalid_argument("clip_skip = " + std::to_string(clip_skip) + ": must be >= 0");
}

std::string SD3PromptEncoderOptions::to_string() const {
  return "L" + std::to_string(max_sequence_length) + "-clip_skip" + std::to_string(clip_skip);
}

std::unique_ptr<SD3PromptEncoder> SD3PromptEncoder::from_pretrained(const ModelIndex& index,
                                                                    const LoadOptions& options,
                                                                    const SD3PromptEncoderOptions& encoding) {
  encoding.validate();
  std::unique_ptr<SD3PromptEncoder> e(new SD3PromptEncoder());
  e->options_ = encoding;
  e->dtype_ = options.dtype;
  e->device_ = options.device;
  e->tokenizer_l_ = text::ClipTokenizer::from_directory(
      index.component_dir("tokenizer", "CLIPTokenizer|CLIPTokenizerFast"));
  e->tokenizer_g_ = text::ClipTokenizer::from_directory(
      index.component_dir("tokenizer_2", "CLIPTokenizer|CLIPTokenizerFast"));
  e->clip_l_ = CLIPTextModelWithProjection::from_pretrained(
      index.component_dir("text_encoder", "CLIPTextModelWithProjection"), options);
  e->clip_g_ = CLIPTextModelWithProjection::from_pretrained(
      index.component_dir("text_encoder_2", "CLIPTextModelWithProjection"), options);
  for (auto* m : {&e->clip_l_, &e->clip_g_})
    if ((*m)->config().max_position_embeddings < kClipLength)
      throw std::invalid_argument("a CLIP text encoder of " + index.dir().string() + " has " +
                                  std::to_string((*m)->config().max_position_embeddings) +
                                  " positions; SD3 feeds 77 tokens");
  if (has_t5(index)) {
    e->tokenizer_t5_ =
        text::T5Tokenizer::from_directory(index.component_dir("tokenizer_3", "T5TokenizerFast|T5Tokenizer"));
    e->t5_ =
        T5EncoderModel::from_pretrained(index.component_dir("text_encoder_3", "T5EncoderModel"), options);
    e->joint_attention_dim_ = e->t5_->config().d_model;
  } else {
    // diffusers: without text_encoder_3 the T5 part is zeros of the transformer's width.
    e->joint_attention_dim_ = SD3TransformerConfig::from_file(
                                  index.component_dir("transformer", "SD3Transformer2DModel") / "config.json")
                                  .joint_attention_dim;
  }
  const int64_t clip_width = e->clip_l_->config().hidden_size + e->clip_g_->config().hidden_size;
  if (clip_width > e->joint_attention_dim_)
    throw std::invalid_argument(index.dir().string() + ": CLIP-L and CLIP-G widths add up to " +
                                std::to_string(clip_width) + ", more than the T5 width " +
                                std::to_string(e->joint_attention_dim_) + " they are zero-padded to");
  return e;
}

int64_t SD3PromptEncoder::sequence_length() const {
  return kClipLength + options_.max_sequence_length;
}

int64_t SD3PromptEncoder::pooled_dim() const {
  return clip_l_->config().projection_dim + clip_g_->config().projection_dim;
}

torch::Tensor SD3PromptEncoder::clip_hidden(CLIPTextModelWithProjection& model,
                                            const CLIPTextOutput& out) const {
  if (options_.clip_skip == 0) return out.penultimate_hidden_state;
  const auto n = static_cast<int64_t>(out.hidden_states.size());
  const int64_t index = n - (options_.clip_skip + 2);
  if (index < 0)
    throw std::invalid_argument("clip_skip = " + std::to_string(options_.clip_skip) +
                                " but the CLIP encoder has " +
                                std::to_string(model->config().num_hidden_layers) + " layers");
  return out.hidden_states[static_cast<size_t>(index)];
}

void SD3PromptEncoder::warn_truncated(const std::string& prompt, const char* tokenizer, int64_t tokens,
                                      int64_t limit) {
  if (!warned_.insert(std::string(tokenizer) + "\n" + prompt).second) return;
  log::get("pipeline")->warn("{} cut a prompt of {} tokens to {}: \"{}\"", tokenizer, tokens, limit, prompt);
}

SD3PromptPieces SD3PromptEncoder::encode_pieces(const std::vector<std::string>& prompts) {
  if (prompts.empty()) throw std::invalid_argument("SD3 prompt encoding: empty batch");
  torch::NoGradGuard no_grad;
  for (const auto& p : prompts) {
    const auto n = static_cast<int64_t>(tokenizer_l_->encode(p).size());
    if (n > kClipLength - 2) warn_truncated(p, "the CLIP tokenizers", n + 2, kClipLength);
  }
  const bool all_states = options_.clip_skip > 0;
  SD3PromptPieces pieces;
  const auto out_l = clip_l_->forward(tokenizer_l_->encode_batch(prompts, kClipLength).input_ids, all_states);
  const auto out_g = clip_g_->forward(tokenizer_g_->encode_batch(prompts, kClipLength).input_ids, all_states);
  pieces.clip_l_hidden = clip_hidden(clip_l_, out_l);
  pieces.clip_g_hidden = clip_hidden(clip_g_, out_g);
  pieces.clip_l_pooled = out_l.text_embeds;
  pieces.clip_g_pooled = out_g.text_embeds;
  const int64_t length = options_.max_sequence_length;
  if (t5_.is_empty()) {
    pieces.t5 = torch::zeros({static_cast<int64_t>(prompts.size()), length, joint_attention_dim_},
                             torch::TensorOptions().dtype(dtype_).device(device_));
  } else {
    const auto ids = tokenizer_t5_->encode_batch(prompts, length);
    for (size_t i = 0; i < prompts.size(); ++i)
      if (ids.num_tokens_untruncated[i] > length)
        warn_truncated(prompts[i], "the T5 tokenizer", ids.num_tokens_untruncated[i], length);
    pieces.t5 = t5_->forward(ids.input_ids).last_hidden_state;
  }
  return pieces;
}

sampling::Conditioning SD3PromptEncoder::assemble(const SD3PromptPieces& p, int64_t joint_attention_dim) {
  const int64_t width = p.clip_l_hidden.size(-1) + p.clip_g_hidden.size(-1);
  if (p.t5.dim() != 3 || p.t5.size(-1) != joint_attention_dim || width > joint_attention_dim ||
      p.clip_l_hidden.size(0) != p.t5.size(0) || p.clip_g_hidden.size(0) != p.t5.size(0))
    throw std::invalid_argument("SD3 prompt assembly: CLIP states " + shape_string(p.clip_l_hidden.sizes()) +
                                " and " + shape_string(p.clip_g_hidden.sizes()) + " do not fit T5 states " +
                                shape_string(p.t5.sizes()) + " of width " +
                                std::to_string(joint_attention_dim));
  // Each encoder's output in its own dtype, as diffusers casts; the T5 dtype wins on concat.
  auto clip = torch::cat({p.clip_l_hidden, p.clip_g_hidden.to(p.clip_l_hidden.scalar_type())}, -1);
  clip = torch::constant_pad_nd(clip, {0, joint_attention_dim - width}, 0);
  auto embeds = torch::cat({clip.to(p.t5.scalar_type()), p.t5}, 1);
  auto pooled = torch::cat({p.clip_l_pooled, p.clip_g_pooled.to(p.clip_l_pooled.scalar_type())}, -1);
  return {embeds, pooled};
}

sampling::Conditioning SD3PromptEncoder::encode(const std::vector<std::string>& prompts) {
  return assemble(encode_pieces(prompts), joint_attention_dim_);
}

std::string SD3PromptEncoder::fingerprint(const ModelIndex& index, const SD3PromptEncoderOptions& encoding,
                                          torch::Dtype dtype) {
  encoding.validate();
  std::vector<std::pair<std::string, fs::path>> files;
  add_folder(files, index.component_dir("text_encoder", "CLIPTextModelWithProjection"), "text_encoder");
  add_folder(files, index.component_dir("text_encoder_2", "CLIPTextModelWithProjection"), "text_encoder_2");
  add_folder(files, index.component_dir("tokenizer", "CLIPTokenizer|CLIPTokenizerFast"), "tokenizer");
  add_folder(files, index.component_dir("tokenizer_2", "CLIPTokenizer|CLIPTokenizerFast"), "tokenizer_2");
  if (has_t5(index)) {
    add_folder(files, index.component_dir("text_encoder_3", "T5EncoderModel"), "text_encoder_3");
    add_folder(files, index.component_dir("tokenizer_3", "T5TokenizerFast|T5Tokenizer"), "tokenizer_3");
  } else {
    files.emplace_back("transformer/config.json",
                       index.component_dir("transformer", "SD3Transformer2DModel") / "config.json");
  }
  return io::fingerprint_files(files) + "-" + encoding.to_string() + "-" + std::string(c10::toString(dtype));
}

PromptEmbeddingCache SD3PromptEncoder::open_cache(const ModelIndex& index, const fs::path& path,
                                                  const std::vector<std::string>& prompts,
                                                  const LoadOptions& options,
                                                  const SD3PromptEncoderOptions& encoding, bool may_encode,
                                                  int64_t batch_size, bool progress) {
  std::unique_ptr<SD3PromptEncoder> encoder;  // loaded only if something is to be encoded
  return ensure_prompt_cache(
      path, prompts, fingerprint(index, encoding, options.dtype),
      "text encoders of " + index.dir().string() + " (" + encoding.to_string() + ", " +
          c10::toString(options.dtype) + ")",
      [&](const std::vector<std::string>& batch) {
        if (!may_encode)
          throw std::invalid_argument("prompt cache " + path.string() +
                                      " is missing or lacks prompts, and this process does not build it");
        if (!encoder) encoder = from_pretrained(index, options, encoding);
        return encoder->encode(batch);
      },
      batch_size, progress);
}

void SD3PromptEncoder::check_fits_transformer(const ModelIndex& index, int64_t joint_attention_dim,
                                              int64_t pooled_projection_dim) {
  const auto l_file = index.component_dir("text_encoder", "CLIPTextModelWithProjection") / "config.json";
  const auto g_file = index.component_dir("text_encoder_2", "CLIPTextModelWithProjection") / "config.json";
  const auto l = CLIPTextConfig::from_file(l_file);
  const auto g = CLIPTextConfig::from_file(g_file);
  const auto transformer_file = index.component_dir("transformer", "SD3Transformer2DModel") / "config.json";
  if (l.projection_dim + g.projection_dim != pooled_projection_dim)
    throw std::invalid_argument("the pooled text embedding is " + l_file.string() + " projection_dim " +
                                std::to_string(l.projection_dim) + " + " + g_file.string() +
                                " projection_dim " + std::to_string(g.projection_dim) + " = " +
                                std::to_string(l.projection_dim + g.projection_dim) + ", but " +
                                transformer_file.string() + " has pooled_projection_dim " +
                                std::to_string(pooled_projection_dim));
  int64_t width = joint_attention_dim;
  if (has_t5(index)) {
    const auto t5_file = index.component_dir("text_encoder_3", "T5EncoderModel") / "config.json";
    const auto t5 = T5Config::from_file(t5_file);
    if (t5.d_model != joint_attention_dim)
      throw std::invalid_argument(t5_file.string() + " has d_model " + std::to_string(t5.d_model) + ", but " +
                                  transformer_file.string() + " has joint_attention_dim " +
                                  std::to_string(joint_attention_dim));
    width = t5.d_model;
  }
  if (l.hidden_size + g.hidden_size > width)
    throw std::invalid_argument("CLIP widths " + l_file.string() + " hidden_size " +
                                std::to_string(l.hidden_size) + " + " + g_file.string() + " hidden_size " +
                                std::to_string(g.hidden_size) + " exceed joint_attention_dim " +
                                std::to_string(width) + " of " + transformer_file.string());
}

}  // namespace flowgrpo::models
