// Writing and reading safetensors: round trips, the exact byte layout of what we
// write, an independent Python reader, the shared fixtures, and the mmap views.

#include "flowgrpo/io/safetensors.h"

#include "io/io_test_util.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>

namespace flowgrpo::io {
namespace {

namespace fs = std::filesystem;
using flowgrpo::testing::TempDir;
using namespace flowgrpo::io::testing;

/// One tensor per loadable dtype with values that every dtype represents exactly.
TensorMap every_dtype() {
  const torch::Tensor base = torch::arange(-5, 7).reshape({3, 4});
  TensorMap t;
  t["f64"] = base.to(torch::kFloat64) * 0.25;
  t["f32"] = base.to(torch::kFloat32) * 0.5;
  t["f16"] = base.to(torch::kFloat16) * 0.5;
  t["bf16"] = base.to(torch::kBFloat16) * 0.5;
  t["i64"] = base.to(torch::kInt64) * int64_t{1000000000000};
  t["i32"] = base.to(torch::kInt32) * 100000;
  t["i16"] = base.to(torch::kInt16) * 1000;
  t["i8"] = base.to(torch::kInt8) * 10;
  t["u8"] = (base + 5).to(torch::kUInt8) * 20;
  t["bool"] = (base % 3 == 0);
  t["scalar"] = torch::tensor(3.5, torch::kFloat32);  // shape []
  t["empty_rows"] = torch::empty({0, 3}, torch::kFloat32);
  t["empty_cols"] = torch::empty({2, 0}, torch::kInt64);
  t["empty_bf16"] = torch::empty({0}, torch::kBFloat16);
  return t;
}

void expect_same(const TensorMap& actual, const TensorMap& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (const auto& [name, e] : expected) {
    SCOPED_TRACE(name);
    ASSERT_EQ(actual.count(name), 1u);
    const torch::Tensor& a = actual.at(name);
    EXPECT_EQ(a.scalar_type(), e.scalar_type());
    EXPECT_EQ(a.sizes(), e.sizes());
    EXPECT_TRUE(a.is_contiguous());
    EXPECT_TRUE(torch::equal(a, e.contiguous()));
  }
}

TEST(Safetensors, RoundTripsEveryDtypeScalarsAndEmptyTensors) {
  TempDir dir;
  const TensorMap tensors = every_dtype();
  const std::map<std::string, std::string> metadata{{"format", "pt"}, {"note", "ünïcødé \"quoted\"\n"}};
  save_safetensors(dir / "all.safetensors", tensors, metadata);

  expect_same(load_safetensors(dir / "all.safetensors"), tensors);
  const SafetensorsFile file = SafetensorsFile::open(dir / "all.safetensors");
  EXPECT_EQ(file.metadata(), metadata);
  EXPECT_EQ(file.path(), dir / "all.safetensors");
  EXPECT_EQ(file.info("scalar").shape, std::vector<int64_t>{});
  EXPECT_EQ(file.info("scalar").numel(), 1);
  EXPECT_EQ(file.info("empty_rows").numel(), 0);
  EXPECT_EQ(file.info("empty_rows").data_begin, file.info("empty_rows").data_end);
  EXPECT_EQ(file.info("bf16").dtype, DType::kBF16);
  EXPECT_EQ(file.info("i64").nbytes(), 12u * 8u);
  // Views read the same values as copies.
  for (const auto& [name, expected] : tensors) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(torch::equal(file.view(name), expected));
  }
}

TEST(Safetensors, TensorsAreListedByName) {
  TempDir dir;
  save_safetensors(dir / "a.safetensors", every_dtype());
  const SafetensorsFile file = SafetensorsFile::open(dir / "a.safetensors");
  std::vector<std::string> names;
  for (const auto& t : file.tensors()) names.push_back(t.name);
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(names, sorted);
  EXPECT_EQ(file.names(), sorted);
  EXPECT_TRUE(file.contains("f16"));
  EXPECT_FALSE(file.contains("F16"));
}

TEST(Safetensors, NoMetadataWritesNoMetadataKey) {
  TempDir dir;
  save_safetensors(dir / "a.safetensors", {{"x", torch::ones({2})}});
  const std::string bytes = read_bytes(dir / "a.safetensors");
  EXPECT_EQ(bytes.find("__metadata__"), std::string::npos);
  EXPECT_TRUE(SafetensorsFile::open(dir / "a.safetensors").metadata().empty());
}

TEST(Safetensors, EmptyTensorMapRoundTrips) {
  TempDir dir;
  save_safetensors(dir / "none.safetensors", {}, {{"k", "v"}});
  const SafetensorsFile file = SafetensorsFile::open(dir / "none.safetensors");
  EXPECT_TRUE(file.tensors().empty());
  EXPECT_EQ(file.metadata().at("k"), "v");
}

TEST(Safetensors, WrittenBytesFollowTheOfficialLayout) {
  TempDir dir;
  const TensorMap tensors{
      {"a", torch::tensor({1, 2, 3}, torch::kInt8)},
      {"b", torch::tensor({1.0f, 2.0f})},
      {"c", torch::tensor(7.0, torch::kFloat64)},
      {"d", torch::empty({0}, torch::kFloat32)},
  };
  save_safetensors(dir / "layout.safetensors", tensors, {{"k", "v"}});
  const std::string bytes = read_bytes(dir / "layout.safetensors");

  // Element size descending (F64, F32, F32, I8), then name; metadata last, as
  // the official writer does (see the fixture test below).
  const std::string json =
      "{\"c\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
      "\"d\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[16,16]},"
      "\"a\":{\"dtype\":\"I8\",\"shape\":[3],\"data_offsets\":[16,19]},"
      "\"__metadata__\":{\"k\":\"v\"}}";
  std::string header = json;
  while ((8 + header.size()) % 8 != 0) header += ' ';
  ASSERT_GT(header.size(), json.size()) << "this case should need padding";

  ASSERT_EQ(bytes.size(), 8 + header.size() + 19);
  EXPECT_EQ(bytes.substr(0, 8), u64_le(header.size()));
  EXPECT_EQ(bytes.substr(8, header.size()), header);
  const std::string data = bytes.substr(8 + header.size());
  double c = 0;
  std::memcpy(&c, data.data(), 8);
  EXPECT_EQ(c, 7.0);
  EXPECT_EQ(data.substr(8, 8), f32_bytes({1.0f, 2.0f}));
  EXPECT_EQ(data.substr(16), std::string("\x01\x02\x03", 3));
}

TEST(Safetensors, SavesNonContiguousAndGradTensorsByValue) {
  TempDir dir;
  const torch::Tensor base = torch::arange(12, torch::kFloat32).reshape({3, 4});
  const torch::Tensor transposed = base.t();  // non-contiguous
  const torch::Tensor sliced = base.index({torch::indexing::Slice(), torch::indexing::Slice(1, 4, 2)});
  const torch::Tensor grad = torch::ones({2}, torch::requires_grad());
  save_safetensors(dir / "v.safetensors", {{"t", transposed}, {"s", sliced}, {"g", grad}});
  const TensorMap loaded = load_safetensors(dir / "v.safetensors");
  EXPECT_TRUE(torch::equal(loaded.at("t"), transposed));
  EXPECT_TRUE(torch::equal(loaded.at("s"), sliced));
  EXPECT_TRUE(torch::equal(loaded.at("g"), grad.detach()));
  EXPECT_FALSE(loaded.at("g").requires_grad());
}

TEST(Safetensors, SavesCudaTensors) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  TempDir dir;
  const torch::Tensor t = torch::randn({4, 5}, torch::kCUDA).to(torch::kBFloat16);
  save_safetensors(dir / "cuda.safetensors", {{"t", t}});
  EXPECT_TRUE(torch::equal(load_safetensors(dir / "cuda.safetensors").at("t"), t.cpu()));
}

TEST(Safetensors, SaveRejectsWhatTheFormatCannotHold) {
  TempDir dir;
  const fs::path path = dir / "bad.safetensors";
  const auto expect_error = [&](const TensorMap& tensors, const std::vector<std::string>& needles) {
    try {
      save_safetensors(path, tensors);
      ADD_FAILURE() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
      for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(path));
  };
  expect_error({{"ok", torch::ones({1})}, {"complex", torch::ones({2}, torch::kComplexFloat)}},
               {path.string(), "'complex'", "ComplexFloat"});
  expect_error({{"__metadata__", torch::ones({1})}}, {path.string(), "'__metadata__'", "reserved"});
  expect_error({{"undefined", torch::Tensor()}}, {path.string(), "'undefined'"});
  expect_error({{"sparse", torch::ones({2, 2}).to_sparse()}}, {path.string(), "'sparse'"});
  expect_error({{std::string("bad\xff utf8"), torch::ones({1})}}, {path.string(), "UTF-8"});
  // Nothing was left behind in the directory.
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(Safetensors, SaveReportsIoFailuresAndLeavesNoTemporaryFile) {
  TempDir dir;
  try {
    save_safetensors(dir / "missing_dir" / "x.safetensors", {{"x", torch::ones({1})}});
    ADD_FAILURE() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "missing_dir" / "x.safetensors").string()), std::string::npos)
        << e.what();
  }
  // Renaming over a non-empty directory fails after the temporary file was written.
  fs::create_directories(dir / "target.safetensors" / "occupied");
  EXPECT_THROW(save_safetensors(dir / "target.safetensors", {{"x", torch::ones({1})}}), std::runtime_error);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir.path())) left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"target.safetensors"});
}

TEST(Safetensors, OverwriteIsAtomicReplacementNotInPlaceRewrite) {
  TempDir dir;
  const fs::path path = dir / "w.safetensors";
  save_safetensors(path, {{"x", torch::full({1000}, 1.0f)}});
  const torch::Tensor old_view = SafetensorsFile::open(path).view("x");
  // A different, shorter file: an in-place rewrite would truncate the mapped
  // file under old_view (SIGBUS on access); rename() leaves the old inode intact.
  save_safetensors(path, {{"y", torch::full({3}, 2.0f)}});
  EXPECT_TRUE(torch::equal(old_view, torch::full({1000}, 1.0f)));
  const TensorMap now = load_safetensors(path);
  ASSERT_EQ(now.count("y"), 1u);
  EXPECT_TRUE(torch::equal(now.at("y"), torch::full({3}, 2.0f)));
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir.path())) left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"w.safetensors"});
}

// ---------------------------------------------------------------------------
// Independent reader
// ---------------------------------------------------------------------------

TEST(Safetensors, PythonReaderAgreesWithWriter) {
  FLOWGRPO_REQUIRE_PYTHON("json struct");
  TempDir dir;
  const TensorMap tensors = every_dtype();
  const std::map<std::string, std::string> metadata{{"format", "pt"}, {"ünï", "cødé"}};
  save_safetensors(dir / "all.safetensors", tensors, metadata);

  nlohmann::json expected;
  expected["metadata"] = metadata;
  expected["tensors"] = nlohmann::json::object();
  for (const auto& [name, t] : tensors) {
    nlohmann::json entry;
    entry["dtype"] = to_string(from_scalar_type(t.scalar_type()));
    entry["shape"] = t.sizes().vec();
    nlohmann::json values = nlohmann::json::array();
    const torch::Tensor flat = t.flatten();
    if (t.is_floating_point()) {
      const torch::Tensor d = flat.to(torch::kFloat64);
      for (int64_t i = 0; i < d.numel(); ++i) values.push_back(d[i].item<double>());
    } else {
      const torch::Tensor d = flat.to(torch::kInt64);
      for (int64_t i = 0; i < d.numel(); ++i) values.push_back(d[i].item<int64_t>());
    }
    entry["values"] = values;
    expected["tensors"][name] = entry;
  }
  flowgrpo::testing::write_text_file(dir / "expected.json", expected.dump());

  const fs::path script = fs::path(FLOWGRPO_SOURCE_DIR) / "tests" / "io" / "check_safetensors.py";
  const auto result = flowgrpo::testing::run_command(flowgrpo::testing::python() + " '" + script.string() +
                                                     "' '" + (dir / "all.safetensors").string() + "' '" +
                                                     (dir / "expected.json").string() + "'");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("OK 14 tensors"), std::string::npos) << result.output;
}

// ---------------------------------------------------------------------------
// Shared fixtures (written by the official Python safetensors package)
// ---------------------------------------------------------------------------

TEST(Safetensors, ReadsSd3TinyTransformerFixture) {
  const SafetensorsFile file =
      SafetensorsFile::open(flowgrpo::testing::data_path("sd3_tiny/diffusion_pytorch_model.safetensors"));
  EXPECT_EQ(file.tensors().size(), 159u);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  const TensorInfo& pos = file.info("pos_embed.pos_embed");
  EXPECT_EQ(pos.dtype, DType::kF32);
  EXPECT_EQ(pos.shape, (std::vector<int64_t>{1, 121, 16}));  // pos_embed_max_size 11 -> 11*11 positions
  // config.json: patch_size 2, in_channels 16, num_layers 4, attention_head_dim 8 x 2 heads.
  EXPECT_EQ(file.info("pos_embed.proj.weight").shape, (std::vector<int64_t>{16, 16, 2, 2}));
  EXPECT_EQ(file.info("context_embedder.weight").shape, (std::vector<int64_t>{16, 32}));
  EXPECT_EQ(file.info("transformer_blocks.0.attn.to_q.weight").shape, (std::vector<int64_t>{16, 16}));
  EXPECT_TRUE(file.contains("transformer_blocks.3.ff.net.2.bias"));
  EXPECT_FALSE(file.contains("transformer_blocks.4.ff.net.2.bias"));
  const torch::Tensor w = file.load("context_embedder.weight");
  EXPECT_EQ(w.sizes(), (c10::IntArrayRef{16, 32}));
  EXPECT_TRUE(torch::isfinite(w).all().item<bool>());
  EXPECT_GT(w.abs().sum().item<double>(), 0.0);
}

TEST(Safetensors, ReadsSd3TinyIoFixtureValues) {
  const TensorMap io = load_safetensors(flowgrpo::testing::data_path("sd3_tiny/io.safetensors"));
  EXPECT_EQ(io.size(), 48u);
  EXPECT_EQ(io.at("input.hidden_states").sizes(), (c10::IntArrayRef{2, 16, 16, 16}));
  EXPECT_EQ(io.at("input.encoder_hidden_states").sizes(), (c10::IntArrayRef{2, 7, 32}));
  EXPECT_EQ(io.at("input.pooled_projections").sizes(), (c10::IntArrayRef{2, 24}));
  // Documented in the fixture README: timestep = [1000.0, 602.15057].
  const torch::Tensor t = io.at("input.timestep");
  EXPECT_FLOAT_EQ(t[0].item<float>(), 1000.0f);
  EXPECT_NEAR(t[1].item<float>(), 602.15057f, 1e-4);
}

TEST(Safetensors, RewritingTheFixtureReproducesItsTensorsExactly) {
  TempDir dir;
  const fs::path src = flowgrpo::testing::data_path("sd3_tiny/diffusion_pytorch_model.safetensors");
  const SafetensorsFile original = SafetensorsFile::open(src);
  save_safetensors(dir / "copy.safetensors", load_safetensors(src), original.metadata());
  const SafetensorsFile copy = SafetensorsFile::open(dir / "copy.safetensors");
  ASSERT_EQ(copy.names(), original.names());
  for (const auto& name : original.names()) {
    ASSERT_TRUE(torch::equal(copy.view(name), original.view(name))) << name;
  }
  // The fixture was written by the official Python package; our writer must
  // reproduce it byte for byte (same header layout, padding and data order).
  const std::string ours = read_bytes(dir / "copy.safetensors"), official = read_bytes(src);
  EXPECT_TRUE(ours == official) << "sizes " << ours.size() << " vs " << official.size()
                                << "\nours:     " << ours.substr(8, 160)
                                << "\nofficial: " << official.substr(8, 160);
}

// ---------------------------------------------------------------------------
// Memory mapping
// ---------------------------------------------------------------------------

/// Address ranges of this process's mappings of `path` (from /proc/self/maps).
std::vector<std::pair<uintptr_t, uintptr_t>> mappings_of(const fs::path& path) {
  std::vector<std::pair<uintptr_t, uintptr_t>> out;
  std::ifstream maps("/proc/self/maps");
  const std::string target = fs::weakly_canonical(path).string();
  std::string line;
  while (std::getline(maps, line)) {
    if (line.size() < target.size() ||
        line.compare(line.size() - target.size(), target.size(), target) != 0) {
      continue;
    }
    std::istringstream is(line);
    std::string range;
    is >> range;
    const auto dash = range.find('-');
    out.emplace_back(std::stoull(range.substr(0, dash), nullptr, 16),
                     std::stoull(range.substr(dash + 1), nullptr, 16));
  }
  return out;
}

bool inside(const void* p, const std::vector<std::pair<uintptr_t, uintptr_t>>& ranges) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  for (const auto& [begin, end] : ranges) {
    if (a >= begin && a < end) return true;
  }
  return false;
}

TEST(Safetensors, ViewIsZeroCopyAndLoadIsNot) {
  if (!fs::exists("/proc/self/maps")) GTEST_SKIP() << "needs /proc/self/maps";
  TempDir dir;
  const fs::path path = dir / "m.safetensors";
  save_safetensors(path,
                   {{"a", torch::arange(64, torch::kFloat32)}, {"b", torch::arange(16, torch::kInt64)}});
  const SafetensorsFile file = SafetensorsFile::open(path);
  const auto ranges = mappings_of(path);
  ASSERT_FALSE(ranges.empty()) << "file not mapped";
  const torch::Tensor va = file.view("a");
  const torch::Tensor vb = file.view("b");
  EXPECT_TRUE(inside(va.data_ptr(), ranges));
  EXPECT_TRUE(inside(vb.data_ptr(), ranges));
  EXPECT_EQ(va.data_ptr(), file.view("a").data_ptr());
  // b (8-byte elements) is stored first, a right after it.
  EXPECT_EQ(static_cast<const char*>(va.data_ptr()) - static_cast<const char*>(vb.data_ptr()), 16 * 8);
  const torch::Tensor la = file.load("a");
  EXPECT_FALSE(inside(la.data_ptr(), ranges));
  EXPECT_TRUE(torch::equal(la, va));
  la.add_(1);  // loaded copies are writable
  EXPECT_TRUE(torch::equal(va, torch::arange(64, torch::kFloat32)));
}

TEST(Safetensors, ViewKeepsMappingAliveAndReleasesItAfterwards) {
  if (!fs::exists("/proc/self/maps")) GTEST_SKIP() << "needs /proc/self/maps";
  TempDir dir;
  const fs::path path = dir / "alive.safetensors";
  save_safetensors(path, {{"a", torch::arange(1000, torch::kFloat32)}});
  const fs::path canonical = fs::canonical(path);
  torch::Tensor view;
  {
    const SafetensorsFile file = SafetensorsFile::open(path);
    const SafetensorsFile copy = file;  // copies share the mapping
    view = copy.view("a").slice(0, 10, 20);
  }
  fs::remove(path);  // even the directory entry is gone; the mapping holds the inode
  EXPECT_FALSE(mappings_of(canonical.string() + " (deleted)").empty());
  EXPECT_TRUE(torch::equal(view, torch::arange(10, 20, torch::kFloat32)));
  view = torch::Tensor();
  EXPECT_TRUE(mappings_of(canonical.string() + " (deleted)").empty()) << "mapping leaked";
}

TEST(Safetensors, MisalignedDataFromForeignWritersIsCopiedNotAliased) {
  TempDir dir;
  // An unpadded header puts the data at an odd file offset; the mapping is
  // page-aligned, so the F32/F64 values sit at misaligned addresses.
  const std::string header =
      "{\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},"
      "\"f\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]},"
      "\"u\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[28,30]}}";
  std::string padded = header;
  while ((8 + padded.size()) % 8 != 3) padded += ' ';
  double doubles[2] = {1.5, -2.25};
  std::string data(reinterpret_cast<const char*>(doubles), sizeof(doubles));
  data += f32_bytes({0.5f, 1.0f, -3.0f}) + std::string("\x07\x09", 2);
  write_bytes(dir / "odd.safetensors", safetensors_bytes(padded, data));

  const SafetensorsFile file = SafetensorsFile::open(dir / "odd.safetensors");
  const torch::Tensor d = file.view("d");
  const torch::Tensor f = file.view("f");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(d.data_ptr()) % 8, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(f.data_ptr()) % 4, 0u);
  EXPECT_TRUE(torch::equal(d, torch::tensor({1.5, -2.25}, torch::kFloat64)));
  EXPECT_TRUE(torch::equal(f, torch::tensor({0.5f, 1.0f, -3.0f})));
  EXPECT_TRUE(torch::equal(file.load("f"), f));
  EXPECT_TRUE(torch::equal(file.view("u"), torch::tensor({7, 9}, torch::kUInt8)));
  if (fs::exists("/proc/self/maps")) {
    const auto ranges = mappings_of(dir / "odd.safetensors");
    EXPECT_FALSE(inside(f.data_ptr(), ranges));              // copied
    EXPECT_TRUE(inside(file.view("u").data_ptr(), ranges));  // bytes need no alignment: still zero-copy
  }
}

TEST(Safetensors, UnknownTensorNameNamesFileAndTensor) {
  TempDir dir;
  save_safetensors(dir / "a.safetensors", {{"x", torch::ones({1})}});
  const SafetensorsFile file = SafetensorsFile::open(dir / "a.safetensors");
  for (const auto& call : std::vector<std::function<void()>>{
           [&] { file.info("nope"); }, [&] { file.view("nope"); }, [&] { file.load("nope"); }}) {
    try {
      call();
      ADD_FAILURE() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find((dir / "a.safetensors").string()), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("'nope'"), std::string::npos) << e.what();
    }
  }
}

TEST(Safetensors, FormatTypesWithoutTorchEquivalentOpenButDoNotLoad) {
  TempDir dir;
  const std::string header = "{\"u\":{\"dtype\":\"U16\",\"shape\":[2],\"data_offsets\":[0,4]}}";
  write_bytes(dir / "u16.safetensors", safetensors_bytes(header, std::string(4, '\1')));
  const SafetensorsFile file = SafetensorsFile::open(dir / "u16.safetensors");
  EXPECT_EQ(file.info("u").dtype, DType::kU16);
  try {
    file.load("u");
    ADD_FAILURE() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find((dir / "u16.safetensors").string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("'u'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("U16"), std::string::npos) << msg;
  }
}

TEST(Safetensors, BoolBytesOtherThanZeroOrOneAreRejectedOnRead) {
  TempDir dir;
  const std::string header = "{\"m\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[0,3]}}";
  write_bytes(dir / "b.safetensors", safetensors_bytes(header, std::string("\x01\x00\x02", 3)));
  const SafetensorsFile file = SafetensorsFile::open(dir / "b.safetensors");
  try {
    file.view("m");
    ADD_FAILURE() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'m'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find((dir / "b.safetensors").string()), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace flowgrpo::io
