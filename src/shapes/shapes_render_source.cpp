#include "flowgrpo/shapes/shapes_render_source.h"

#include "flowgrpo/sampling/sample_noise.h"

#include <random>
#include <stdexcept>

namespace flowgrpo::shapes {

ShapesRenderSource::ShapesRenderSource(const data::PromptDataset& prompts, shapes::Renderer renderer,
                                       int64_t seed)
    : renderer_(std::move(renderer)), seed_(seed) {
  if (prompts.empty()) throw std::invalid_argument("pretraining: the training prompt file has no prompts");
  for (size_t i = 0; i < prompts.size(); ++i) {
    specs_.push_back(shapes::PromptSpec::from_metadata(prompts.metadata(i)));
    prompts_.push_back(prompts.prompt(i));
  }
}

data::ImageTextBatch ShapesRenderSource::batch(int64_t step, int64_t size) {
  std::mt19937_64 rng(
      sampling::derive_seed({static_cast<uint64_t>(seed_), 0x5A9Eull, static_cast<uint64_t>(step)}));
  std::uniform_int_distribution<size_t> pick(0, specs_.size() - 1);
  std::vector<shapes::PromptSpec> specs;
  std::vector<uint64_t> seeds;
  data::ImageTextBatch b;
  for (int64_t i = 0; i < size; ++i) {
    const size_t p = pick(rng);
    specs.push_back(specs_[p]);
    b.prompts.push_back(prompts_[p]);
    seeds.push_back(rng());
  }
  b.images = renderer_.render_batch(specs, seeds);
  return b;
}

}  // namespace flowgrpo::shapes
