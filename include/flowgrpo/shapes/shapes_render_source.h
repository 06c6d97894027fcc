#pragma once
/// @file shapes_render_source.h
/// Pretraining data for the ShapesEval model: prompts drawn uniformly from the
/// training prompt file and rendered on the fly (a fresh random layout every
/// time), deterministic in the step number.

#include "flowgrpo/data/image_text_source.h"
#include "flowgrpo/data/prompt_dataset.h"
#include "flowgrpo/shapes/renderer.h"

#include <vector>

namespace flowgrpo::shapes {

class ShapesRenderSource final : public data::ImageTextSource {
 public:
  /// @throws std::invalid_argument if the dataset is empty or a record is not a ShapesEval prompt.
  ShapesRenderSource(const data::PromptDataset& prompts, shapes::Renderer renderer, int64_t seed);
  data::ImageTextBatch batch(int64_t step, int64_t size) override;

 private:
  std::vector<shapes::PromptSpec> specs_;
  std::vector<std::string> prompts_;
  shapes::Renderer renderer_;
  int64_t seed_;
};

}  // namespace flowgrpo::shapes
