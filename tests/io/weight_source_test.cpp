// WeightSource: single files, Hugging Face sharded indexes and model directories.

#include "flowgrpo/io/weight_source.h"

#include "io/io_test_util.h"
#include "support/test_support.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace flowgrpo::io {
namespace {

namespace fs = std::filesystem;
using flowgrpo::testing::TempDir;
using flowgrpo::testing::write_text_file;

const char* const kIndex = R"({
  "metadata": {"total_size": 40},
  "weight_map": {
    "a.weight": "model-00001-of-00002.safetensors",
    "a.bias": "model-00001-of-00002.safetensors",
    "b.weight": "model-00002-of-00002.safetensors"
  }
})";

/// Two shards and an index as Hugging Face writes them.
void write_sharded(const fs::path& dir, const std::string& index = kIndex) {
  save_safetensors(
      dir / "model-00001-of-00002.safetensors",
      {{"a.weight", torch::arange(6, torch::kFloat32).reshape({2, 3})}, {"a.bias", torch::ones({2})}});
  save_safetensors(dir / "model-00002-of-00002.safetensors",
                   {{"b.weight", torch::full({4}, 7, torch::kInt64)}});
  write_text_file(dir / "model.safetensors.index.json", index);
}

TEST(WeightSource, SingleFile) {
  TempDir dir;
  save_safetensors(dir / "w.safetensors", {{"y", torch::ones({2})}, {"x", torch::zeros({3})}});
  const WeightSource source = WeightSource::open(dir / "w.safetensors");
  EXPECT_EQ(source.description(), (dir / "w.safetensors").string());
  EXPECT_EQ(source.names(), (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(source.contains("x"));
  EXPECT_FALSE(source.contains("z"));
  EXPECT_EQ(source.info("x").shape, std::vector<int64_t>{3});
  EXPECT_TRUE(torch::equal(source.load("y"), torch::ones({2})));
  EXPECT_TRUE(torch::equal(source.view("x"), torch::zeros({3})));
  EXPECT_EQ(source.file_of("x"), dir / "w.safetensors");
  EXPECT_EQ(source.files().size(), 1u);
}

TEST(WeightSource, ShardedIndex) {
  TempDir dir;
  write_sharded(dir.path());
  const WeightSource source = WeightSource::open(dir / "model.safetensors.index.json");
  EXPECT_EQ(source.description(), (dir / "model.safetensors.index.json").string());
  EXPECT_EQ(source.names(), (std::vector<std::string>{"a.bias", "a.weight", "b.weight"}));
  EXPECT_EQ(source.files().size(), 2u);
  EXPECT_EQ(source.file_of("a.bias"), dir / "model-00001-of-00002.safetensors");
  EXPECT_EQ(source.file_of("b.weight"), dir / "model-00002-of-00002.safetensors");
  EXPECT_TRUE(torch::equal(source.load("a.weight"), torch::arange(6, torch::kFloat32).reshape({2, 3})));
  EXPECT_TRUE(torch::equal(source.view("b.weight"), torch::full({4}, 7, torch::kInt64)));
  EXPECT_EQ(source.info("b.weight").dtype, DType::kI64);
  flowgrpo::testing::expect_invalid_argument([&] { source.view("c.weight"); },
                                             {source.description(), "'c.weight'"});
  flowgrpo::testing::expect_invalid_argument([&] { source.file_of("c.weight"); },
                                             {source.description(), "'c.weight'"});
}

TEST(WeightSource, MissingShard) {
  TempDir dir;
  write_sharded(dir.path());
  fs::remove(dir / "model-00002-of-00002.safetensors");
  flowgrpo::testing::expect_invalid_argument(
      [&] { WeightSource::open(dir / "model.safetensors.index.json"); },
      {(dir / "model.safetensors.index.json").string(), "missing shard files",
       "model-00002-of-00002.safetensors"});
}

TEST(WeightSource, IndexAndShardsDisagreeReportedTogether) {
  TempDir dir;
  // The index forgets a.bias (present in shard 1), invents c.weight (in no
  // shard) and puts b.weight in the wrong shard.
  write_sharded(dir.path(), R"({"weight_map": {
    "a.weight": "model-00001-of-00002.safetensors",
    "c.weight": "model-00002-of-00002.safetensors",
    "b.weight": "model-00001-of-00002.safetensors"}})");
  flowgrpo::testing::expect_invalid_argument(
      [&] { WeightSource::open(dir / "model.safetensors.index.json"); },
      {(dir / "model.safetensors.index.json").string(), "4 problems",
       "tensors the index assigns to a shard that lacks them: [b.weight (model-00001-of-00002.safetensors), "
       "c.weight (model-00002-of-00002.safetensors)]",
       "tensors in a shard that the index does not list: [a.bias (in model-00001-of-00002.safetensors)]",
       "b.weight (in model-00002-of-00002.safetensors, index says model-00001-of-00002.safetensors)"});
}

TEST(WeightSource, MalformedIndex) {
  TempDir dir;
  write_sharded(dir.path(), "{\"weight_map\": ");
  flowgrpo::testing::expect_invalid_argument(
      [&] { WeightSource::open(dir / "model.safetensors.index.json"); },
      {(dir / "model.safetensors.index.json").string(), "not valid JSON"});
  write_text_file(dir / "model.safetensors.index.json", R"({"metadata": {}})");
  flowgrpo::testing::expect_invalid_argument(
      [&] { WeightSource::open(dir / "model.safetensors.index.json"); }, {"weight_map"});
  write_text_file(dir / "model.safetensors.index.json", R"({"weight_map": {"a": 3}})");
  flowgrpo::testing::expect_invalid_argument(
      [&] { WeightSource::open(dir / "model.safetensors.index.json"); }, {"'a'"});
  write_text_file(dir / "model.safetensors.index.json",
                  R"({"weight_map": {"a": "../elsewhere.safetensors"}})");
  flowgrpo::testing::expect_invalid_argument(
      [&] { WeightSource::open(dir / "model.safetensors.index.json"); },
      {"'a'", "../elsewhere.safetensors", "relative"});
}

TEST(WeightSource, InvalidShardNamesIndexAndShard) {
  TempDir dir;
  write_sharded(dir.path());
  flowgrpo::io::testing::write_bytes(dir / "model-00002-of-00002.safetensors", "garbage");
  flowgrpo::testing::expect_invalid_argument(
      [&] { WeightSource::open(dir / "model.safetensors.index.json"); },
      {(dir / "model.safetensors.index.json").string(), (dir / "model-00002-of-00002.safetensors").string()});
}

TEST(WeightSource, DirectoryWithStandardFile) {
  TempDir dir;
  save_safetensors(dir / "diffusion_pytorch_model.safetensors", {{"w", torch::ones({1})}});
  write_text_file(dir / "config.json", "{}");
  save_safetensors(dir / "diffusion_pytorch_model.fp16.safetensors", {{"w", torch::ones({1}, torch::kHalf)}});
  const WeightSource source = WeightSource::open(dir.path());
  EXPECT_EQ(source.description(), (dir / "diffusion_pytorch_model.safetensors").string());
  EXPECT_EQ(source.info("w").dtype, DType::kF32);
}

TEST(WeightSource, DirectoryWithIndex) {
  TempDir dir;
  write_sharded(dir.path());
  const WeightSource source = WeightSource::open(dir.path());
  EXPECT_EQ(source.description(), (dir / "model.safetensors.index.json").string());
  EXPECT_EQ(source.names().size(), 3u);
}

TEST(WeightSource, DirectoryWithSingleOtherSafetensorsFile) {
  TempDir dir;
  save_safetensors(dir / "lora.safetensors", {{"w", torch::ones({1})}});
  EXPECT_EQ(WeightSource::open(dir.path()).description(), (dir / "lora.safetensors").string());
}

TEST(WeightSource, FixtureDirectory) {
  const WeightSource source = WeightSource::open(flowgrpo::testing::data_path("sd3_tiny"));
  EXPECT_NE(source.description().find("diffusion_pytorch_model.safetensors"), std::string::npos);
  EXPECT_EQ(source.info("pos_embed.pos_embed").shape, (std::vector<int64_t>{1, 121, 16}));
}

TEST(WeightSource, AmbiguousOrEmptyDirectory) {
  TempDir dir;
  flowgrpo::testing::expect_invalid_argument(
      [&] { WeightSource::open(dir.path()); },
      {dir.path().string(), "no safetensors weights", "diffusion_pytorch_model.safetensors"});
  save_safetensors(dir / "a.safetensors", {{"w", torch::ones({1})}});
  save_safetensors(dir / "b.safetensors", {{"w", torch::ones({1})}});
  flowgrpo::testing::expect_invalid_argument(
      [&] { WeightSource::open(dir.path()); },
      {dir.path().string(), "2 *.safetensors files", "a.safetensors", "b.safetensors"});
  save_safetensors(dir / "model.safetensors", {{"w", torch::ones({1})}});
  save_safetensors(dir / "diffusion_pytorch_model.safetensors", {{"w", torch::ones({1})}});
  flowgrpo::testing::expect_invalid_argument(
      [&] { WeightSource::open(dir.path()); },
      {dir.path().string(), "several", "model.safetensors", "diffusion_pytorch_model.safetensors"});
}

TEST(WeightSource, MissingPath) {
  TempDir dir;
  flowgrpo::testing::expect_invalid_argument([&] { WeightSource::open(dir / "nope"); },
                                             {(dir / "nope").string(), "does not exist"});
}

}  // namespace
}  // namespace flowgrpo::io
