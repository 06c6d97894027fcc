#include "flowgrpo/config/config.h"

#include "config/schema.h"
#include "config/text.h"

#include <stdexcept>
#include <utility>

namespace flowgrpo::config {

namespace {

// Canonical spelling first; aliases after it map to the same value.
template <class E>
struct EnumName {
  const char* name;
  E value;
  bool canonical;
};

template <class E, std::size_t N>
std::string enum_to_string(const EnumName<E> (&names)[N], E value) {
  for (const auto& n : names)
    if (n.canonical && n.value == value) return n.name;
  return "?";
}

template <class E, std::size_t N>
E parse_enum(const EnumName<E> (&names)[N], std::string_view text, const char* what) {
  const std::string lowered = detail::to_lower(text);
  for (const auto& n : names)
    if (lowered == n.name) return n.value;
  std::vector<std::string> valid;
  for (const auto& n : names)
    if (n.canonical) valid.emplace_back(n.name);
  throw std::invalid_argument("unknown " + std::string(what) + " '" + std::string(text) +
                              "'; valid: " + detail::join(valid));
}

constexpr EnumName<ModelType> kModelTypes[] = {
    {"sd3", ModelType::kSd3, true}, {"flux", ModelType::kFlux, true}, {"shapes", ModelType::kShapes, true}};

constexpr EnumName<DType> kDTypes[] = {
    {"float32", DType::kFloat32, true}, {"bfloat16", DType::kBFloat16, true},
    {"float16", DType::kFloat16, true}, {"fp32", DType::kFloat32, false},
    {"float", DType::kFloat32, false},  {"bf16", DType::kBFloat16, false},
    {"fp16", DType::kFloat16, false},   {"half", DType::kFloat16, false}};

constexpr EnumName<SdeType> kSdeTypes[] = {{"sde", SdeType::kSde, true}, {"cps", SdeType::kCps, true}};

constexpr EnumName<PromptFormat> kPromptFormats[] = {{"geneval", PromptFormat::kGeneval, true},
                                                     {"text", PromptFormat::kText, true}};

constexpr EnumName<LoraInit> kLoraInits[] = {{"gaussian", LoraInit::kGaussian, true},
                                             {"kaiming", LoraInit::kKaiming, true}};

constexpr EnumName<DistBackend> kDistBackends[] = {{"auto", DistBackend::kAuto, true},
                                                   {"gloo", DistBackend::kGloo, true},
                                                   {"nccl", DistBackend::kNccl, true},
                                                   {"none", DistBackend::kNone, true}};

}  // namespace

std::string to_string(ModelType type) {
  return enum_to_string(kModelTypes, type);
}
ModelType parse_model_type(std::string_view name) {
  return parse_enum(kModelTypes, name, "model type");
}

std::string to_string(DType dtype) {
  return enum_to_string(kDTypes, dtype);
}
DType parse_dtype(std::string_view name) {
  return parse_enum(kDTypes, name, "dtype");
}
c10::ScalarType to_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return c10::kFloat;
    case DType::kBFloat16: return c10::kBFloat16;
    case DType::kFloat16: return c10::kHalf;
  }
  throw std::invalid_argument("unknown dtype");
}

std::string to_string(SdeType type) {
  return enum_to_string(kSdeTypes, type);
}
SdeType parse_sde_type(std::string_view name) {
  return parse_enum(kSdeTypes, name, "SDE type");
}

std::string to_string(PromptFormat format) {
  return enum_to_string(kPromptFormats, format);
}
PromptFormat parse_prompt_format(std::string_view name) {
  return parse_enum(kPromptFormats, name, "prompt format");
}

std::string to_string(LoraInit init) {
  return enum_to_string(kLoraInits, init);
}
LoraInit parse_lora_init(std::string_view name) {
  return parse_enum(kLoraInits, name, "LoRA init");
}

std::string to_string(DistBackend backend) {
  return enum_to_string(kDistBackends, backend);
}
DistBackend parse_dist_backend(std::string_view name) {
  return parse_enum(kDistBackends, name, "distributed backend");
}

bool operator==(const Config& a, const Config& b) {
  return detail::equal(a, b);
}

double effective_eval_guidance_scale(const SampleConfig& sample) {
  return sample.eval_guidance_scale.value_or(sample.guidance_scale);
}

std::filesystem::path effective_output_dir(const Config& config) {
  static constexpr std::string_view kPlaceholder = "{run_name}";
  std::string dir = config.output_dir;
  for (auto pos = dir.find(kPlaceholder); pos != std::string::npos;
       pos = dir.find(kPlaceholder, pos + config.run_name.size()))
    dir.replace(pos, kPlaceholder.size(), config.run_name);
  return std::filesystem::path(dir);
}

}  // namespace flowgrpo::config
