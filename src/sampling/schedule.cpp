#include "flowgrpo/sampling/schedule.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <stdexcept>

namespace flowgrpo::sampling {

namespace {

// numpy.linspace(start, stop, num) in float64, including its endpoint handling:
// y_i = i * step + start, with the last element set to `stop` exactly.
std::vector<double> np_linspace(double start, double stop, int num) {
  std::vector<double> y(static_cast<size_t>(num));
  if (num == 1) {
    y[0] = start;
    return y;
  }
  const double step = (stop - start) / static_cast<double>(num - 1);
  for (int i = 0; i < num; ++i) y[static_cast<size_t>(i)] = static_cast<double>(i) * step + start;
  y.back() = stop;
  return y;
}

// A sigma of the 1000-step training table, computed in float32 exactly as
// FlowMatchEulerDiscreteScheduler.__init__ does (torch float32 ops).
// The training sigma of train timestep t (1..T): sigma = t / T, shifted.
double training_sigma(const FlowMatchSchedulerConfig& c, float t) {
  const float sigma = t / static_cast<float>(c.num_train_timesteps);
  if (c.use_dynamic_shifting) return sigma;
  // As diffusers' `shift * sigmas / (1 + (shift - 1) * sigmas)` on a float32 tensor:
  // the Python scalars `shift` and `shift - 1` are formed in double and only then
  // rounded to float32 (for a shift like 0.743, float(shift) - 1 differs from
  // float(shift - 1) in the last place).
  const float shift = static_cast<float>(c.shift);
  const float shift_minus_one = static_cast<float>(c.shift - 1.0);
  const float shifted = shift * sigma / (1.0f + shift_minus_one * sigma);
  return static_cast<double>(shifted);
}

Schedule finish(const std::vector<float>& sigmas_f32, int num_train_timesteps) {
  const auto n = static_cast<int64_t>(sigmas_f32.size());
  auto sigmas = torch::empty({n + 1}, torch::kFloat);
  auto timesteps = torch::empty({n}, torch::kFloat);
  auto* s = sigmas.data_ptr<float>();
  auto* t = timesteps.data_ptr<float>();
  const float scale = static_cast<float>(num_train_timesteps);
  for (int64_t i = 0; i < n; ++i) {
    s[i] = sigmas_f32[static_cast<size_t>(i)];
    t[i] = s[i] * scale;  // float32 product, as `sigmas * num_train_timesteps` on a float32 tensor
  }
  s[n] = 0.0f;
  return {sigmas, timesteps};
}

void check_steps(int num_steps) {
  if (num_steps < 1)
    throw std::invalid_argument("schedule: number of steps must be >= 1, got " + std::to_string(num_steps));
}

}  // namespace

FlowMatchSchedulerConfig FlowMatchSchedulerConfig::flux() {
  FlowMatchSchedulerConfig c;
  c.shift = 3.0;
  c.use_dynamic_shifting = true;
  return c;
}

FlowMatchSchedulerConfig FlowMatchSchedulerConfig::from_json_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("scheduler config " + path.string() + ": cannot open file");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument("scheduler config " + path.string() + ": invalid JSON: " + e.what());
  }
  if (!j.is_object())
    throw std::invalid_argument("scheduler config " + path.string() + ": expected a JSON object");
  FlowMatchSchedulerConfig c;
  auto where = [&](const std::string& key) {
    return "scheduler config " + path.string() + ": key '" + key + "'";
  };
  auto get_number = [&](const char* key, double& out) {
    if (!j.contains(key) || j[key].is_null()) return;
    if (!j[key].is_number())
      throw std::invalid_argument(where(key) + ": expected a number, found " + j[key].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    out = j[key].get<double>();
  };
  auto get_int = [&](const char* key, int& out) {
    if (!j.contains(key) || j[key].is_null()) return;
    if (!j[key].is_number_integer())
      throw std::invalid_argument(where(key) + ": expected an integer, found " + j[key].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    out = j[key].get<int>();
  };
  get_int("num_train_timesteps", c.num_train_timesteps);
  get_number("shift", c.shift);
  get_number("base_shift", c.base_shift);
  get_number("max_shift", c.max_shift);
  get_int("base_image_seq_len", c.base_image_seq_len);
  get_int("max_image_seq_len", c.max_image_seq_len);
  if (j.contains("use_dynamic_shifting") && !j["use_dynamic_shifting"].is_null()) {
    if (!j["use_dynamic_shifting"].is_boolean())
      throw std::invalid_argument(where("use_dynamic_shifting") + ": expected a boolean");
    c.use_dynamic_shifting = j["use_dynamic_shifting"].get<bool>();
  }
  for (const char* flag :
       {"use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "invert_sigmas"}) {
    if (j.contains(flag) && j[flag].is_boolean() && j[flag].get<bool>())
      throw std::invalid_argument(where(flag) +
                                  ": true is not supported by flowgrpo's flow-matching schedule");
  }
  if (j.contains("shift_terminal") && !j["shift_terminal"].is_null())
    throw std::invalid_argument(where("shift_terminal") + ": not supported (expected null)");
  if (j.contains("time_shift_type") && j["time_shift_type"].is_string() &&
      j["time_shift_type"].get<std::string>() != "exponential")
    throw std::invalid_argument(where("time_shift_type") + ": only \"exponential\" is supported, found " +
                                j["time_shift_type"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (c.num_train_timesteps < 1) throw std::invalid_argument(where("num_train_timesteps") + ": must be >= 1");
  if (!(c.shift > 0.0)) throw std::invalid_argument(where("shift") + ": must be > 0");
  if (c.use_dynamic_shifting && c.max_image_seq_len == c.base_image_seq_len)
    throw std::invalid_argument(where("max_image_seq_len") + ": must differ from base_image_seq_len");
  return c;
}

FlowMatchSchedulerConfig FlowMatchSchedulerConfig::from_model_dir(const std::filesystem::path& dir) {
  const std::filesystem::path candidates[] = {dir / "scheduler" / "scheduler_config.json",
                                              dir / "scheduler_config.json",
                                              dir.parent_path() / "scheduler" / "scheduler_config.json"};
  for (const auto& p : candidates)
    if (std::filesystem::is_regular_file(p)) return from_json_file(p);
  std::string looked;
  for (const auto& p : candidates) looked += (looked.empty() ? "" : ", ") + p.string();
  throw std::invalid_argument("model directory " + dir.string() + ": no scheduler config found (looked for " +
                              looked + ")");
}

double Schedule::sigma_max() const {
  return sigmas.size(0) > 1 ? static_cast<double>(sigmas[1].item<float>()) : 0.0;
}

std::vector<double> Schedule::sigma_values() const {
  auto s = sigmas.contiguous();
  return {s.data_ptr<float>(), s.data_ptr<float>() + s.numel()};
}

std::vector<double> Schedule::timestep_values() const {
  auto t = timesteps.contiguous();
  return {t.data_ptr<float>(), t.data_ptr<float>() + t.numel()};
}

Schedule sd3_schedule(int num_steps, const FlowMatchSchedulerConfig& config) {
  check_steps(num_steps);
  if (config.use_dynamic_shifting)
    throw std::invalid_argument(
        "sd3_schedule: the scheduler config uses dynamic shifting (a FLUX schedule); "
        "use flux_schedule with the image token count");
  const double T = config.num_train_timesteps;
  // timesteps = linspace(1, T, T)[::-1]: sigma_max is the shifted sigma of t = T (1.0
  // only when float32 rounding allows: 0.99999994 for shift 0.743), sigma_min of t = 1.
  const double sigma_max = training_sigma(config, static_cast<float>(config.num_train_timesteps));
  const double sigma_min = training_sigma(config, 1.0f);
  const std::vector<double> ts = np_linspace(sigma_max * T, sigma_min * T, num_steps);
  std::vector<float> sigmas(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    const double x = ts[i] / T;
    const double shifted = config.shift * x / (1.0 + (config.shift - 1.0) * x);  // the second shift, float64
    sigmas[i] = static_cast<float>(shifted);
  }
  return finish(sigmas, config.num_train_timesteps);
}

double calculate_shift(int64_t image_seq_len, const FlowMatchSchedulerConfig& c) {
  const double m =
      (c.max_shift - c.base_shift) / static_cast<double>(c.max_image_seq_len - c.base_image_seq_len);
  const double b = c.base_shift - m * c.base_image_seq_len;
  return static_cast<double>(image_seq_len) * m + b;
}

Schedule flux_schedule(int num_steps, int64_t image_seq_len, const FlowMatchSchedulerConfig& config) {
  check_steps(num_steps);
  if (image_seq_len < 1)
    throw std::invalid_argument("flux_schedule: image_seq_len must be >= 1, got " +
                                std::to_string(image_seq_len));
  const double mu = calculate_shift(image_seq_len, config);
  const std::vector<double> lin = np_linspace(1.0, 1.0 / num_steps, num_steps);
  // numpy evaluates exp(mu) / (exp(mu) + (1/t - 1) ** 1.0) on a float32 array with a
  // Python-float scalar: every operation is float32 and the scalar is rounded to float32.
  const float e = static_cast<float>(std::exp(mu));
  std::vector<float> sigmas(lin.size());
  for (size_t i = 0; i < lin.size(); ++i) {
    const float t = static_cast<float>(lin[i]);
    const float r = 1.0f / t - 1.0f;
    sigmas[i] = e / (e + r);
  }
  return finish(sigmas, config.num_train_timesteps);
}

Schedule make_schedule(int num_steps, const FlowMatchSchedulerConfig& config, int64_t image_seq_len) {
  if (config.use_dynamic_shifting) return flux_schedule(num_steps, image_seq_len, config);
  return sd3_schedule(num_steps, config);
}

}  // namespace flowgrpo::sampling
