#pragma once
/// @file shapes_reward.h
/// The ShapesEval reward ("shapes"): GenEval's reward server in miniature. Each image is
/// parsed by shapes::Detector and judged against its GenEval metadata (never by
/// re-reading the prompt) with shapes::score_geneval (docs/shapes.md):
///  - scores: the reward server's partial-credit `score` (the training reward; it can be
///    negative when objects are over-generated, as the server's);
///  - components (float64 [N], NaN for invalid samples):
///    `strict_accuracy` (1/0, the server's strict_correct), `accuracy` (1/0, GenEval's
///    official correctness), `num_objects` (detected objects), and per GenEval tag
///    `<tag>_strict_accuracy` / `<tag>_accuracy` (NaN for samples of other tags, where the
///    server reports −10).
/// Both accuracies are computed in every ScoreMode (they cost nothing here; the server
/// skips `accuracy` when only_strict is set and then reports it as 0).
/// A sample whose metadata is not ShapesEval GenEval metadata (not an object, an unknown
/// tag, class, colour or relation, a malformed clause) is invalid with the reason.

#include "flowgrpo/rewards/reward.h"
#include "flowgrpo/shapes/detector.h"
#include "flowgrpo/shapes/geneval_scoring.h"

#include <memory>

namespace flowgrpo::rewards {

struct ShapesRewardOptions {
  shapes::DetectorOptions detector;
  shapes::ScoringOptions scoring;
};

class ShapesReward final : public Reward {
 public:
  /// Throws std::invalid_argument for invalid detector options.
  explicit ShapesReward(ShapesRewardOptions options = {});

  /// Builds the reward from its config options: any of "color_threshold", "min_coverage",
  /// "min_area_fraction", "max_aspect", "min_shape_iou", "shape_size" (detector) and
  /// "position_threshold", "max_objects" (GenEval constants), numbers. Throws
  /// std::invalid_argument for options that are not an object, an unknown key (listing
  /// the valid ones), a non-numeric value or an invalid value.
  static std::unique_ptr<ShapesReward> from_options(const nlohmann::json& options);

  std::string name() const override { return "shapes"; }

  /// Scores a batch (any image size the detector handles; uint8 or float [0,1]). Throws
  /// std::invalid_argument if the batch is malformed (RewardBatch::validate).
  RewardResult score(const RewardBatch& batch) override;
  /// [−(max_objects − 1), 1]. GenEval's partial credit is at most 1 and at least
  /// 1 − (max_objects − 1), a count clause asking for one object that finds max_objects
  /// (credit 1 − |1 − n| / 1); the lower end leaves a margin of 1 below that.
  ScoreRange valid_range() const override;

  const ShapesRewardOptions& options() const { return options_; }

 private:
  ShapesRewardOptions options_;
  shapes::Detector detector_;
};

}  // namespace flowgrpo::rewards
