// base_model_record.h: which base model a trained adapter belongs to.
//
// LoRA shapes alone do not identify the base: the pixel and the latent ShapesEval
// transformers can have the same width, so the pixel model's adapter would load
// into the latent one without complaint and produce noise. Every checkpoint
// therefore records the pipeline's name and the shape of the space it samples in,
// and every loader compares them before touching weights.
#pragma once

#include "flowgrpo/models/pipelines/text_to_image_pipeline.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace flowgrpo::train {

/// File next to adapter_config.json in a checkpoint's lora/ folder.
inline constexpr const char* kBaseModelRecordFile = "flowgrpo_base_model.json";

/// {"pipeline": name, "latent_shape": [C, H, W]} of `pipeline`.
nlohmann::json base_model_record(const models::TextToImagePipeline& pipeline);

/// Throws std::invalid_argument naming `source` unless `recorded` (a
/// base_model_record) describes `pipeline`; a record without the keys is refused
/// as written by an older flowgrpo.
void check_base_model_record(const nlohmann::json& recorded, const models::TextToImagePipeline& pipeline,
                             const std::string& source);

/// Writes the record of `pipeline` to `adapter_dir`/kBaseModelRecordFile.
void write_base_model_record(const std::filesystem::path& adapter_dir,
                             const models::TextToImagePipeline& pipeline);

/// Checks `adapter_dir`/kBaseModelRecordFile against `pipeline` when the file is
/// there; returns false (nothing checked) for an adapter from elsewhere (e.g. PEFT).
bool check_adapter_base_model(const std::filesystem::path& adapter_dir,
                              const models::TextToImagePipeline& pipeline);

}  // namespace flowgrpo::train
