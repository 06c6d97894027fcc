// Strict loading of named tensors into modules.

#include "flowgrpo/io/state_dict.h"

#include "io/io_test_util.h"
#include "support/test_support.h"

#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace flowgrpo::io {
namespace {

namespace fs = std::filesystem;
using flowgrpo::testing::TempDir;

struct BlockImpl : torch::nn::Module {
  BlockImpl() {
    proj = register_module("proj", torch::nn::Linear(4, 3));
    scale = register_parameter("scale", torch::ones({3}));
  }
  torch::nn::Linear proj{nullptr};
  torch::Tensor scale;
};
TORCH_MODULE(Block);

// fc.{weight,bias} [2,3] [2], block.proj.{weight,bias} [3,4] [3], block.scale [3], running [2] (buffer).
struct NetImpl : torch::nn::Module {
  NetImpl() {
    fc = register_module("fc", torch::nn::Linear(3, 2));
    block = register_module("block", Block());
    running = register_buffer("running", torch::zeros({2}));
  }
  torch::nn::Linear fc{nullptr};
  Block block{nullptr};
  torch::Tensor running;
};
TORCH_MODULE(Net);

/// A complete, correct state for Net with values unlike the initial ones.
TensorMap good_state() {
  return {
      {"fc.weight", torch::arange(6, torch::kFloat32).reshape({2, 3})},
      {"fc.bias", torch::tensor({-1.0f, -2.0f})},
      {"block.proj.weight", torch::full({3, 4}, 0.5f)},
      {"block.proj.bias", torch::tensor({1.0f, 2.0f, 3.0f})},
      {"block.scale", torch::tensor({4.0f, 5.0f, 6.0f})},
      {"running", torch::tensor({9.0f, 8.0f})},
  };
}

TensorMap snapshot(const torch::nn::Module& m) {
  TensorMap out;
  for (const auto& [name, t] : state_dict(m)) out.emplace(name, t.detach().clone());
  return out;
}

void expect_unchanged(const torch::nn::Module& m, const TensorMap& before) {
  for (const auto& [name, t] : state_dict(m))
    EXPECT_TRUE(torch::equal(t, before.at(name))) << name << " modified";
}

TEST(StateDict, ListsParametersAndBuffersByDottedName) {
  Net net;
  const TensorMap sd = state_dict(*net);
  std::vector<std::string> names;
  for (const auto& entry : sd) names.push_back(entry.first);
  EXPECT_EQ(names, (std::vector<std::string>{"block.proj.bias", "block.proj.weight", "block.scale", "fc.bias",
                                             "fc.weight", "running"}));
  // Aliases, not copies.
  EXPECT_EQ(sd.at("fc.weight").data_ptr(), net->fc->weight.data_ptr());
  EXPECT_EQ(sd.at("running").data_ptr(), net->running.data_ptr());
}

TEST(StateDict, LoadsFromFileInPlaceKeepingRequiresGrad) {
  TempDir dir;
  save_safetensors(dir / "net.safetensors", good_state());
  Net net;
  void* const weight_storage = net->fc->weight.data_ptr();
  load_state_dict(*net, WeightSource::open(dir / "net.safetensors"));
  for (const auto& [name, expected] : good_state()) {
    EXPECT_TRUE(torch::equal(state_dict(*net).at(name), expected)) << name;
  }
  EXPECT_EQ(net->fc->weight.data_ptr(), weight_storage);  // same tensor: optimizers stay valid
  EXPECT_TRUE(net->fc->weight.requires_grad());
  EXPECT_TRUE(net->block->scale.requires_grad());
  EXPECT_FALSE(net->running.requires_grad());
  EXPECT_TRUE(net->fc->weight.is_leaf());
  // The module owns its memory: writing to it does not touch the (read-only) file.
  net->fc->weight.detach().add_(1);
  EXPECT_TRUE(
      torch::equal(load_safetensors(dir / "net.safetensors").at("fc.weight"), good_state().at("fc.weight")));
}

TEST(StateDict, AllProblemsInOneErrorAndNothingCopied) {
  TempDir dir;
  TensorMap state = good_state();
  state.erase("fc.bias");                            // missing
  state["extra.weight"] = torch::ones({1});          // unexpected
  state["block.proj.weight"] = torch::ones({4, 4});  // wrong shape
  save_safetensors(dir / "bad.safetensors", state);
  Net net;
  const TensorMap before = snapshot(*net);
  flowgrpo::testing::expect_invalid_argument(
      [&] { load_state_dict(*net, WeightSource::open(dir / "bad.safetensors")); },
      {"loading weights from " + (dir / "bad.safetensors").string(), "3 problems",
       "missing in file: [fc.bias]", "unexpected in file: [extra.weight]",
       "shape mismatch: [block.proj.weight (file [4,4], model [3,4])]"});
  expect_unchanged(*net, before);
}

TEST(StateDict, DtypeMismatchUnlessConverting) {
  TempDir dir;
  TensorMap state = good_state();
  state["fc.weight"] = state["fc.weight"].to(torch::kFloat16);
  state["running"] = state["running"].to(torch::kBFloat16);
  save_safetensors(dir / "half.safetensors", state);
  const WeightSource source = WeightSource::open(dir / "half.safetensors");

  Net net;
  const TensorMap before = snapshot(*net);
  flowgrpo::testing::expect_invalid_argument(
      [&] { load_state_dict(*net, source); },
      {"2 problems", "dtype mismatch: [fc.weight (file F16, model F32), running (file BF16, model F32)]"});
  expect_unchanged(*net, before);

  LoadOptions convert;
  convert.convert_dtype = true;
  load_state_dict(*net, source, convert);
  EXPECT_EQ(net->fc->weight.scalar_type(), torch::kFloat32);  // the module's dtype wins
  EXPECT_TRUE(torch::equal(net->fc->weight, good_state().at("fc.weight")));
  EXPECT_TRUE(torch::equal(net->running, good_state().at("running")));
}

TEST(StateDict, IgnoreOptions) {
  TensorMap state = good_state();
  state.erase("block.scale");
  state["encoder.conv.weight"] = torch::ones({1});
  Net net;
  const torch::Tensor scale_before = net->block->scale.detach().clone();
  flowgrpo::testing::expect_invalid_argument([&] { load_state_dict(*net, state, "memory"); },
                                             {"loading weights from memory", "missing in file: [block.scale]",
                                              "unexpected in file: [encoder.conv.weight]"});

  LoadOptions options;
  options.ignore_unexpected_prefixes = {"encoder."};
  options.ignore_missing_substrings = {".scale"};
  load_state_dict(*net, state, "memory", options);
  EXPECT_TRUE(torch::equal(net->block->scale, scale_before));  // ignored: kept as is
  EXPECT_TRUE(torch::equal(net->fc->bias, good_state().at("fc.bias")));

  // A prefix must match at the start, not anywhere.
  options.ignore_unexpected_prefixes = {"conv."};
  flowgrpo::testing::expect_invalid_argument([&] { load_state_dict(*net, state, "memory", options); },
                                             {"encoder.conv.weight"});
}

TEST(StateDict, LongListsAreTruncated) {
  struct WideImpl : torch::nn::Module {
    WideImpl() {
      for (int i = 0; i < 30; ++i) register_parameter("p" + std::to_string(100 + i), torch::zeros({1}));
    }
  };
  WideImpl wide;
  const std::string msg =
      flowgrpo::testing::expect_invalid_argument([&] { load_state_dict(wide, TensorMap{}, "empty"); },
                                                 {"30 problems", "p100", "p119", "... and 10 more]"});
  EXPECT_EQ(msg.find("p120"), std::string::npos) << msg;
}

TEST(StateDict, TensorMapSourceAnyLayout) {
  TensorMap state = good_state();
  state["block.proj.weight"] = torch::full({4, 3}, 0.5f).t();  // non-contiguous, right shape
  Net net;
  load_state_dict(*net, state, "memory");
  EXPECT_TRUE(torch::equal(net->block->proj->weight, torch::full({3, 4}, 0.5f)));
}

TEST(StateDict, UnreadableDataLeavesModuleUntouched) {
  // A bool buffer whose file bytes are invalid only fails when its data is read,
  // after the header checks pass; nothing may have been copied by then.
  struct MaskedImpl : torch::nn::Module {
    MaskedImpl() {
      a = register_parameter("a", torch::zeros({4}));
      mask = register_buffer("mask", torch::zeros({3}, torch::kBool));
      z = register_parameter("z", torch::zeros({2}));
    }
    torch::Tensor a, mask, z;
  };
  TempDir dir;
  const fs::path path = dir / "masked.safetensors";
  save_safetensors(
      path, {{"a", torch::ones({4})}, {"mask", torch::ones({3}, torch::kBool)}, {"z", torch::ones({2})}});
  const TensorInfo info = SafetensorsFile::open(path).info("mask");
  std::string bytes = flowgrpo::io::testing::read_bytes(path);
  uint64_t header = 0;
  std::memcpy(&header, bytes.data(), sizeof(header));  // little-endian host, as the reader requires
  bytes[8 + header + info.data_begin] = 2;
  flowgrpo::io::testing::write_bytes(path, bytes);

  MaskedImpl m;
  flowgrpo::testing::expect_invalid_argument([&] { load_state_dict(m, WeightSource::open(path)); },
                                             {path.string(), "'mask'"});
  EXPECT_TRUE(torch::equal(m.a, torch::zeros({4})));
  EXPECT_TRUE(torch::equal(m.z, torch::zeros({2})));
}

TEST(StateDict, KeepsModuleDevice) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  TempDir dir;
  save_safetensors(dir / "net.safetensors", good_state());
  Net net;
  net->to(torch::kCUDA);
  load_state_dict(*net, WeightSource::open(dir / "net.safetensors"));
  EXPECT_TRUE(net->fc->weight.is_cuda());
  EXPECT_TRUE(net->fc->weight.requires_grad());
  EXPECT_TRUE(torch::equal(net->fc->weight.cpu(), good_state().at("fc.weight")));
}

}  // namespace
}  // namespace flowgrpo::io
