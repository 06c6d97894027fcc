#pragma once
/// @file geneval_scoring.h
/// Scores detected objects against GenEval metadata exactly as GenEval's evaluator and
/// flow_grpo's reward server do, with the ShapesEval detector in place of Mask2Former and
/// CLIP. Sources: djghosh13/geneval evaluation/evaluate_images.py::evaluate (official
/// correctness) and yifan123/reward-server reward_server/gen_eval.py::evaluate_reward
/// (partial-credit `score`, `strict_correct`). docs/shapes.md lists the correspondence.
///
/// Objects of a class are taken in detection order (highest confidence first, as
/// GenEval's detections are sorted), at most `max_objects` per class (MAX_OBJECTS = 16).
///
/// score (reward-server `score`, the training reward) is the mean of entries appended per
/// include clause, in order:
///  - count: 1 − |n_req − n| / n_req with n all objects of the class. Not clamped, so
///    over-generation goes negative (1 requested, 3 found: −1). [quirk 1]
///  - if the count is wrong and the clause has a colour or a position: one 0 (one entry
///    whatever it asks for), and neither is checked. [quirk 2]
///  - if the count is right and the clause has a colour: 1 − |n_req − n_color| / n_req
///    with n_color the objects of the requested colour.
///  - if the count is right, the colour (if any) right, and the clause has a position:
///    0 if the target clause failed; otherwise every object is checked against every
///    target object, a failure appends 0, and then 1 is appended in every case, so a
///    failed position contributes 0 and 1 and a passed one 1. [quirk 3] If the colour
///    failed no position entry is appended at all. [quirk 4]
///  - exclude clauses are ignored. [quirk 5] No include clause: score 0.
/// strict (reward-server `strict_correct`): every include clause has exactly n_req
/// objects, all of the requested colour, in the requested position; exclude ignored.
/// correct (GenEval's official `correct`): every include clause has >= n_req objects,
/// of which the n_req most confident are all of the requested colour and in the
/// requested position relative to the target clause's n_req most confident objects; and
/// every exclude clause has fewer than its count.

#include "flowgrpo/shapes/detector.h"
#include "flowgrpo/shapes/geometry.h"
#include "flowgrpo/shapes/prompt_spec.h"

#include <cstdint>
#include <string>
#include <vector>

namespace flowgrpo::shapes {

/// GenEval's evaluation constants.
struct ScoringOptions {
  /// POSITION_THRESHOLD.
  double position_threshold = kPositionThreshold;
  /// MAX_OBJECTS: detections kept per class.
  int64_t max_objects = 16;
};

/// The verdicts for one image.
struct GenevalResult {
  /// reward-server `score` (partial credit; may be negative, see above).
  double score = 0;
  /// reward-server `strict_correct`.
  bool strict = false;
  /// GenEval `correct`.
  bool correct = false;
  /// Why `strict` failed: the reward server's messages, one per line ("" if strict).
  std::string strict_reason;
  /// Why `correct` failed: GenEval's messages, one per line ("" if correct).
  std::string reason;
  /// The entries averaged into `score`, in order (for tests and debugging).
  std::vector<double> score_terms;
};

/// Scores `detections` (any order; they are ordered by confidence, stably) against `spec`
/// (any well-formed clauses; the template is not required). Throws std::invalid_argument
/// for a position naming a clause that is not earlier, or max_objects < 1.
GenevalResult score_geneval(const PromptSpec& spec, const std::vector<Detection>& detections,
                            const ScoringOptions& options = {});

}  // namespace flowgrpo::shapes
