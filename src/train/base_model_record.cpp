#include "flowgrpo/train/base_model_record.h"

#include "flowgrpo/io/text_file.h"

#include <stdexcept>

namespace flowgrpo::train {

nlohmann::json base_model_record(const models::TextToImagePipeline& pipeline) {
  return {{"pipeline", pipeline.name()}, {"latent_shape", pipeline.latent_shape()}};
}

void check_base_model_record(const nlohmann::json& recorded, const models::TextToImagePipeline& pipeline,
                             const std::string& source) {
  const auto mine = base_model_record(pipeline);
  for (const auto& [key, value] : mine.items()) {
    if (!recorded.is_object() || !recorded.contains(key))
      throw std::invalid_argument(source + ": records no base-model '" + key +
                                  "' (written by an older flowgrpo); this model's is " + value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (recorded.at(key) != value)
      throw std::invalid_argument(source + " was trained for another model: its base-model '" + key + "' is " +
                                  recorded.at(key).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + ", this model's is " + value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                                  (key == "latent_shape" ? " (a pixel-space and a latent-space model do not share "
                                                           "adapters)"
                                                         : ""));
  }
}

void write_base_model_record(const std::filesystem::path& adapter_dir,
                             const models::TextToImagePipeline& pipeline) {
  io::write_text_atomic(adapter_dir / kBaseModelRecordFile, base_model_record(pipeline).dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

bool check_adapter_base_model(const std::filesystem::path& adapter_dir,
                              const models::TextToImagePipeline& pipeline) {
  const auto path = adapter_dir / kBaseModelRecordFile;
  if (!std::filesystem::exists(path)) return false;
  check_base_model_record(io::read_json_file(path), pipeline, "adapter " + adapter_dir.string());
  return true;
}

}  // namespace flowgrpo::train
