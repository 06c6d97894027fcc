#pragma once
/// @file shape_string.h
/// Tensor shapes as error messages print them: "[2,16,8,8]" (safetensors' spelling).

#include <c10/util/ArrayRef.h>

#include <cstdint>
#include <string>

namespace flowgrpo {

/// "[d0,d1,...]"; "[]" for a scalar.
std::string shape_string(c10::IntArrayRef shape);

}  // namespace flowgrpo
