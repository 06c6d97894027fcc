#pragma once
/// @file sd3_prompt_encoder.h
/// SD3 / SD3.5 prompt encoding: three tokenizers and three text encoders assembled
/// as diffusers' `StableDiffusion3Pipeline.encode_prompt` (and flow_grpo's
/// `encode_prompt`) do it (models.md §4):
///
///     l_h, l_pool = CLIP-L(ids_L)     hidden_states[-(clip_skip+2)] [B,77,dL], text_embeds [B,pL]
///     g_h, g_pool = CLIP-G(ids_G)     hidden_states[-(clip_skip+2)] [B,77,dG], text_embeds [B,pG]
///     clip   = pad(cat([l_h, g_h], -1), right, with zeros to T5's width D)
///     t5     = T5(ids_T5).last_hidden_state  [B,L,D]   (zeros when the folder has no T5)
///     prompt_embeds = cat([clip, t5], 1)      [B,77+L,D]
///     pooled        = cat([l_pool, g_pool], -1)  [B,pL+pG]
///
/// No attention mask reaches any encoder (padding tokens take part), as in the
/// reference. The components are the FLUX-reusable CLIPTextModelWithProjection and
/// T5EncoderModel; only this assembly is SD3's.

#include "flowgrpo/models/load_options.h"
#include "flowgrpo/models/pipelines/model_index.h"
#include "flowgrpo/models/pipelines/prompt_embedding_cache.h"
#include "flowgrpo/models/text_encoders/clip_text_model.h"
#include "flowgrpo/models/text_encoders/t5_encoder_model.h"
#include "flowgrpo/sampling/velocity_model.h"
#include "flowgrpo/text/clip_tokenizer.h"
#include "flowgrpo/text/t5_tokenizer.h"

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace flowgrpo::models {

struct SD3PromptEncoderOptions {
  /// T5 tokens L (padded / truncated to it). flow_grpo trains with 128; diffusers'
  /// pipeline default is 256.
  int64_t max_sequence_length = 128;
  /// diffusers' `clip_skip`: the CLIP states are hidden_states[-(clip_skip + 2)];
  /// 0 (the reference's, and diffusers' default None) is the penultimate layer.
  int64_t clip_skip = 0;

  /// @throws std::invalid_argument for max_sequence_length < 2 or clip_skip < 0.
  void validate() const;
  /// A stable text form, part of the cache fingerprint.
  std::string to_string() const;
};

/// The separate pieces of one encoding, for parity checks (flowgrpo-tool).
struct SD3PromptPieces {
  torch::Tensor clip_l_hidden, clip_g_hidden;  ///< the selected hidden states [B,77,d]
  torch::Tensor clip_l_pooled, clip_g_pooled;  ///< text_embeds [B,p]
  torch::Tensor t5;                            ///< [B,L,D]
};

class SD3PromptEncoder {
 public:
  /// Loads `text_encoder` (CLIP-L), `text_encoder_2` (CLIP-G), `text_encoder_3` (T5;
  /// may be absent from model_index.json as [null, null], then zeros stand in as in
  /// diffusers) and the three tokenizers of a pipeline folder, encoders in
  /// options.dtype on options.device, in eval mode.
  /// @throws std::invalid_argument naming the component folder and the problem.
  static std::unique_ptr<SD3PromptEncoder> from_pretrained(const ModelIndex& index,
                                                           const LoadOptions& options,
                                                           const SD3PromptEncoderOptions& encoding = {});

  /// The conditioning of `prompts` ("" is the unconditional prompt, encoded like any
  /// other, not zeroed: SD3's default). Runs without gradient; tensors in the encoders'
  /// dtype on their device. A prompt cut by a tokenizer is logged once with its length.
  /// @throws std::invalid_argument for an empty batch or a prompt that is not valid UTF-8.
  sampling::Conditioning encode(const std::vector<std::string>& prompts);
  /// The pieces before assembly (same computation as encode()).
  SD3PromptPieces encode_pieces(const std::vector<std::string>& prompts);
  /// Assembles pieces as encode() does. @throws std::invalid_argument on mismatched sizes.
  static sampling::Conditioning assemble(const SD3PromptPieces& pieces, int64_t joint_attention_dim);

  /// 77 + max_sequence_length.
  int64_t sequence_length() const;
  /// D, T5's d_model (or the width the zeros take without T5).
  int64_t joint_attention_dim() const { return joint_attention_dim_; }
  /// pL + pG.
  int64_t pooled_dim() const;

  /// Fingerprint of every file the encoding depends on (the three encoders' configs
  /// and weights, the three tokenizers' files) and of `encoding`: the key of a
  /// prompt-embedding cache. Reads only configs, headers and sampled blocks.
  /// @throws std::invalid_argument naming a missing component or file.
  static std::string fingerprint(const ModelIndex& index, const SD3PromptEncoderOptions& encoding,
                                 torch::Dtype dtype);

  /// The prompt-embedding cache at `path` holding every prompt of `prompts`: opened as
  /// is when it already does; otherwise built or extended (ensure_prompt_cache) with
  /// encoders loaded from `index` for that only, in `options`, and released after.
  /// @param may_encode false (ranks that wait for rank 0): a missing or incomplete cache
  ///        is an error instead.
  /// @throws std::invalid_argument for a stale cache (ensure_prompt_cache), or when
  ///         encoding is needed but not allowed.
  static PromptEmbeddingCache open_cache(const ModelIndex& index, const std::filesystem::path& path,
                                         const std::vector<std::string>& prompts, const LoadOptions& options,
                                         const SD3PromptEncoderOptions& encoding, bool may_encode = true,
                                         int64_t batch_size = 16, bool progress = true);

  /// Checks the three encoders' config.json files against the transformer's
  /// joint_attention_dim and pooled_projection_dim without loading weights.
  /// @throws std::invalid_argument naming both configs on a mismatch.
  static void check_fits_transformer(const ModelIndex& index, int64_t joint_attention_dim,
                                     int64_t pooled_projection_dim);

  CLIPTextModelWithProjection& clip_l() { return clip_l_; }
  CLIPTextModelWithProjection& clip_g() { return clip_g_; }
  /// Null when the folder has no T5.
  T5EncoderModel& t5() { return t5_; }
  const text::ClipTokenizer& clip_l_tokenizer() const { return *tokenizer_l_; }
  const text::ClipTokenizer& clip_g_tokenizer() const { return *tokenizer_g_; }
  /// Empty when the folder has no T5.
  const std::optional<text::T5Tokenizer>& t5_tokenizer() const { return tokenizer_t5_; }
  const SD3PromptEncoderOptions& options() const { return options_; }

 private:
  SD3PromptEncoder() = default;
  torch::Tensor clip_hidden(CLIPTextModelWithProjection& model, const CLIPTextOutput& out) const;
  void warn_truncated(const std::string& prompt, const char* tokenizer, int64_t tokens, int64_t limit);

  CLIPTextModelWithProjection clip_l_{nullptr}, clip_g_{nullptr};
  T5EncoderModel t5_{nullptr};
  std::optional<text::ClipTokenizer> tokenizer_l_, tokenizer_g_;
  std::optional<text::T5Tokenizer> tokenizer_t5_;
  SD3PromptEncoderOptions options_;
  int64_t joint_attention_dim_ = 0;
  torch::Dtype dtype_ = torch::kFloat;
  torch::Device device_ = torch::kCPU;
  std::set<std::string> warned_;
};

}  // namespace flowgrpo::models
