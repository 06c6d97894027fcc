#pragma once
/// @file torchscript_reward.h
/// Rewards computed by a neural scorer exported once to TorchScript by
/// `scripts/export_reward_models.py` (where PyTorch and transformers are
/// installed) and run here with `torch::jit::load` — no Python at training time.
///
/// An exported reward model is a folder:
///   model.pt            the TorchScript module; `forward(pixel_values[, input_ids,
///                       attention_mask]) -> [N]` raw per-image scores (float)
///   reward_model.json   {"reward": name, "inputs": [...], "image_processor":
///                       {shortest_edge, crop_height, crop_width, mean, std},
///                       "max_length": 77, "source": ...}
///   tokenizer/          the CLIP tokenizer files (text-conditioned scorers only)
///
/// The rewards, with the reference's scaling (flow_grpo/rewards.py) applied here:
///   - `pickscore`:  PickScore_v1, logit_scale · cos(image, text) / 26
///   - `clip_score`: CLIP ViT-L/14 logits_per_image diagonal / 30
///   - `aesthetic`:  the LAION aesthetic MLP on the normalised CLIP-L/14 image
///                   embedding, unscaled
/// Valid ranges: the two CLIP scores are logit_scale · cos with |cos| <= 1, and CLIP
/// clamps logit_scale to at most 100 in training (Radford et al. 2021, section 2.5;
/// openai/clip-vit-large-patch14 stores ln 100). A fine-tune such as PickScore_v1 may
/// have moved it, so the bound on |raw| is twice that, 200 (real scores are about 20):
/// pickscore [−200/26, 200/26], clip_score [−200/30, 200/30]. Anything outside is a
/// broken export, not a preference. The aesthetic MLP is unbounded.
/// Images go through the exact CLIPImageProcessor steps (clip_image_processor.h)
/// and prompts through the CLIP tokenizer padded to `max_length` (the reference
/// pads to the batch's longest prompt; with the attention mask and CLIP's causal
/// mask the embeddings are the same).

#include "flowgrpo/rewards/clip_image_processor.h"
#include "flowgrpo/rewards/reward.h"

#include <filesystem>
#include <memory>
#include <string>

namespace flowgrpo::text {
class ClipTokenizer;
}

namespace flowgrpo::rewards {

class TorchScriptReward final : public Reward {
 public:
  /// What the reward is; fixes the scaling and whether a prompt is needed.
  struct Spec {
    std::string name;         ///< registry name, and the "reward" field the folder must carry
    bool uses_text;           ///< forward takes input_ids and attention_mask
    double scale;             ///< score = raw · scale
    std::string description;  ///< shown by the registry
    ScoreRange range{};       ///< valid scores (after scaling); unbounded when unknown
  };
  static Spec pickscore();
  static Spec clip_score();
  static Spec aesthetic();

  struct Options {
    std::filesystem::path path;  ///< the exported folder
    std::string device = "cpu";  ///< "cpu" or "cuda[:i]"
    int64_t batch_size = 32;     ///< images per forward call
  };
  /// Options from a reward_options JSON object: {path (required), device, batch_size}.
  /// Throws std::invalid_argument naming the bad or unknown key.
  static Options parse_options(const nlohmann::json& options, const std::string& reward_name);

  /// Loads and checks the folder (files present, reward_model.json matching `spec`,
  /// the module loadable). Throws std::invalid_argument naming the file and problem.
  TorchScriptReward(Spec spec, Options options);
  ~TorchScriptReward() override;

  std::string name() const override { return spec_.name; }
  RewardResult score(const RewardBatch& batch) override;
  /// The spec's range: ±200 · scale for the CLIP-based pickscore and clip_score (see
  /// the file comment), unbounded for aesthetic.
  ScoreRange valid_range() const override { return spec_.range; }

  const ClipImageOptions& image_options() const { return image_options_; }

 private:
  Spec spec_;
  Options options_;
  ClipImageOptions image_options_;
  int64_t max_length_ = 77;
  torch::ScalarType pixel_dtype_ = torch::kFloat;  ///< the exported module's dtype
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flowgrpo::rewards
