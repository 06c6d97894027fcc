#pragma once
/// @file image_text_source.h
/// Where pretraining images come from: (image, prompt) pairs, deterministic in
/// the step number so a resumed run sees exactly the data an uninterrupted one would.

#include <torch/torch.h>

#include <string>
#include <vector>

namespace flowgrpo::data {

struct ImageTextBatch {
  torch::Tensor images;              ///< [N,3,H,W] uint8 (or float in [0,1])
  std::vector<std::string> prompts;  ///< N prompts
};

class ImageTextSource {
 public:
  virtual ~ImageTextSource() = default;
  /// The batch of `size` pairs used at optimizer step `step`; the same (step, size)
  /// always gives the same batch.
  virtual ImageTextBatch batch(int64_t step, int64_t size) = 0;
};

}  // namespace flowgrpo::data
