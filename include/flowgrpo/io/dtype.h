#pragma once
/// @file dtype.h
/// The element types a safetensors file can declare, their spelling in the
/// header ("F32", "BF16", ...), their size, and the mapping to LibTorch.
///
/// The ten types every LibTorch flowgrpo supports can hold come first. The
/// official format also defines unsigned 16/32/64-bit integers and two 8-bit
/// float formats; they are accepted so that such files open and can be listed,
/// but LibTorch 1.13 has no scalar type for them, so converting them to a
/// torch::ScalarType (and thus loading them) throws std::invalid_argument.

#include <torch/torch.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace flowgrpo::io {

/// A safetensors element type.
enum class DType {
  kF64,
  kF32,
  kF16,
  kBF16,
  kI64,
  kI32,
  kI16,
  kI8,
  kU8,
  kBool,
  // Valid in the format but without a LibTorch 1.13 scalar type (see has_scalar_type).
  kU16,
  kU32,
  kU64,
  kF8E4M3,  ///< "F8_E4M3" (torch.float8_e4m3fn in newer PyTorch)
  kF8E5M2,  ///< "F8_E5M2"
};

/// The header spelling: "F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8",
/// "U8", "BOOL", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2". Never throws.
std::string to_string(DType dtype);

/// Parses a header spelling (exact, case-sensitive as in the format).
/// @throws std::invalid_argument naming the string and listing the valid ones.
DType parse_dtype(std::string_view name);

/// Whether this LibTorch build has a scalar type for `dtype` (false for the
/// unsigned 16/32/64-bit and 8-bit float types).
bool has_scalar_type(DType dtype);

/// The LibTorch scalar type with the same bit layout.
/// @throws std::invalid_argument if has_scalar_type(dtype) is false.
torch::ScalarType to_scalar_type(DType dtype);

/// The safetensors type of a LibTorch scalar type.
/// @throws std::invalid_argument for types safetensors cannot store (complex,
///         quantized, ...), naming the type and listing the supported ones.
DType from_scalar_type(torch::ScalarType type);

/// Bytes per element (1 for BOOL, U8, I8 and the 8-bit floats). Never throws.
size_t element_size(DType dtype);

}  // namespace flowgrpo::io
