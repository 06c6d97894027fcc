#include "flowgrpo/io/dtype.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace flowgrpo::io {
namespace {

struct Expected {
  DType dtype;
  const char* name;
  size_t size;
  torch::ScalarType type;
};

const std::vector<Expected>& loadable() {
  static const std::vector<Expected> all{
      {DType::kF64, "F64", 8, torch::kFloat64}, {DType::kF32, "F32", 4, torch::kFloat32},
      {DType::kF16, "F16", 2, torch::kFloat16}, {DType::kBF16, "BF16", 2, torch::kBFloat16},
      {DType::kI64, "I64", 8, torch::kInt64},   {DType::kI32, "I32", 4, torch::kInt32},
      {DType::kI16, "I16", 2, torch::kInt16},   {DType::kI8, "I8", 1, torch::kInt8},
      {DType::kU8, "U8", 1, torch::kUInt8},     {DType::kBool, "BOOL", 1, torch::kBool},
  };
  return all;
}

TEST(DType, LoadableTypesRoundTripThroughStringAndTorch) {
  for (const auto& e : loadable()) {
    SCOPED_TRACE(e.name);
    EXPECT_EQ(to_string(e.dtype), e.name);
    EXPECT_EQ(parse_dtype(e.name), e.dtype);
    EXPECT_TRUE(has_scalar_type(e.dtype));
    EXPECT_EQ(to_scalar_type(e.dtype), e.type);
    EXPECT_EQ(from_scalar_type(e.type), e.dtype);
    EXPECT_EQ(element_size(e.dtype), e.size);
    // The size must agree with LibTorch's, or views would misread the bytes.
    EXPECT_EQ(element_size(e.dtype), c10::elementSize(e.type));
  }
}

TEST(DType, FormatTypesWithoutTorchEquivalentParseButDoNotConvert) {
  const std::vector<std::pair<const char*, size_t>> others{
      {"U16", 2}, {"U32", 4}, {"U64", 8}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  for (const auto& [name, size] : others) {
    SCOPED_TRACE(name);
    const DType d = parse_dtype(name);
    EXPECT_EQ(to_string(d), name);
    EXPECT_EQ(element_size(d), size);
    EXPECT_FALSE(has_scalar_type(d));
    try {
      to_scalar_type(d);
      ADD_FAILURE() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

TEST(DType, UnknownStringListsValidOnes) {
  for (const char* bad : {"f32", "FLOAT32", "", "F4", "C64"}) {
    try {
      parse_dtype(bad);
      ADD_FAILURE() << "expected std::invalid_argument for '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("'" + std::string(bad) + "'"), std::string::npos) << msg;
      EXPECT_NE(msg.find("F32"), std::string::npos) << msg;
      EXPECT_NE(msg.find("BF16"), std::string::npos) << msg;
      EXPECT_NE(msg.find("BOOL"), std::string::npos) << msg;
    }
  }
}

TEST(DType, UnsupportedTorchTypeThrows) {
  try {
    from_scalar_type(torch::kComplexFloat);
    ADD_FAILURE() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("ComplexFloat"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace flowgrpo::io
