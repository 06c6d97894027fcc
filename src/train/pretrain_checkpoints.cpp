#include "flowgrpo/train/pretrain_checkpoints.h"

#include "flowgrpo/common/error.h"
#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/io/text_file.h"
#include "flowgrpo/log/logging.h"

#include <algorithm>
#include <fstream>
#include <stdexcept>
#include <utility>
#include <vector>

namespace flowgrpo::train {

namespace fs = std::filesystem;

namespace {
constexpr const char* kStagingSuffix = ".tmp";
}

std::optional<fs::path> resolve_pretrain_resume(const std::string& resume, const fs::path& output_dir) {
  if (resume.empty()) return std::nullopt;
  if (resume != "latest") return fs::path(resume);
  const auto latest = output_dir / "checkpoints" / "latest";
  if (!fs::exists(latest)) {
    log::get("pretrain")
        ->info("resume: latest requested but {} has no checkpoint; starting from scratch",
               output_dir.string());
    return std::nullopt;
  }
  std::ifstream in(latest);
  std::string name;
  std::getline(in, name);
  if (name.empty()) throw std::invalid_argument(latest.string() + ": empty (expected a checkpoint name)");
  return output_dir / "checkpoints" / name;
}

fs::path begin_checkpoint(const fs::path& output_dir, const std::string& name) {
  const auto staging = output_dir / "checkpoints" / (name + kStagingSuffix);
  fs::remove_all(staging);
  fs::create_directories(staging);
  return staging;
}

void publish_checkpoint(const fs::path& staging, int keep) {
  const auto root = staging.parent_path();
  auto name = staging.filename().string();
  name.resize(name.size() - std::char_traits<char>::length(kStagingSuffix));
  // The folder appears under its final name only once complete.
  fs::remove_all(root / name);
  fs::rename(staging, root / name);
  io::write_text_atomic(root / "latest", name + "\n");
  std::vector<std::pair<int64_t, fs::path>> all;
  for (const auto& e : fs::directory_iterator(root)) {
    const auto n = e.path().filename().string();
    if (e.is_directory() && n.rfind("step-", 0) == 0 && n.find(kStagingSuffix) == std::string::npos)
      all.emplace_back(std::stoll(n.substr(5)), e.path());
  }
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i) fs::remove_all(all[i].second);
}

void save_ema(const rl::Ema& ema, const fs::path& file) {
  io::TensorMap shadow;
  const auto state = ema.state();
  for (size_t i = 0; i < state.shadow.size(); ++i)
    shadow["ema." + std::to_string(i)] = state.shadow[i].contiguous();
  io::save_safetensors(file, shadow,
                       {{"num_updates", std::to_string(state.num_updates)},
                        {"last_update_step", std::to_string(state.last_update_step)}});
}

void load_ema(rl::Ema& ema, size_t num_parameters, const fs::path& file) {
  const auto f = io::SafetensorsFile::open(file);
  rl::EmaState state;
  for (size_t i = 0; i < num_parameters; ++i) state.shadow.push_back(f.load("ema." + std::to_string(i)));
  const auto& meta = f.metadata();
  auto counter = [&](const char* key) {
    const auto it = meta.find(key);
    if (it == meta.end())
      throw std::invalid_argument(file.string() + ": metadata lacks '" + key +
                                  "' (num_updates and last_update_step)");
    return io::parse_integer_text(it->second, file.string() + ": metadata '" + key + "'");
  };
  state.num_updates = counter("num_updates");
  state.last_update_step = counter("last_update_step");
  with_context(file.string(), [&] { ema.load_state(state); });  // shapes that do not match the model
}

std::unique_ptr<torch::optim::AdamW> make_pretrain_optimizer(const config::PretrainConfig& p,
                                                             const std::vector<torch::Tensor>& parameters) {
  return std::make_unique<torch::optim::AdamW>(
      parameters, torch::optim::AdamWOptions(p.learning_rate).weight_decay(p.weight_decay));
}

std::unique_ptr<rl::Ema> make_pretrain_ema(const config::PretrainConfig& p,
                                           const std::vector<torch::Tensor>& parameters) {
  rl::EmaOptions options;
  options.max_decay = p.ema_decay;
  options.update_every = 1;
  return std::make_unique<rl::Ema>(parameters, options);
}

double warmup_learning_rate(const config::PretrainConfig& p, int64_t step) {
  if (p.warmup_steps <= 0 || step >= p.warmup_steps) return p.learning_rate;
  return p.learning_rate * static_cast<double>(step + 1) / static_cast<double>(p.warmup_steps);
}

std::ofstream open_pretrain_metrics(const std::filesystem::path& output_dir, int64_t step) {
  std::filesystem::create_directories(output_dir);
  const auto path = output_dir / "pretrain_metrics.jsonl";
  io::drop_jsonl_rows_from(path, "step", step + 1);
  return std::ofstream(path, std::ios::app);
}

}  // namespace flowgrpo::train
