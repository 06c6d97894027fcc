#include "flowgrpo/rewards/remote_reward.h"

#include "flowgrpo/log/logging.h"
#include "flowgrpo/rewards/http_url.h"
#include "flowgrpo/rewards/jpeg_reward.h"
#include "flowgrpo/rewards/ocr_score.h"

#include <curl/curl.h>
#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace flowgrpo::rewards {

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

// PIL's default JPEG quality, which the reference's clients use (`img.save(buf, format="JPEG")`).
constexpr int kJpegQuality = 75;
// The protocol version this client speaks (docs/reward_protocol.md).
constexpr int kProtocolVersion = 1;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string format_seconds(double s) {
  std::ostringstream os;
  os.precision(3);
  os << s << " s";
  return os.str();
}

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(seconds * 1000.0)));
}

// Retry-After: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). Fractional seconds are
// accepted too (not standard, but harmless and handy for fast tests).
std::optional<double> parse_retry_after(const std::string& value) {
  if (value.empty()) return std::nullopt;
  char* end = nullptr;
  const double seconds = std::strtod(value.c_str(), &end);
  if (end != value.c_str() && *end == '\0') {
    if (std::isfinite(seconds) && seconds >= 0) return seconds;
    return std::nullopt;
  }
  const time_t when = curl_getdate(value.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  return std::max(0.0, std::difftime(when, std::time(nullptr)));
}

// What a reply carries after validation.
struct ParsedReply {
  std::vector<RemoteSampleReply> samples;
  std::map<std::string, std::vector<double>> components;  // NaN for null
};

std::string type_name(const json& v) {
  return v.type_name();
}

// Checks the reply against the protocol (docs/reward_protocol.md); returns what is wrong.
std::variant<ParsedReply, std::string> parse_reply(const json& reply, const std::string& id, size_t n,
                                                   bool expects_texts,
                                                   const std::vector<std::string>& required_components) {
  if (!reply.is_object()) return "reply is a JSON " + type_name(reply) + ", expected an object";
  const auto id_it = reply.find("id");
  if (id_it == reply.end() || !id_it->is_string()) return std::string("reply has no string 'id'");
  if (id_it->get<std::string>() != id)
    return "reply id '" + id_it->get<std::string>() + "' does not match request id '" + id + "'";

  ParsedReply parsed;
  parsed.samples.resize(n);
  // A per-sample array: `key` must be an array of n entries, each null or of the expected kind.
  auto array_of = [&](const std::string& key, bool required, const char* kind,
                      auto&& take) -> std::optional<std::string> {
    const auto it = reply.find(key);
    if (it == reply.end()) {
      if (required) return "reply has no '" + key + "'";
      return std::nullopt;
    }
    if (!it->is_array()) return "'" + key + "' is a " + type_name(*it) + ", expected an array";
    if (it->size() != n)
      return "'" + key + "' has " + std::to_string(it->size()) + " entries for " + std::to_string(n) +
             " images";
    for (size_t i = 0; i < n; ++i) {
      const json& v = (*it)[i];
      if (v.is_null()) continue;
      if (!take(i, v))
        return key + "[" + std::to_string(i) + "] is a " + type_name(v) + ", expected " + kind + " or null";
    }
    return std::nullopt;
  };
  if (auto e = array_of("scores", !expects_texts, "a number", [&](size_t i, const json& v) {
        if (!v.is_number()) return false;
        parsed.samples[i].score = v.get<double>();
        return true;
      }))
    return *e;
  if (auto e = array_of("texts", expects_texts, "a string", [&](size_t i, const json& v) {
        if (!v.is_string()) return false;
        parsed.samples[i].text = v.get<std::string>();
        return true;
      }))
    return *e;
  if (auto e = array_of("errors", false, "a string", [&](size_t i, const json& v) {
        if (!v.is_string()) return false;
        parsed.samples[i].error = v.get<std::string>();
        return true;
      }))
    return *e;

  const auto comp_it = reply.find("components");
  if (comp_it != reply.end() && !comp_it->is_null()) {
    if (!comp_it->is_object()) return "'components' is a " + type_name(*comp_it) + ", expected an object";
    for (auto it = comp_it->begin(); it != comp_it->end(); ++it) {
      const std::string key = "components." + it.key();
      if (it.key().empty()) return std::string("'components' has an empty name");
      if (!it->is_array()) return "'" + key + "' is a " + type_name(*it) + ", expected an array";
      if (it->size() != n)
        return "'" + key + "' has " + std::to_string(it->size()) + " entries for " + std::to_string(n) +
               " images";
      std::vector<double> values(n, NAN);
      for (size_t i = 0; i < n; ++i) {
        const json& v = (*it)[i];
        if (v.is_null()) continue;
        if (!v.is_number())
          return key + "[" + std::to_string(i) + "] is a " + type_name(v) + ", expected a number or null";
        const double d = v.get<double>();
        values[i] = std::isfinite(d) ? d : NAN;
      }
      parsed.components.emplace(it.key(), std::move(values));
    }
  }
  for (const auto& name : required_components)
    if (!parsed.components.count(name)) return "reply has no component '" + name + "'";
  return parsed;
}

}  // namespace

// ----------------------------------------------------------------------------- encoding

std::string base64_encode(const uint8_t* data, size_t size) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < size; i += 3) {
    const uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (i < size) {
    const uint32_t v = (uint32_t{data[i]} << 16) | (i + 1 < size ? uint32_t{data[i + 1]} << 8 : 0);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < size ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::vector<uint8_t> encode_png(const torch::Tensor& image) {
  if (image.dim() != 3 || image.size(0) != 3 || image.scalar_type() != torch::kByte || image.numel() == 0)
    throw std::invalid_argument("encode_png: expected a non-empty RGB uint8 image [3,H,W]");
  const auto hwc = image.permute({1, 2, 0}).contiguous();
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.size(2));
  png.height = static_cast<png_uint_32>(image.size(1));
  png.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  const void* pixels = hwc.data_ptr<uint8_t>();
  if (!png_image_write_get_memory_size(png, size, 0, pixels, 0, nullptr)) {
    const std::string message = png.message;
    png_image_free(&png);
    throw std::runtime_error("PNG encoding failed: " + message);
  }
  std::vector<uint8_t> out(size);
  if (!png_image_write_to_memory(&png, out.data(), &size, 0, pixels, 0, nullptr)) {
    const std::string message = png.message;
    png_image_free(&png);
    throw std::runtime_error("PNG encoding failed: " + message);
  }
  out.resize(size);
  return out;
}

// ----------------------------------------------------------------------------- options

std::string to_string(RemoteImageFormat format) {
  return format == RemoteImageFormat::kPng ? "png" : "jpeg";
}

RemoteImageFormat parse_remote_image_format(const std::string& name) {
  if (name == "png") return RemoteImageFormat::kPng;
  if (name == "jpeg") return RemoteImageFormat::kJpeg;
  throw std::invalid_argument("unknown image format '" + name + "' (valid: png, jpeg)");
}

const std::vector<std::string>& RemoteRewardOptions::keys() {
  static const std::vector<std::string> k{
      "url",           "timeout_s",          "connect_timeout_s", "max_retries",      "backoff_initial_s",
      "backoff_max_s", "max_batch",          "image_format",      "circuit_failures", "circuit_cooldown_s",
      "health_check",  "wait_for_recovery_s"};
  return k;
}

namespace {

void validate_options(const std::string& reward, const RemoteRewardOptions& o) {
  auto fail = [&](const std::string& what) {
    throw std::invalid_argument("remote reward '" + reward + "': " + what);
  };
  if (o.url.empty())
    fail("option 'url' is required (the reward server's base URL, e.g. http://127.0.0.1:18085)");
  try {
    parse_http_url(o.url);
  } catch (const std::invalid_argument& e) {
    // The URL is quoted as JSON so that control characters and invalid UTF-8 stay readable.
    fail("option 'url' = " + json(o.url).dump(-1, ' ', false, json::error_handler_t::replace) +
         " is not a valid base URL: " + e.what());
  }
  auto positive = [&](const char* key, double v) {
    if (!(std::isfinite(v) && v > 0))
      fail(std::string("option '") + key + "' must be > 0, found " + std::to_string(v));
  };
  auto non_negative = [&](const char* key, double v) {
    if (!(std::isfinite(v) && v >= 0))
      fail(std::string("option '") + key + "' must be >= 0, found " + std::to_string(v));
  };
  positive("timeout_s", o.timeout_s);
  positive("connect_timeout_s", o.connect_timeout_s);
  if (o.max_retries < 0 || o.max_retries > 100)
    fail("option 'max_retries' must be in [0, 100], found " + std::to_string(o.max_retries));
  non_negative("backoff_initial_s", o.backoff_initial_s);
  non_negative("backoff_max_s", o.backoff_max_s);
  if (o.backoff_max_s < o.backoff_initial_s)
    fail("option 'backoff_max_s' (" + std::to_string(o.backoff_max_s) + ") must be >= 'backoff_initial_s' (" +
         std::to_string(o.backoff_initial_s) + ")");
  if (o.max_batch < 1) fail("option 'max_batch' must be >= 1, found " + std::to_string(o.max_batch));
  if (o.circuit_failures < 0)
    fail("option 'circuit_failures' must be >= 0 (0 disables the breaker), found " +
         std::to_string(o.circuit_failures));
  non_negative("circuit_cooldown_s", o.circuit_cooldown_s);
  non_negative("wait_for_recovery_s", o.wait_for_recovery_s);
}

}  // namespace

RemoteRewardOptions RemoteRewardOptions::parse(const std::string& reward_name, const json& options) {
  return parse(reward_name, options, RemoteRewardOptions{});
}

RemoteRewardOptions RemoteRewardOptions::parse(const std::string& reward_name, const json& options,
                                               RemoteRewardOptions defaults) {
  const std::string where = "remote reward '" + reward_name + "': ";
  if (!options.is_object() && !options.is_null())
    throw std::invalid_argument(where + "options must be an object, found " +
                                options.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  RemoteRewardOptions o = std::move(defaults);
  if (options.is_null()) {
    validate_options(reward_name, o);
    return o;
  }
  const auto& valid = keys();
  for (auto it = options.begin(); it != options.end(); ++it)
    if (std::find(valid.begin(), valid.end(), it.key()) == valid.end())
      throw std::invalid_argument(where + "unknown option '" + it.key() + "' (valid: " + join(valid) + ")");
  auto bad_type = [&](const std::string& key, const char* expected) {
    return std::invalid_argument(
        where + "option '" + key + "' must be " + expected + ", found " +
        options.at(key).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  };
  auto number = [&](const std::string& key, double& out) {
    if (!options.contains(key)) return;
    if (!options[key].is_number()) throw bad_type(key, "a number");
    out = options[key].get<double>();
  };
  auto integer = [&](const std::string& key, auto& out) {
    if (!options.contains(key)) return;
    const json& v = options[key];
    if (!v.is_number() || std::floor(v.get<double>()) != v.get<double>() || std::abs(v.get<double>()) > 1e15)
      throw bad_type(key, "an integer");
    out = static_cast<std::decay_t<decltype(out)>>(v.get<double>());
  };
  if (options.contains("url")) {
    if (!options["url"].is_string()) throw bad_type("url", "a string");
    o.url = options["url"].get<std::string>();
  }
  number("timeout_s", o.timeout_s);
  number("connect_timeout_s", o.connect_timeout_s);
  integer("max_retries", o.max_retries);
  number("backoff_initial_s", o.backoff_initial_s);
  number("backoff_max_s", o.backoff_max_s);
  integer("max_batch", o.max_batch);
  if (options.contains("image_format")) {
    if (!options["image_format"].is_string()) throw bad_type("image_format", "\"png\" or \"jpeg\"");
    try {
      o.image_format = parse_remote_image_format(options["image_format"].get<std::string>());
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(where + "option 'image_format': " + e.what());
    }
  }
  integer("circuit_failures", o.circuit_failures);
  number("circuit_cooldown_s", o.circuit_cooldown_s);
  if (options.contains("health_check")) {
    if (!options["health_check"].is_boolean()) throw bad_type("health_check", "true or false");
    o.health_check = options["health_check"].get<bool>();
  }
  number("wait_for_recovery_s", o.wait_for_recovery_s);
  validate_options(reward_name, o);
  return o;
}

// ----------------------------------------------------------------------------- the reward

struct RemoteReward::Attempt {
  enum class Kind { kOk, kRetry, kFail };
  Kind kind = Kind::kFail;
  json reply;
  std::string reason;
  std::optional<double> retry_after_s;
};

RemoteReward::RemoteReward(std::string name, RemoteRewardOptions options)
    : name_(std::move(name)), options_(std::move(options)), rng_(std::random_device{}()) {
  validate_options(name_, options_);
  std::string base = options_.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  score_url_ = base + "/score";
  health_url_ = base + "/health";
  client_ = std::make_unique<HttpClient>();
  if (options_.health_check) health_check();
}

RemoteReward::~RemoteReward() = default;

void RemoteReward::health_check() const {
  HttpRequestOptions request;
  request.timeout = to_ms(options_.timeout_s);
  request.connect_timeout = to_ms(std::min(options_.connect_timeout_s, options_.timeout_s));
  const HttpResponse response = client_->get(health_url_, request);
  if (!response.ok())
    throw std::invalid_argument("remote reward '" + name_ + "': the reward server at " + options_.url +
                                " is not healthy (GET " + health_url_ + ": " + response.describe() +
                                "); start it (scripts/reward_servers/README.md) or set health_check: false");
}

bool RemoteReward::circuit_open() const {
  return open_until_ && Clock::now() < *open_until_;
}

std::vector<std::string> RemoteReward::required_components(ScoreMode) const {
  return {};
}

std::variant<double, std::string> RemoteReward::sample_score(const RemoteSampleReply& reply,
                                                             const std::string&) const {
  if (!reply.score) return "reward server " + options_.url + " returned no score (null) and no error";
  return *reply.score;
}

std::string RemoteReward::encode_request(const RewardBatch& batch, const torch::Tensor& images, int64_t begin,
                                         int64_t end, const std::string& id) const {
  json images_b64 = json::array();
  json prompts = json::array();
  json metadata = json::array();
  for (int64_t i = begin; i < end; ++i) {
    const auto image = images[i];
    const std::vector<uint8_t> bytes = options_.image_format == RemoteImageFormat::kPng
                                           ? encode_png(image)
                                           : encode_jpeg(image, kJpegQuality);
    images_b64.push_back(base64_encode(bytes.data(), bytes.size()));
    prompts.push_back(batch.prompts[static_cast<size_t>(i)]);
    metadata.push_back(batch.metadata[static_cast<size_t>(i)]);
  }
  const json request{{"protocol", kProtocolVersion},
                     {"id", id},
                     {"reward", name_},
                     {"mode", batch.mode == ScoreMode::kEval ? "eval" : "train"},
                     {"image_format", to_string(options_.image_format)},
                     {"images", std::move(images_b64)},
                     {"prompts", std::move(prompts)},
                     {"metadata", std::move(metadata)}};
  // Invalid UTF-8 in a prompt becomes U+FFFD rather than failing the whole batch.
  return request.dump(-1, ' ', false, json::error_handler_t::replace);
}

RemoteReward::Attempt RemoteReward::send_once(const std::string& body) const {
  HttpRequestOptions request;
  request.timeout = to_ms(options_.timeout_s);
  request.connect_timeout = to_ms(std::min(options_.connect_timeout_s, options_.timeout_s));
  const HttpResponse response = client_->post_json(score_url_, body, request);
  Attempt attempt;
  attempt.reason = "POST " + score_url_ + ": " + response.describe();
  switch (response.outcome) {
    case HttpOutcome::kConnectFailed:
    case HttpOutcome::kTimeout:
    case HttpOutcome::kConnectionLost: attempt.kind = Attempt::Kind::kRetry; return attempt;
    case HttpOutcome::kError: attempt.kind = Attempt::Kind::kFail; return attempt;
    case HttpOutcome::kResponse: break;
  }
  const long status = response.status;
  if (status >= 200 && status < 300) {
    try {
      attempt.reply = json::parse(response.body);
      attempt.kind = Attempt::Kind::kOk;
    } catch (const json::parse_error& e) {
      attempt.kind = Attempt::Kind::kFail;
      attempt.reason = "malformed reply from " + score_url_ + ": not JSON (" + e.what() +
                       "; NaN and Infinity are not JSON, servers must send null)";
    } catch (const json::exception& e) {
      // Valid syntax the parser still refuses, e.g. a number outside double range
      // (1e999: out_of_range 406). Any reply, however broken, masks its chunk.
      attempt.kind = Attempt::Kind::kFail;
      attempt.reason = "malformed reply from " + score_url_ + ": unreadable JSON (" + e.what() + ")";
    }
    return attempt;
  }
  // 500 is retried as the reference does (urllib3 Retry on 500: a transient server error
  // such as CUDA OOM); 502/503/504 are proxies and overloaded servers; 429 asks for a pause.
  if (status == 429 || status == 500 || status == 502 || status == 503 || status == 504) {
    attempt.kind = Attempt::Kind::kRetry;
    if (const auto value = response.header("retry-after")) attempt.retry_after_s = parse_retry_after(*value);
  } else {
    attempt.kind = Attempt::Kind::kFail;
  }
  return attempt;
}

std::variant<json, std::string> RemoteReward::send_with_retries(const std::string& body, int max_retries,
                                                                bool& transient) {
  auto logger = log::get("reward");
  transient = true;
  for (int attempt_index = 0;; ++attempt_index) {
    Attempt attempt = send_once(body);
    if (attempt.kind == Attempt::Kind::kOk) return std::move(attempt.reply);
    if (attempt.kind == Attempt::Kind::kFail) {
      transient = false;
      return attempt.reason;
    }
    if (attempt_index >= max_retries)
      return attempt.reason + " (gave up after " + std::to_string(attempt_index + 1) + " attempt" +
             (attempt_index == 0 ? "" : "s") + ")";
    // Exponential backoff with "equal jitter": half the step fixed, half random, so
    // several trainers retrying the same server spread out without waiting too little.
    const double step =
        std::min(options_.backoff_max_s, options_.backoff_initial_s * std::pow(2.0, attempt_index));
    double delay = step * std::uniform_real_distribution<double>(0.5, 1.0)(rng_);
    if (attempt.retry_after_s) {
      if (*attempt.retry_after_s > options_.backoff_max_s)
        return attempt.reason + " (server asked to retry after " + format_seconds(*attempt.retry_after_s) +
               ", more than backoff_max_s = " + format_seconds(options_.backoff_max_s) + ")";
      delay = std::max(delay, *attempt.retry_after_s);
    }
    logger->debug("reward '{}': {}; retry {}/{} in {}", name_, attempt.reason, attempt_index + 1, max_retries,
                  format_seconds(delay));
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
  }
}

bool RemoteReward::wait_for_recovery() {
  if (options_.wait_for_recovery_s <= 0) return false;
  const auto now = Clock::now();
  if (!recovery_deadline_) recovery_deadline_ = now + to_ms(options_.wait_for_recovery_s);
  if (now >= *recovery_deadline_) return false;
  auto logger = log::get("reward");
  logger->warn("reward '{}': waiting up to {} for the reward server {} to recover (wait_for_recovery_s)",
               name_, format_seconds(std::chrono::duration<double>(*recovery_deadline_ - now).count()),
               options_.url);
  // Poll often enough not to waste much of a short outage, rarely enough not to load a
  // server that is restarting.
  const double poll_s = std::clamp(options_.backoff_initial_s, 0.05, 5.0);
  HttpRequestOptions request;
  request.connect_timeout = to_ms(std::min(options_.connect_timeout_s, options_.timeout_s));
  while (Clock::now() < *recovery_deadline_) {
    const double left = std::chrono::duration<double>(*recovery_deadline_ - Clock::now()).count();
    request.timeout = to_ms(std::max(0.001, std::min(options_.timeout_s, left)));
    if (client_->get(health_url_, request).ok()) {
      logger->info("reward '{}': {} answers /health again; resending", name_, options_.url);
      open_until_.reset();
      consecutive_failures_ = 0;
      return true;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(
        std::min(poll_s, std::chrono::duration<double>(*recovery_deadline_ - Clock::now()).count())));
  }
  return false;
}

RewardResult RemoteReward::score(const RewardBatch& batch) {
  batch.validate();
  torch::NoGradGuard no_grad;
  auto logger = log::get("reward");
  const int64_t n = batch.size();
  RewardResult result = RewardResult::from_scores(torch::zeros({n}, torch::kDouble));
  std::map<std::string, std::vector<double>> components;
  auto* scores = result.scores.data_ptr<double>();
  const auto required = required_components(batch.mode);
  const auto images = n > 0 ? batch.as_uint8() : torch::Tensor();

  for (int64_t begin = 0; begin < n; begin += options_.max_batch) {
    const int64_t end = std::min(n, begin + options_.max_batch);
    auto reject = [&](const std::string& reason) {
      for (int64_t i = begin; i < end; ++i) result.invalidate(i, reason);
    };
    bool probe = false;
    // An open circuit may be waited out too: wait_for_recovery closes it once /health answers.
    if (open_until_ && Clock::now() < *open_until_) wait_for_recovery();
    if (open_until_) {
      const auto now = Clock::now();
      if (now < *open_until_) {
        const double left = std::chrono::duration<double>(*open_until_ - now).count();
        // The failure that opened the circuit is what a user needs (e.g. in the trainer's
        // stop message, which quotes the last sample's reason): keep it in every reason.
        reject("circuit open: reward server " + options_.url + " failed " +
               std::to_string(consecutive_failures_) + " consecutive requests; not called for another " +
               format_seconds(left) + " (last failure: " + last_failure_ + ")");
        continue;
      }
      probe = true;  // half-open: one request without retries decides
    }
    const std::string id =
        name_ + "-" + std::to_string(rng_() & 0xFFFFFFFFFFFFull) + "-" + std::to_string(++request_counter_);
    const std::string body = encode_request(batch, images, begin, end, id);
    bool transient = false;
    auto outcome = send_with_retries(body, probe ? 0 : options_.max_retries, transient);
    // An outage may be waited out (wait_for_recovery_s): once /health answers, the
    // chunk is sent again with its full retries, as many times as the wait allows.
    while (std::holds_alternative<std::string>(outcome) && transient && wait_for_recovery())
      outcome = send_with_retries(body, options_.max_retries, transient);

    std::string failure;
    std::optional<ParsedReply> reply;
    if (const auto* reason = std::get_if<std::string>(&outcome)) {
      failure = *reason;
    } else {
      try {
        auto parsed = parse_reply(std::get<json>(outcome), id, static_cast<size_t>(end - begin),
                                  expects_texts(), required);
        if (const auto* reason = std::get_if<std::string>(&parsed))
          failure = "malformed reply from " + score_url_ + ": " + *reason;
        else
          reply = std::move(std::get<ParsedReply>(parsed));
      } catch (const std::exception& e) {
        // parse_reply checks every type before reading it; this is the net under it, so
        // that no reply can make score() throw.
        failure = "malformed reply from " + score_url_ + ": " + e.what();
      }
    }

    if (!reply) {
      reject(failure);
      last_failure_ = failure;
      ++consecutive_failures_;
      logger->warn("reward '{}': request {} for samples {}..{} failed, samples invalidated: {}", name_, id,
                   begin, end - 1, failure);
      if (options_.circuit_failures > 0 && (probe || consecutive_failures_ >= options_.circuit_failures)) {
        open_until_ = Clock::now() + to_ms(options_.circuit_cooldown_s);
        logger->warn(
            "reward '{}': circuit open after {} consecutive failed requests to {}; not calling it for {}",
            name_, consecutive_failures_, options_.url, format_seconds(options_.circuit_cooldown_s));
      }
      continue;
    }
    if (open_until_) logger->info("reward '{}': {} answered again, circuit closed", name_, options_.url);
    consecutive_failures_ = 0;
    open_until_.reset();
    recovery_deadline_.reset();

    for (int64_t i = begin; i < end; ++i) {
      const auto& sample = reply->samples[static_cast<size_t>(i - begin)];
      if (!sample.error.empty()) {
        result.invalidate(i, "reward server " + options_.url + ": " + sample.error);
        continue;
      }
      std::variant<double, std::string> value;
      try {
        value = sample_score(sample, batch.prompts[static_cast<size_t>(i)]);
      } catch (const std::exception& e) {
        // E.g. an OCR text the scorer cannot read: that sample is masked, not the run.
        value = "reward server " + options_.url + ": cannot score its reply: " + e.what();
      }
      if (const auto* reason = std::get_if<std::string>(&value))
        result.invalidate(i, *reason);
      else if (!std::isfinite(std::get<double>(value)))
        result.invalidate(i, "reward server " + options_.url + " returned a non-finite score");
      else
        scores[i] = std::get<double>(value);
    }
    for (auto& [key, values] : reply->components) {
      auto& column = components.try_emplace(key, static_cast<size_t>(n), NAN).first->second;
      std::copy(values.begin(), values.end(), column.begin() + begin);
    }
  }

  const auto valid = result.valid.contiguous();
  const auto* valid_data = valid.data_ptr<bool>();
  for (auto& [key, values] : components) {
    // A sample without a score has no components either: nothing of a failure becomes a number.
    for (int64_t i = 0; i < n; ++i)
      if (!valid_data[i]) values[static_cast<size_t>(i)] = NAN;
    result.components[key] = torch::tensor(values, torch::kDouble);
  }
  if (const int64_t invalid = result.num_invalid(); invalid > 0) {
    int64_t first = 0;
    while (valid_data[first]) ++first;
    logger->warn("reward '{}': {} of {} samples invalid (first: sample {}: {})", name_, invalid, n, first,
                 result.errors[static_cast<size_t>(first)]);
  }
  return result;
}

std::vector<std::string> GenevalRemoteReward::required_components(ScoreMode mode) const {
  // The server always computes the strict (exact-count) correctness; the official GenEval
  // `accuracy` only when asked (eval mode; the reference's only_strict = False).
  if (mode == ScoreMode::kEval) return {"strict_accuracy", "accuracy"};
  return {"strict_accuracy"};
}

std::variant<double, std::string> OcrRemoteReward::sample_score(const RemoteSampleReply& reply,
                                                                const std::string& prompt) const {
  if (!reply.text) return "OCR server " + options().url + " returned no text (null) and no error";
  const auto reward = ocr_reward(*reply.text, prompt);
  if (!reward) return "OCR target text is empty (nothing between the prompt's quotes): " + prompt;
  return *reward;
}

void register_remote_rewards(RewardRegistry& registry) {
  registry.add("remote", "any reward server speaking docs/reward_protocol.md (option url required)",
               [](const json& options) {
                 return std::make_unique<RemoteReward>("remote",
                                                       RemoteRewardOptions::parse("remote", options));
               });
  registry.add("geneval",
               "GenEval server (Mask2Former + CLIP colour): partial-credit score; strict_accuracy, accuracy",
               [](const json& options) {
                 RemoteRewardOptions defaults;
                 defaults.url = "http://127.0.0.1:18085";
                 defaults.image_format = RemoteImageFormat::kJpeg;  // what the reference server receives
                 return std::make_unique<GenevalRemoteReward>(
                     "geneval", RemoteRewardOptions::parse("geneval", options, defaults));
               });
  registry.add("ocr", "OCR server (PaddleOCR) text vs the prompt's quoted text: 1 - edit distance / length",
               [](const json& options) {
                 RemoteRewardOptions defaults;
                 defaults.url = "http://127.0.0.1:18087";
                 return std::make_unique<OcrRemoteReward>(
                     "ocr", RemoteRewardOptions::parse("ocr", options, defaults));
               });
}

}  // namespace flowgrpo::rewards
