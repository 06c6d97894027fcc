// Malformed safetensors files, built byte by byte: each must be rejected at
// open() with a std::invalid_argument naming the file (and the tensor at fault).

#include "flowgrpo/io/safetensors.h"

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
using namespace flowgrpo::io::testing;

/// Writes `bytes` to a file and expects open() to throw std::invalid_argument
/// whose message names the file and contains every needle.
void expect_rejected(const std::string& bytes, const std::vector<std::string>& needles) {
  TempDir dir;
  const fs::path path = dir / "broken.safetensors";
  write_bytes(path, bytes);
  try {
    SafetensorsFile::open(path);
    ADD_FAILURE() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path.string()), std::string::npos) << "file not named: " << msg;
    for (const auto& needle : needles) {
      EXPECT_NE(msg.find(needle), std::string::npos) << "'" << needle << "' not in: " << msg;
    }
  }
}

const char* const kF32x2 = "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

TEST(SafetensorsValidation, WellFormedBaselineOpens) {
  // The negative cases below differ from this one in one respect each.
  TempDir dir;
  write_bytes(dir / "ok.safetensors", safetensors_bytes(kF32x2, f32_bytes({1, 2})));
  EXPECT_EQ(SafetensorsFile::open(dir / "ok.safetensors").tensors().size(), 1u);
}

TEST(SafetensorsValidation, MissingFile) {
  TempDir dir;
  try {
    SafetensorsFile::open(dir / "absent.safetensors");
    ADD_FAILURE() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "absent.safetensors").string()), std::string::npos)
        << e.what();
  }
}

TEST(SafetensorsValidation, DirectoryInsteadOfFile) {
  TempDir dir;
  EXPECT_THROW(SafetensorsFile::open(dir.path()), std::invalid_argument);
}

TEST(SafetensorsValidation, FileShorterThanLengthPrefix) {
  expect_rejected("", {"0 bytes", "8-byte"});
  expect_rejected("abc", {"3 bytes", "8-byte"});
}

TEST(SafetensorsValidation, HeaderLengthBeyondFile) {
  expect_rejected(safetensors_bytes(kF32x2, f32_bytes({1, 2}), 1000), {"header length 1000", "exceeds"});
}

TEST(SafetensorsValidation, HeaderLengthAboveOfficialLimit) {
  expect_rejected(safetensors_bytes("{}", "", 100'000'001), {"100000001", "limit"});
}

TEST(SafetensorsValidation, EmptyHeader) {
  expect_rejected(safetensors_bytes(""), {"'{'"});
}

TEST(SafetensorsValidation, HeaderNotJson) {
  expect_rejected(safetensors_bytes("{not json}"), {"not valid JSON"});
  // Padding other than spaces (here NULs) is not JSON whitespace.
  expect_rejected(safetensors_bytes(std::string(kF32x2) + std::string(3, '\0'), f32_bytes({1, 2})),
                  {"not valid JSON", "NUL"});
  // ... and a NUL must not hide what follows it.
  expect_rejected(safetensors_bytes(std::string("{}") + '\0' + "garbage"), {"not valid JSON", "NUL"});
  // Nothing but whitespace may follow the object.
  expect_rejected(safetensors_bytes(std::string(kF32x2) + " x", f32_bytes({1, 2})), {"not valid JSON"});
  // The header must be UTF-8.
  expect_rejected(safetensors_bytes("{\"\xff\":{}}"), {"not valid JSON"});
}

TEST(SafetensorsValidation, HeaderNotAnObject) {
  expect_rejected(safetensors_bytes("[1, 2]  "), {"'{'", "JSON object"});
  expect_rejected(safetensors_bytes("\"text\""), {"'{'", "JSON object"});
}

TEST(SafetensorsValidation, TensorEntryNotAnObject) {
  expect_rejected(safetensors_bytes("{\"t\": 5}"), {"'t'", "not an object"});
}

TEST(SafetensorsValidation, UnknownDtype) {
  expect_rejected(safetensors_bytes("{\"t\":{\"dtype\":\"F31\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                                    f32_bytes({1, 2})),
                  {"'t'", "'F31'", "BF16"});
}

TEST(SafetensorsValidation, MissingOrMistypedFields) {
  expect_rejected(safetensors_bytes("{\"t\":{\"shape\":[2],\"data_offsets\":[0,8]}}", f32_bytes({1, 2})),
                  {"'t'", "dtype"});
  expect_rejected(safetensors_bytes("{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", f32_bytes({1, 2})),
                  {"'t'", "shape"});
  expect_rejected(safetensors_bytes("{\"t\":{\"dtype\":\"F32\",\"shape\":[2]}}", f32_bytes({1, 2})),
                  {"'t'", "missing \"data_offsets\""});
  expect_rejected(
      safetensors_bytes("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", f32_bytes({1, 2})),
      {"'t'", "data_offsets"});
  expect_rejected(safetensors_bytes("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}",
                                    f32_bytes({1, 2})),
                  {"'t'", "data_offsets"});
  expect_rejected(
      safetensors_bytes("{\"t\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", f32_bytes({1, 2})),
      {"'t'", "dtype"});
}

TEST(SafetensorsValidation, NegativeOrNonIntegerShape) {
  expect_rejected(safetensors_bytes("{\"t\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
                                    f32_bytes({1, 2})),
                  {"'t'", "negative"});
  expect_rejected(safetensors_bytes("{\"t\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}",
                                    f32_bytes({1, 2})),
                  {"'t'", "non-integer"});
  expect_rejected(
      safetensors_bytes("{\"t\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,8]}}", f32_bytes({1, 2})),
      {"'t'", "shape"});
}

TEST(SafetensorsValidation, ElementCountOverflow) {
  expect_rejected(safetensors_bytes(
                      "{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}",
                      f32_bytes({1, 2})),
                  {"'t'", "too many elements"});
}

TEST(SafetensorsValidation, NegativeOffsets) {
  expect_rejected(safetensors_bytes("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}",
                                    f32_bytes({1, 2})),
                  {"'t'", "data_offsets"});
}

TEST(SafetensorsValidation, OffsetsEndBeforeBegin) {
  expect_rejected(safetensors_bytes("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}",
                                    f32_bytes({1, 2})),
                  {"'t'", "end before"});
}

TEST(SafetensorsValidation, SizeDisagreesWithShape) {
  expect_rejected(safetensors_bytes("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
                                    f32_bytes({1, 2})),
                  {"'t'", "span 8 bytes", "needs 12"});
}

TEST(SafetensorsValidation, OverlappingTensors) {
  expect_rejected(safetensors_bytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                                    f32_bytes({1, 2, 3})),
                  {"'b'", "overlap", "'a'"});
  // Two tensors over the same bytes.
  expect_rejected(safetensors_bytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                                    f32_bytes({1, 2})),
                  {"'b'", "overlap", "'a'"});
}

TEST(SafetensorsValidation, GapBetweenTensors) {
  expect_rejected(safetensors_bytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                    "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                                    f32_bytes({1, 2, 3})),
                  {"'b'", "gap of 4 bytes"});
  // The first tensor must start at 0.
  expect_rejected(safetensors_bytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                                    f32_bytes({1, 2})),
                  {"'a'", "gap of 4 bytes"});
}

TEST(SafetensorsValidation, TrailingBytesAfterLastTensor) {
  expect_rejected(safetensors_bytes(kF32x2, f32_bytes({1, 2}) + "xx"), {"2 trailing bytes"});
  // Data but no tensors.
  expect_rejected(safetensors_bytes("{}", "zzzz"), {"4 trailing bytes"});
}

TEST(SafetensorsValidation, TruncatedData) {
  expect_rejected(safetensors_bytes(kF32x2, f32_bytes({1})), {"'t'", "beyond the 4-byte data buffer"});
}

TEST(SafetensorsValidation, MetadataWithNonStringValues) {
  expect_rejected(safetensors_bytes("{\"__metadata__\":{\"format\":\"pt\",\"total_size\":123}," +
                                        std::string(kF32x2).substr(1),
                                    f32_bytes({1, 2})),
                  {"__metadata__", "'total_size'", "not a string"});
  expect_rejected(
      safetensors_bytes("{\"__metadata__\":[\"a\"]," + std::string(kF32x2).substr(1), f32_bytes({1, 2})),
      {"__metadata__", "not an object"});
}

TEST(SafetensorsValidation, NullMetadataIsAccepted) {
  // The official reader treats null like an absent "__metadata__".
  TempDir dir;
  write_bytes(
      dir / "m.safetensors",
      safetensors_bytes("{\"__metadata__\":null," + std::string(kF32x2).substr(1), f32_bytes({1, 2})));
  EXPECT_TRUE(SafetensorsFile::open(dir / "m.safetensors").metadata().empty());
}

TEST(SafetensorsValidation, DuplicateTensorName) {
  expect_rejected(safetensors_bytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                    "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                                    f32_bytes({1, 2})),
                  {"'a'", "more than once"});
}

TEST(SafetensorsValidation, NestedDuplicateKeysAreNotTensorNames) {
  // Only top-level keys name tensors; a key repeated inside an entry is not a duplicate tensor.
  TempDir dir;
  write_bytes(dir / "n.safetensors",
              safetensors_bytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                                f32_bytes({1, 2})));
  EXPECT_EQ(SafetensorsFile::open(dir / "n.safetensors").tensors().size(), 2u);
}

}  // namespace
}  // namespace flowgrpo::io
