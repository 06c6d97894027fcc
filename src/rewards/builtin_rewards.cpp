// The one place that lists flowgrpo's built-in rewards.
#include "flowgrpo/rewards/brightness_reward.h"
#include "flowgrpo/rewards/jpeg_reward.h"
#include "flowgrpo/rewards/remote_reward.h"
#include "flowgrpo/rewards/reward_registry.h"
#include "flowgrpo/rewards/shapes_reward.h"
#include "flowgrpo/rewards/torchscript_reward.h"

namespace flowgrpo::rewards {

void register_builtin_rewards(RewardRegistry& registry) {
  // Built-in rewards are added here as they land (see docs/rewards.md).
  auto no_options = [](const std::string& name, const nlohmann::json& options) {
    if (!options.is_object() || !options.empty())
      throw std::invalid_argument("reward '" + name + "' takes no options, found " + options.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  };
  registry.add("jpeg_compressibility", "-(JPEG size at quality 95 in KB) / 500 (DDPO / flow_grpo)",
               [no_options](const nlohmann::json& options) {
                 no_options("jpeg_compressibility", options);
                 return std::make_unique<JpegReward>(JpegReward::Kind::kCompressibility);
               });
  registry.add("jpeg_incompressibility", "JPEG size at quality 95 in KB (DDPO / flow_grpo)",
               [no_options](const nlohmann::json& options) {
                 no_options("jpeg_incompressibility", options);
                 return std::make_unique<JpegReward>(JpegReward::Kind::kIncompressibility);
               });
  registry.add("brightness", "mean pixel value in [0, 1] (a positive-control reward)",
               [no_options](const nlohmann::json& options) {
                 no_options("brightness", options);
                 return std::make_unique<BrightnessReward>();
               });
  // Neural scorers exported once to TorchScript (scripts/export_reward_models.py).
  for (const auto& spec :
       {TorchScriptReward::pickscore(), TorchScriptReward::clip_score(), TorchScriptReward::aesthetic()}) {
    registry.add(spec.name, spec.description, [spec](const nlohmann::json& options) {
      return std::make_unique<TorchScriptReward>(spec, TorchScriptReward::parse_options(options, spec.name));
    });
  }
  registry.add("shapes",
               "ShapesEval: GenEval-style partial credit and strict accuracy from a colour/shape detector",
               [](const nlohmann::json& options) { return ShapesReward::from_options(options); });
  register_remote_rewards(registry);  // remote, geneval, ocr (reward servers, remote_reward.h)
}

}  // namespace flowgrpo::rewards
