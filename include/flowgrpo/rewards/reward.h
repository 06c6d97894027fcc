#pragma once
/// @file reward.h
/// The interface every reward implements. Researchers extend flowgrpo by
/// subclassing `Reward` and registering the class (rewards/reward_registry.h);
/// docs/rewards.md walks through a complete example.
///
/// The rule that shapes this interface: a failed score never silently becomes a
/// number. A reward that cannot score a sample marks it invalid (with a reason);
/// the trainer then leaves that sample out of its group's statistics.

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <limits>
#include <map>
#include <string>
#include <vector>

namespace flowgrpo::rewards {

/// The closed interval a reward's valid scores lie in. A score outside it is not a
/// training signal but a broken scorer (a server replying 1e308), so it is masked like a
/// failed sample (score_range_reward.h). Unbounded by default.
struct ScoreRange {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();

  /// Whether either end is finite (an unbounded range checks nothing).
  bool bounded() const { return min > -std::numeric_limits<double>::infinity() ||
                                max < std::numeric_limits<double>::infinity(); }
  bool contains(double v) const { return v >= min && v <= max; }
  /// "[-15, 1]", "[0, inf]".
  std::string to_string() const;
};

/// Why a batch is being scored. Training uses the cheap partial-credit score;
/// evaluation additionally asks for strict metrics (the reference's
/// `only_strict = False`).
enum class ScoreMode { kTrain, kEval };

/// What a reward sees for one batch.
struct RewardBatch {
  /// Images [N,3,H,W], RGB, on the CPU: uint8 in [0,255] or float32 in [0,1]
  /// (as the VAE/pipeline produces them). Use `as_uint8` / `as_float01` to get
  /// the form a scorer needs; both are exact conversions of the reference's
  /// `(x·255).round().clamp(0,255)`.
  torch::Tensor images;
  /// The prompt of every image, N entries.
  std::vector<std::string> prompts;
  /// Per-image metadata from the prompt file (GenEval: tag/include/exclude;
  /// `{}` for plain-text prompts), N entries.
  std::vector<nlohmann::json> metadata;
  ScoreMode mode = ScoreMode::kTrain;

  int64_t size() const { return images.defined() ? images.size(0) : 0; }
  /// Images as uint8 [N,3,H,W]; float input is mapped by round(x·255) clamped to [0,255].
  torch::Tensor as_uint8() const;
  /// Images as float32 [N,3,H,W] in [0,1]; uint8 input is divided by 255.
  torch::Tensor as_float01() const;
  /// Throws std::invalid_argument unless the fields agree (N, layout, dtype, range of float images).
  void validate() const;
};

/// A reward's answer for one batch.
struct RewardResult {
  /// [N] float64: the training signal. Entries where `valid` is false are NaN.
  torch::Tensor scores;
  /// [N] bool: false where the sample could not be scored (server error, model
  /// failure, unparseable answer). Such samples are masked, never scored 0.
  torch::Tensor valid;
  /// Human-readable reason per invalid sample ("" for valid ones), N entries.
  std::vector<std::string> errors;
  /// Further named per-sample values, [N] float64 each, logged and used by
  /// evaluation (e.g. GenEval's `strict_accuracy`). NaN where not applicable.
  std::map<std::string, torch::Tensor> components;

  /// An all-valid result from scores [N].
  static RewardResult from_scores(torch::Tensor scores);
  /// Marks sample i invalid with a reason (its score becomes NaN).
  void invalidate(int64_t i, const std::string& reason);
  int64_t size() const { return scores.defined() ? scores.size(0) : 0; }
  int64_t num_invalid() const;
  /// Throws std::runtime_error naming `reward_name` unless the result matches a batch
  /// of `n`: shapes, dtypes, NaN exactly where invalid, errors for invalid samples.
  void check(const std::string& reward_name, int64_t n) const;
  /// The component `name`, or a combined reward's `<member>/name` (the first such
  /// in key order); nullptr when there is none.
  const torch::Tensor* find_component(const std::string& name) const;
};

/// A reward function.
///
/// Contract for implementations:
///  - `name()`: the registry name (e.g. "jpeg_compressibility"); stable, lowercase.
///  - `score(batch)`: must return a RewardResult of size batch.size() (checked by
///    the caller). Must not modify the batch. May be slow (a model, a server): the
///    trainer calls it from a worker thread while the next batch samples.
///  - Threading: `score` is never called concurrently on the same instance (the
///    AsyncRewardScorer serialises calls per reward), so implementations need no
///    locking of their own; it may be called from a thread other than the one
///    that constructed the reward.
///  - Errors: a failure that concerns some samples (one bad image, one failed
///    request) is reported through `invalidate`; a failure of the whole reward
///    (model file missing, misconfiguration) throws std::invalid_argument at
///    construction, or std::runtime_error from score() if it only appears then,
///    which stops training with the reward's name in the message.
///  - Tensors: use InferenceMode or NoGradGuard inside; results go back on the CPU.
class Reward {
 public:
  virtual ~Reward() = default;
  virtual std::string name() const = 0;
  virtual RewardResult score(const RewardBatch& batch) = 0;
  /// The range every valid score of this reward lies in, as far as the reward knows it
  /// (e.g. brightness: [0, 1]). The registry masks scores outside it; the options
  /// `min_score` / `max_score` override it (reward_registry.h). Default: unbounded.
  virtual ScoreRange valid_range() const { return {}; }
};

}  // namespace flowgrpo::rewards
