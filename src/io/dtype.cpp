#include "flowgrpo/io/dtype.h"

#include <array>
#include <stdexcept>
#include <utility>

namespace flowgrpo::io {
namespace {

struct DTypeInfo {
  DType dtype;
  const char* name;
  size_t size;
};

// Order of the list shown in error messages: the torch-loadable types first.
constexpr std::array<DTypeInfo, 15> kDTypes{{
    {DType::kF64, "F64", 8},
    {DType::kF32, "F32", 4},
    {DType::kF16, "F16", 2},
    {DType::kBF16, "BF16", 2},
    {DType::kI64, "I64", 8},
    {DType::kI32, "I32", 4},
    {DType::kI16, "I16", 2},
    {DType::kI8, "I8", 1},
    {DType::kU8, "U8", 1},
    {DType::kBool, "BOOL", 1},
    {DType::kU16, "U16", 2},
    {DType::kU32, "U32", 4},
    {DType::kU64, "U64", 8},
    {DType::kF8E4M3, "F8_E4M3", 1},
    {DType::kF8E5M2, "F8_E5M2", 1},
}};

const DTypeInfo& info_of(DType dtype) {
  for (const auto& info : kDTypes) {
    if (info.dtype == dtype) return info;
  }
  // Only reachable with a value cast from an out-of-range integer.
  throw std::runtime_error("invalid flowgrpo::io::DType value " + std::to_string(static_cast<int>(dtype)));
}

std::string all_names(bool loadable_only) {
  std::string out;
  for (const auto& info : kDTypes) {
    if (loadable_only && !has_scalar_type(info.dtype)) continue;
    if (!out.empty()) out += ", ";
    out += info.name;
  }
  return out;
}

}  // namespace

std::string to_string(DType dtype) {
  return info_of(dtype).name;
}

DType parse_dtype(std::string_view name) {
  for (const auto& info : kDTypes) {
    if (name == info.name) return info.dtype;
  }
  throw std::invalid_argument("unknown safetensors dtype '" + std::string(name) +
                              "' (valid: " + all_names(false) + ")");
}

bool has_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::kU16:
    case DType::kU32:
    case DType::kU64:
    case DType::kF8E4M3:
    case DType::kF8E5M2: return false;
    default: return true;
  }
}

torch::ScalarType to_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::kF64: return torch::kFloat64;
    case DType::kF32: return torch::kFloat32;
    case DType::kF16: return torch::kFloat16;
    case DType::kBF16: return torch::kBFloat16;
    case DType::kI64: return torch::kInt64;
    case DType::kI32: return torch::kInt32;
    case DType::kI16: return torch::kInt16;
    case DType::kI8: return torch::kInt8;
    case DType::kU8: return torch::kUInt8;
    case DType::kBool: return torch::kBool;
    default: break;
  }
  throw std::invalid_argument("safetensors dtype " + to_string(dtype) +
                              " has no LibTorch equivalent in this build (loadable: " + all_names(true) +
                              ")");
}

DType from_scalar_type(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat64: return DType::kF64;
    case torch::kFloat32: return DType::kF32;
    case torch::kFloat16: return DType::kF16;
    case torch::kBFloat16: return DType::kBF16;
    case torch::kInt64: return DType::kI64;
    case torch::kInt32: return DType::kI32;
    case torch::kInt16: return DType::kI16;
    case torch::kInt8: return DType::kI8;
    case torch::kUInt8: return DType::kU8;
    case torch::kBool: return DType::kBool;
    default: break;
  }
  throw std::invalid_argument(std::string("torch dtype ") + c10::toString(type) +
                              " cannot be stored in safetensors (supported: " + all_names(true) + ")");
}

size_t element_size(DType dtype) {
  return info_of(dtype).size;
}

}  // namespace flowgrpo::io
