// flowgrpo-pretrain: pretraining of the ShapesEval base model from scratch (a
// one-time job; the result ships in assets/shapes/): pretrain.stage "vae" trains
// a latent model's autoencoder on renders, "transformer" the rectified-flow
// transformer and text encoder (on the VAE's latents for a latent model).
#include "flowgrpo/common/process.h"
#include "flowgrpo/config/cli_options.h"
#include "flowgrpo/config/config_validator.h"
#include "flowgrpo/eval/evaluator.h"
#include "flowgrpo/eval/reconstruction_eval.h"
#include "flowgrpo/log/logging.h"
#include "flowgrpo/shapes/prompt_spec.h"
#include "flowgrpo/shapes/shapes_pipeline.h"
#include "flowgrpo/shapes/shapes_render_source.h"
#include "flowgrpo/train/pretrainer.h"
#include "flowgrpo/train/run_setup.h"
#include "flowgrpo/train/vae_pretrainer.h"

#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char** argv) {
  flowgrpo::keep_freed_memory_for_reuse();
  return flowgrpo::run_main("flowgrpo-pretrain", [&] {
    namespace ft = flowgrpo::train;
    CLI::App app{"flowgrpo-pretrain: pretrain the ShapesEval base model from scratch (rectified flow)"};
    flowgrpo::config::CliOptions cli;
    std::string output_override;
    int threads = 0;
    flowgrpo::config::add_cli_options(app, cli);
    app.add_option("--output-dir", output_override, "Run directory (default: output_dir of the config)");
    app.add_option("--threads", threads, "LibTorch intra-op threads (default: LibTorch's choice)");
    CLI11_PARSE(app, argc, argv);

    const auto config = flowgrpo::config::load_config(cli);
    if (cli.dump_config) {
      std::cout << flowgrpo::config::dump_config(config);
      return 0;
    }
    flowgrpo::config::validate_pretrain(config);
    ft::configure_logging(config, 0, 1);
    flowgrpo::set_torch_threads(threads);
    const auto device = ft::default_device();
    const auto& p = config.pretrain;
    const auto train_prompts = ft::load_prompts(config, config.data.train_prompts);
    const auto eval_prompts =
        ft::to_eval_prompts(p.eval_prompts.empty() ? train_prompts : ft::load_prompts(config, p.eval_prompts),
                            config.eval.max_prompts);
    auto reward = ft::make_reward(config);
    const auto out = ft::output_dir(config, output_override);
    auto log = flowgrpo::log::get("pretrain");

    if (p.stage == "vae") {
      namespace fm = flowgrpo::models;
      const auto vae_config_path = std::filesystem::path(p.architecture) / "vae" / "config.json";
      fm::AutoencoderKL vae(fm::AutoencoderKLConfig::from_file(vae_config_path), torch::kFloat, device);
      const flowgrpo::shapes::Renderer renderer({config.model.resolution});
      flowgrpo::shapes::ShapesRenderSource data(train_prompts, renderer, config.seed);
      // Fixed renders of the monitoring prompts: the same images at every evaluation.
      std::vector<flowgrpo::shapes::PromptSpec> specs;
      std::vector<std::string> prompts;
      std::vector<nlohmann::json> metadata;
      for (size_t i = 0; i < eval_prompts.size(); ++i)
        for (int k = 0; k < config.eval.num_images_per_prompt; ++k) {
          specs.push_back(flowgrpo::shapes::PromptSpec::from_metadata(eval_prompts.metadata[i]));
          prompts.push_back(eval_prompts.prompts[i]);
          metadata.push_back(eval_prompts.metadata[i]);
        }
      const auto eval_images = renderer.render_batch(specs, static_cast<uint64_t>(config.eval.seed));
      ft::VaePretrainer trainer(config, vae, data, out, [&](int64_t step, fm::AutoencoderKL& v) {
        const auto r = flowgrpo::eval::evaluate_reconstruction(v, *reward, eval_images, prompts, metadata,
                                                               config.sample.test_batch_size);
        log->info(
            "step {}: reconstructions of {} renders: strict accuracy {:.2f}% (originals {:.2f}%), "
            "mean |error| {:.4f}, max {:.3f}",
            step, r.num_images, 100.0 * r.reconstructed_strict_accuracy, 100.0 * r.original_strict_accuracy,
            r.mean_abs_error, r.max_abs_error);
        return r.to_json();
      });
      trainer.run();
      return 0;
    }

    auto pipeline = flowgrpo::shapes::ShapesPipeline::from_configs(p.architecture, device, p.vae);
    flowgrpo::shapes::ShapesRenderSource data(
        train_prompts, flowgrpo::shapes::Renderer({pipeline->resolution()}), config.seed);
    ft::Pretrainer trainer(config, *pipeline, data, out, [&](int64_t step) {
      flowgrpo::eval::EvalOptions o;
      o.num_steps = config.sample.eval_num_steps;
      o.guidance_scale = flowgrpo::config::effective_eval_guidance_scale(config.sample);
      o.images_per_prompt = config.eval.num_images_per_prompt;
      o.batch_size = config.sample.test_batch_size;
      o.seed = static_cast<uint64_t>(config.eval.seed);
      o.keep_images = false;
      const auto r = flowgrpo::eval::evaluate(*pipeline, *reward, eval_prompts, o);
      log->info("step {} evaluation on {} images:\n{}", step, r.num_images, r.table());
      return r.to_json();
    });
    trainer.run();
    return 0;
  });
}
