#pragma once
/// @file load_options.h
/// Where and how a component's from_pretrained() materialises its weights; shared
/// by every model component (transformers, autoencoders, text encoders).

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace flowgrpo::models {

struct LoadOptions {
  c10::ScalarType dtype = c10::kFloat;  ///< Parameter dtype; file tensors (F32/F16/BF16) are converted to it.
  c10::Device device = c10::kCPU;
};

}  // namespace flowgrpo::models
