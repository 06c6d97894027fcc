#include "flowgrpo/io/weight_source.h"

#include "flowgrpo/common/error.h"
#include "flowgrpo/log/logging.h"
#include "io/problem_list.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace flowgrpo::io {

struct WeightSource::State {
  fs::path path;                        // the file opened (safetensors or index)
  std::vector<SafetensorsFile> files;   // one, or the shards sorted by file name
  std::map<std::string, size_t> owner;  // tensor name -> index into files
};

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string comma_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

/// The checkpoint file inside a model directory (see WeightSource::open).
fs::path resolve_directory(const fs::path& dir) {
  std::vector<std::string> standard;
  for (const auto& name : WeightSource::standard_file_names()) {
    if (fs::is_regular_file(dir / name)) standard.push_back(name);
  }
  if (standard.size() == 1) return dir / standard.front();
  if (standard.size() > 1) {
    throw std::invalid_argument("weights directory " + dir.string() + " holds several checkpoints (" +
                                comma_list(standard) + "); pass the one to load");
  }
  std::vector<std::string> others;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && ends_with(name, ".safetensors")) others.push_back(name);
  }
  std::sort(others.begin(), others.end());
  if (others.size() == 1) return dir / others.front();
  const std::string expected = "expected one of " + comma_list(WeightSource::standard_file_names()) +
                               ", or a single *.safetensors file";
  if (others.empty()) {
    throw std::invalid_argument("weights directory " + dir.string() + " holds no safetensors weights (" +
                                expected + ")");
  }
  throw std::invalid_argument("weights directory " + dir.string() + " holds " +
                              std::to_string(others.size()) + " *.safetensors files (" + comma_list(others) +
                              ") and no index; " + expected);
}

/// Reads an HF index's weight_map: tensor name -> shard file name.
std::map<std::string, std::string> read_weight_map(const fs::path& index_path) {
  const std::string where = "invalid safetensors index " + index_path.string() + ": ";
  std::ifstream in(index_path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot open safetensors index " + index_path.string());
  std::stringstream text;
  text << in.rdbuf();
  json root;
  try {
    root = json::parse(text.str());
  } catch (const json::exception& e) {
    throw std::invalid_argument(where + "not valid JSON: " + e.what());
  }
  if (!root.is_object()) throw std::invalid_argument(where + "not a JSON object");
  const auto it = root.find("weight_map");
  if (it == root.end() || !it->is_object()) {
    throw std::invalid_argument(where + "expected a \"weight_map\" object {tensor name: shard file}");
  }
  std::map<std::string, std::string> weight_map;
  for (const auto& [name, shard] : it->items()) {
    if (!shard.is_string()) {
      throw std::invalid_argument(where + "weight_map entry for '" + name + "' is not a file name string");
    }
    const fs::path shard_path(shard.get<std::string>());
    // Shards live next to the index; anything else is a malformed (or hostile) index.
    if (shard_path.empty() || shard_path.is_absolute() ||
        std::find(shard_path.begin(), shard_path.end(), fs::path("..")) != shard_path.end()) {
      throw std::invalid_argument(where + "weight_map entry for '" + name + "' names '" +
                                  shard_path.string() +
                                  "', expected a file name relative to the index's directory");
    }
    weight_map.emplace(name, shard_path.string());
  }
  return weight_map;
}

}  // namespace

const std::vector<std::string>& WeightSource::standard_file_names() {
  static const std::vector<std::string> names{"diffusion_pytorch_model.safetensors",
                                              "diffusion_pytorch_model.safetensors.index.json",
                                              "model.safetensors", "model.safetensors.index.json"};
  return names;
}

WeightSource::WeightSource(std::shared_ptr<const State> state) : state_(std::move(state)) {}

WeightSource WeightSource::open(const fs::path& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    throw std::invalid_argument(
        "weights path " + path.string() +
        " does not exist (expected a .safetensors file, an .index.json or a directory)");
  }
  const fs::path file = fs::is_directory(status) ? resolve_directory(path) : path;
  auto state = std::make_shared<State>();
  state->path = file;

  if (!ends_with(file.filename().string(), ".json")) {
    state->files.push_back(SafetensorsFile::open(file));
    for (const auto& t : state->files.front().tensors()) state->owner.emplace(t.name, 0);
    return WeightSource(std::move(state));
  }

  const auto weight_map = read_weight_map(file);
  std::map<std::string, std::vector<std::string>> by_shard;  // shard -> names the index assigns to it
  for (const auto& [name, shard] : weight_map) by_shard[shard].push_back(name);

  detail::ProblemReport problems;
  for (const auto& [shard, assigned] : by_shard) {
    const fs::path shard_path = file.parent_path() / shard;
    if (!fs::exists(shard_path)) {
      problems.add("missing shard files",
                   shard + " (listed for " + std::to_string(assigned.size()) + " tensors)");
      continue;
    }
    const SafetensorsFile shard_file = with_context("loading shard of index " + file.string(),
                                                    [&] { return SafetensorsFile::open(shard_path); });
    for (const auto& name : assigned) {
      if (!shard_file.contains(name)) {
        problems.add("tensors the index assigns to a shard that lacks them", name + " (" + shard + ")");
      }
    }
    for (const auto& t : shard_file.tensors()) {
      const auto it = weight_map.find(t.name);
      if (it == weight_map.end()) {
        problems.add("tensors in a shard that the index does not list", t.name + " (in " + shard + ")");
      } else if (it->second != shard) {
        problems.add("tensors in a shard other than the index says",
                     t.name + " (in " + shard + ", index says " + it->second + ")");
      }
    }
    for (const auto& name : assigned) {
      if (shard_file.contains(name)) state->owner.emplace(name, state->files.size());
    }
    state->files.push_back(shard_file);
  }
  if (!problems.empty()) {
    throw std::invalid_argument("invalid safetensors index " + file.string() + ": " + problems.to_string());
  }
  log::get("io")->debug("opened index {}: {} tensors in {} shards", file.string(), state->owner.size(),
                        state->files.size());
  return WeightSource(std::move(state));
}

std::string WeightSource::description() const {
  return state_->path.string();
}

std::vector<std::string> WeightSource::names() const {
  std::vector<std::string> out;
  out.reserve(state_->owner.size());
  for (const auto& entry : state_->owner) out.push_back(entry.first);
  return out;
}

bool WeightSource::contains(const std::string& name) const {
  return state_->owner.count(name) != 0;
}

const std::vector<SafetensorsFile>& WeightSource::files() const {
  return state_->files;
}

const SafetensorsFile& WeightSource::file_holding(const std::string& name) const {
  const auto it = state_->owner.find(name);
  if (it == state_->owner.end()) {
    throw std::invalid_argument("weights " + description() + " have no tensor '" + name + "'");
  }
  return state_->files[it->second];
}

const TensorInfo& WeightSource::info(const std::string& name) const {
  return file_holding(name).info(name);
}

torch::Tensor WeightSource::view(const std::string& name) const {
  return file_holding(name).view(name);
}

torch::Tensor WeightSource::load(const std::string& name) const {
  return file_holding(name).load(name);
}

fs::path WeightSource::file_of(const std::string& name) const {
  return file_holding(name).path();
}

}  // namespace flowgrpo::io
