#pragma once
/// @file prompt_generator.h
/// The ShapesEval prompt files, generated deterministically from one seed (the committed
/// files under assets/shapes/prompts/ use kPromptSeed; docs/shapes.md):
///
///  - held out of training (drawn from the seed): position and color_attr *scenes* the
///    training set never shows. A scene is a prompt up to rewording — "a circle left of a
///    square" and "a square right of a circle" are one scene, as are "a red square and a
///    green circle" and "a green circle and a red square" — so holding out a scene removes
///    both wordings. Held out: one horizontal and one vertical position scene on different
///    shape pairs (4 of the 24 position prompts), and 12 of the 90 color_attr scenes (24
///    of the 180 color_attr prompts). Every shape, colour, relation and colour-shape
///    binding still occurs in training: only the combinations are new.
///  - test: every prompt of the small spaces (3 single_object, 6 two_object, 12 counting,
///    18 colors, 24 position including the 4 held out) and 48 color_attr prompts (the 24
///    held out plus 24 seen ones drawn from the seed); 111 prompts, grouped by tag in
///    GenEval's order.
///  - train: kTrainSize lines drawn from the prompts not held out, with GenEval-train's
///    task emphasis Position:Counting:Attr:Colors:Two = 7:5:3:1:1 plus single_object at
///    1 (flow_grpo used 0; kept here as a cheap anchor for a from-scratch base model):
///    700, 500, 300, 100, 100 and 100 lines. Within a tag the prompts are cycled in
///    seeded shuffled rounds so each appears equally often (±1); then all lines are
///    shuffled. Lines repeat, as the sampler draws uniformly from lines.
///  - held_out: the 28 held-out test prompts, for measuring generalisation alone.
/// Test prompts are necessarily also training prompts except the held-out ones: the
/// small categories have too few prompts to split (GenEval/flow_grpo deduplicate train
/// against test, which this space does not allow).

#include "flowgrpo/shapes/prompt_spec.h"

#include <cstdint>
#include <filesystem>
#include <vector>

namespace flowgrpo::shapes {

/// The seed of the committed prompt files.
inline constexpr uint64_t kPromptSeed = 2026;
/// Lines in train_metadata.jsonl.
inline constexpr int kTrainSize = 1800;

/// The three prompt lists of one seed.
struct PromptSets {
  std::vector<PromptSpec> train;
  std::vector<PromptSpec> test;
  std::vector<PromptSpec> held_out;
};

/// Every template prompt of `tag` in a fixed enumeration order.
std::vector<PromptSpec> enumerate_prompts(Tag tag);

/// enumerate_prompts of every tag, in all_tags() order.
std::vector<PromptSpec> enumerate_all_prompts();

/// Whether `spec` belongs to a scene held out of training for `seed`.
bool is_held_out(const PromptSpec& spec, uint64_t seed);

/// The train, test and held-out prompts for `seed` (deterministic on every platform).
PromptSets generate_prompt_sets(uint64_t seed);

/// Writes `dir/train_metadata.jsonl`, `dir/test_metadata.jsonl` and
/// `dir/held_out_metadata.jsonl` (GenEval jsonl, data::format_geneval_record per line)
/// for `seed`, creating `dir`. The same seed always gives byte-identical files. Throws
/// std::runtime_error if a file cannot be written.
void write_prompt_files(const std::filesystem::path& dir, uint64_t seed = kPromptSeed);

}  // namespace flowgrpo::shapes
