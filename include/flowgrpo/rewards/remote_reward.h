#pragma once
/// @file remote_reward.h
/// Rewards computed by an HTTP server (docs/reward_protocol.md): the generic `remote`
/// reward, `geneval` (a GenEval server: Mask2Former + CLIP) and `ocr` (a PaddleOCR server
/// whose recognised text is scored here with ocr_score.h). Reference servers live in
/// scripts/reward_servers/.
///
/// What the reward guarantees whatever the server does:
///  - a batch is sent in chunks of at most `max_batch` images (the reference's 64);
///  - transient failures are retried with exponential backoff and jitter: connection
///    refused / reset / closed, timeouts, HTTP 429 (waiting at least Retry-After),
///    500, 502, 503, 504. Nothing else is retried: other 4xx and 5xx codes and malformed
///    replies would fail the same way again;
///  - a sample that still has no score is invalidated with a reason naming the URL (and
///    logged at warn level), never scored 0;
///  - a circuit breaker: after `circuit_failures` consecutive failed requests the server
///    is not called for `circuit_cooldown_s`; chunks are invalidated at once ("circuit
///    open", with the last request's failure), then one probe request (no retries)
///    decides whether to close it again;
///  - every request has a deadline (`timeout_s`), so score() returns in bounded time:
///    at most (max_retries + 1) · timeout_s + the backoff waits per chunk, plus
///    `wait_for_recovery_s` (and the requests after it) once per outage;
///  - at most max_retries + 1 requests per chunk reach the server (libcurl's transparent
///    resend on a dropped keep-alive connection is disabled, http_client.h).
/// A failure of the reward itself (an image that cannot be encoded) throws
/// std::runtime_error from score().

#include "flowgrpo/rewards/http_client.h"
#include "flowgrpo/rewards/reward.h"
#include "flowgrpo/rewards/reward_registry.h"

#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

namespace flowgrpo::rewards {

enum class RemoteImageFormat { kPng, kJpeg };
/// "png", "jpeg".
std::string to_string(RemoteImageFormat format);
/// Parses "png" / "jpeg"; throws std::invalid_argument listing the valid names.
RemoteImageFormat parse_remote_image_format(const std::string& name);

/// Options of a remote reward (the config's `reward_options: {NAME: {...}}`).
struct RemoteRewardOptions {
  std::string url;                  ///< Server base URL; POST <url>/score, GET <url>/health. Required.
  double timeout_s = 120.0;         ///< Deadline per HTTP request (the reference's 120 s).
  double connect_timeout_s = 10.0;  ///< Deadline for connecting (within timeout_s).
  int max_retries = 3;              ///< Retries per request after the first attempt.
  double backoff_initial_s = 1.0;   ///< Wait before the first retry; doubles per retry.
  double backoff_max_s = 30.0;      ///< Cap on one wait; a longer Retry-After fails the request.
  int64_t max_batch = 64;           ///< Images per request.
  /// PNG is lossless; JPEG (quality 75, PIL's default) is what the reference's servers
  /// receive, so `geneval` defaults to it.
  RemoteImageFormat image_format = RemoteImageFormat::kPng;
  int circuit_failures = 5;          ///< Consecutive failed requests that open the circuit (0: never).
  double circuit_cooldown_s = 60.0;  ///< How long an open circuit rejects requests.
  bool health_check = true;          ///< GET <url>/health at construction; throw if it fails.
  /// How long an outage may be waited out (0: not at all). When a chunk fails with a
  /// transient failure after its retries, or the circuit is open, score() polls
  /// GET <url>/health until it answers 2xx, then sends the chunk again, for at most this
  /// many seconds per outage (from its first failure); only then are samples masked.
  /// For runs that would rather stall than lose epochs (train.max_invalid_reward_fraction).
  double wait_for_recovery_s = 0.0;

  /// The option names, in documentation order.
  static const std::vector<std::string>& keys();
  /// Reads `options` over `defaults`. Throws std::invalid_argument naming the reward and
  /// the option for a non-object, an unknown key (listing the valid ones), a wrong type
  /// or an out-of-range value, and when no url is given.
  static RemoteRewardOptions parse(const std::string& reward_name, const nlohmann::json& options,
                                   RemoteRewardOptions defaults);
  /// parse() over the default options.
  static RemoteRewardOptions parse(const std::string& reward_name, const nlohmann::json& options);
};

/// One sample's part of a validated server reply.
struct RemoteSampleReply {
  std::optional<double> score;      ///< `scores[i]`; nullopt for null (or no `scores` array).
  std::optional<std::string> text;  ///< `texts[i]`; nullopt for null (or no `texts` array).
  std::string error;                ///< `errors[i]`; "" for null.
};

/// The generic remote reward: score = the server's `scores[i]`; the server's
/// `components` are passed through (null → NaN).
class RemoteReward : public Reward {
 public:
  /// Throws std::invalid_argument if the options are invalid or if the health check is
  /// on and GET <url>/health does not answer 2xx (the message names the URL).
  RemoteReward(std::string name, RemoteRewardOptions options);
  ~RemoteReward() override;

  std::string name() const override { return name_; }
  /// Scores the batch through the server (see the file comment for the failure policy).
  /// Throws std::invalid_argument for a malformed batch.
  RewardResult score(const RewardBatch& batch) override;

  const RemoteRewardOptions& options() const { return options_; }
  /// Whether the circuit breaker currently rejects requests (for tests and monitoring).
  bool circuit_open() const;

 protected:
  /// Whether replies must carry `texts` (OCR) instead of `scores`.
  virtual bool expects_texts() const { return false; }
  /// Components a reply must contain in `mode` (a reply without them is malformed).
  virtual std::vector<std::string> required_components(ScoreMode mode) const;
  /// The score of one sample whose reply carries no error, or the reason it has none.
  virtual std::variant<double, std::string> sample_score(const RemoteSampleReply& reply,
                                                         const std::string& prompt) const;

 private:
  struct Attempt;
  Attempt send_once(const std::string& body) const;
  /// Sends one chunk with retries; returns the parsed reply or the reason it failed.
  /// `transient` tells whether the last failure was one a server restart can cure
  /// (connection failures, timeouts, retried statuses).
  std::variant<nlohmann::json, std::string> send_with_retries(const std::string& body, int max_retries,
                                                              bool& transient);
  /// Polls GET <url>/health until it answers 2xx (true) or the outage's wait_for_recovery_s
  /// is spent (false).
  bool wait_for_recovery();
  std::string encode_request(const RewardBatch& batch, const torch::Tensor& images, int64_t begin,
                             int64_t end, const std::string& id) const;
  void health_check() const;

  std::string name_;
  RemoteRewardOptions options_;
  std::string score_url_;
  std::string health_url_;
  std::unique_ptr<HttpClient> client_;
  std::mt19937_64 rng_;  // jitter and request ids
  uint64_t request_counter_ = 0;
  // Circuit breaker state (score() is never called concurrently on one instance).
  int consecutive_failures_ = 0;
  std::optional<std::chrono::steady_clock::time_point> open_until_;
  // The reason of the last failed request ("POST ...: connect failed ..."), quoted in the
  // "circuit open" reasons, which would otherwise hide it.
  std::string last_failure_;
  // End of the current outage's wait_for_recovery_s (set at its first failure).
  std::optional<std::chrono::steady_clock::time_point> recovery_deadline_;
};

/// GenEval through a server: score = the server's partial-credit `score`; components
/// `strict_accuracy` (always required) and `accuracy` (required in eval mode, when the
/// request's mode asks for the official metric too), plus whatever else it returns.
class GenevalRemoteReward : public RemoteReward {
 public:
  using RemoteReward::RemoteReward;
  /// The reference server's partial credit: [−(16 − 1), 1] (GenEval's MAX_OBJECTS = 16
  /// detections per class; see ShapesReward::valid_range). Override with min_score.
  ScoreRange valid_range() const override { return {-15.0, 1.0}; }

 protected:
  std::vector<std::string> required_components(ScoreMode mode) const override;
};

/// OCR through a server that returns the recognised text per image (`texts`); the reward
/// is ocr_reward(text, prompt) (ocr_score.h). A prompt whose target text is empty makes
/// its sample invalid.
class OcrRemoteReward : public RemoteReward {
 public:
  using RemoteReward::RemoteReward;
  /// 1 − capped edit distance / length lies in [0, 1].
  ScoreRange valid_range() const override { return {0.0, 1.0}; }

 protected:
  bool expects_texts() const override { return true; }
  std::variant<double, std::string> sample_score(const RemoteSampleReply& reply,
                                                 const std::string& prompt) const override;
};

/// Registers `remote` (url required), `geneval` (default url http://127.0.0.1:18085,
/// JPEG) and `ocr` (default url http://127.0.0.1:18087, PNG).
void register_remote_rewards(RewardRegistry& registry);

/// Standard base64 (RFC 4648, with padding).
std::string base64_encode(const uint8_t* data, size_t size);
/// Encodes an RGB uint8 image [3,H,W] as PNG bytes. Throws std::runtime_error on failure.
std::vector<uint8_t> encode_png(const torch::Tensor& image);

}  // namespace flowgrpo::rewards
