#pragma once
// transformers / diffusers model folders in tests: a component folder
// (config.json + weights), weights sharded as save_pretrained shards them, the
// check that a module's tensors are exactly a weights file's, and the rejection
// of a bad config naming its file. Header-only, as the helpers need flowgrpo_io,
// which flowgrpo_test_support does not link.
#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/io/state_dict.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace flowgrpo::testing {

/// Weight file stems: transformers' model.safetensors, diffusers' diffusion_pytorch_model.safetensors.
inline constexpr const char* kTransformersWeights = "model";
inline constexpr const char* kDiffusersWeights = "diffusion_pytorch_model";

/// The JSON document in `path` (a fixture's config.json).
inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

/// A component folder: `dir`/config.json holding `config` and `dir`/<stem>.safetensors
/// holding `weights` (`dir` is created).
inline void write_component_folder(const std::filesystem::path& dir, const io::TensorMap& weights,
                                   const nlohmann::json& config,
                                   const std::string& stem = kTransformersWeights) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "config.json") << config.dump(2);
  io::save_safetensors(dir / (stem + ".safetensors"), weights);
}

/// Weights sharded as save_pretrained writes them: one `dir`/<stem>-0000K-of-0000N.safetensors
/// per entry of `shards` and `dir`/<stem>.safetensors.index.json mapping every tensor to
/// its shard (`dir` must exist).
inline void write_sharded_weights(const std::filesystem::path& dir, const std::vector<io::TensorMap>& shards,
                                  const std::string& stem = kTransformersWeights) {
  nlohmann::json index;
  index["metadata"] = nlohmann::json::object();
  const auto five_digits = [](size_t n) {
    const std::string digits = std::to_string(n);
    return std::string(digits.size() < 5 ? 5 - digits.size() : 0, '0') + digits;
  };
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string file =
        stem + "-" + five_digits(i + 1) + "-of-" + five_digits(shards.size()) + ".safetensors";
    io::save_safetensors(dir / file, shards[i]);
    for (const auto& [name, tensor] : shards[i]) index["weight_map"][name] = file;
  }
  std::ofstream(dir / (stem + ".safetensors.index.json")) << index.dump();
}

/// Expects the names of `module`'s state dict, in order, to be `file`'s tensor names,
/// and every shape to be the file's; returns the names.
inline std::vector<std::string> expect_tensors_match_file(const torch::nn::Module& module,
                                                          const io::SafetensorsFile& file) {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : io::state_dict(module)) {
    names.push_back(name);
    if (file.contains(name)) {
      EXPECT_EQ(tensor.sizes(), c10::IntArrayRef(file.info(name).shape)) << name;
    }
  }
  EXPECT_EQ(names, file.names());
  return names;
}

/// Expects `Config::from_json(config, source)` to throw std::invalid_argument whose
/// message names `source` and contains every needle; returns the message.
template <class Config>
std::string expect_config_rejected(const nlohmann::json& config, const std::string& source,
                                   std::vector<std::string> needles) {
  needles.push_back(source);
  return expect_invalid_argument([&] { Config::from_json(config, source); }, needles);
}

}  // namespace flowgrpo::testing
