#pragma once
/// @file state_dict.h
/// Strict loading of named tensors into a torch::nn::Module. Names must match
/// the module's parameter and buffer names exactly (they equal the diffusers /
/// transformers names), so a missing, extra, mis-shaped or mis-typed tensor is
/// an error rather than a silently skipped or half-initialised layer.

#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/io/weight_source.h"

#include <torch/torch.h>

#include <string>
#include <vector>

namespace flowgrpo::io {

/// Every parameter and buffer of `module` and its descendants, by dotted name
/// ("transformer_blocks.0.attn.to_q.weight"). The tensors alias the module's
/// (no copy); undefined (unset optional) tensors are skipped.
TensorMap state_dict(const torch::nn::Module& module);

struct LoadOptions {
  /// false: a tensor's dtype in the file must equal the module tensor's dtype
  /// (otherwise reported as a dtype mismatch); true: values are cast to the
  /// module tensor's dtype.
  bool convert_dtype = false;
  /// File tensors whose names start with one of these are skipped instead of
  /// reported as unexpected, e.g. {"encoder."} when loading only a VAE decoder.
  std::vector<std::string> ignore_unexpected_prefixes;
  /// Module tensors whose names contain one of these may be absent from the
  /// file (they keep their current values), e.g. {".lora_A.", ".lora_B."} when
  /// base weights are loaded into a LoRA-injected model.
  std::vector<std::string> ignore_missing_substrings;
};

/// Copies every tensor of `source` into the module tensor of the same name,
/// under NoGradGuard, in place: device, requires_grad and identity (optimizer
/// references) of the module's tensors are kept.
///
/// Everything is checked before anything is copied; if any check fails the
/// module is left untouched and ONE std::invalid_argument reports all problems:
/// `loading weights from <source>: 3 problems: missing in file: [a.weight];
/// unexpected in file: [b.bias]; shape mismatch: [c.weight (file [64,64], model
/// [32,32])]; dtype mismatch: [d.weight (file F16, model F32)]` (at most 20
/// names per category, then "... and N more").
/// @throws std::invalid_argument as above, or as WeightSource::view for a
///         tensor whose data cannot be read (module untouched then, too).
void load_state_dict(torch::nn::Module& module, const WeightSource& source, const LoadOptions& options = {});

/// As above for tensors in memory (any device, any layout);
/// `source_description` names them in the error message.
void load_state_dict(torch::nn::Module& module, const TensorMap& tensors,
                     const std::string& source_description, const LoadOptions& options = {});

}  // namespace flowgrpo::io
