#include "flowgrpo/models/lora_linear.h"

#include <cmath>
#include <stdexcept>

namespace flowgrpo::models {

std::string to_string(LoRAInit init) {
  switch (init) {
    case LoRAInit::kGaussian: return "gaussian";
    case LoRAInit::kKaiming: return "true";
    case LoRAInit::kNone: return "false";
  }
  return "gaussian";
}

LoRAInit parse_lora_init(const std::string& name) {
  if (name == "gaussian") return LoRAInit::kGaussian;
  if (name == "true") return LoRAInit::kKaiming;
  if (name == "false") return LoRAInit::kNone;
  throw std::invalid_argument("unknown LoRA init \"" + name + "\" (valid: gaussian, true, false)");
}

LoRALinearImpl::LoRALinearImpl(const torch::nn::Linear& base, const LoRALinearOptions& options)
    : options_(options) {
  if (options.r < 1)
    throw std::invalid_argument("LoRA rank r must be >= 1, got " + std::to_string(options.r));
  if (!std::isfinite(options.lora_alpha))
    throw std::invalid_argument("LoRA lora_alpha must be finite, got " + std::to_string(options.lora_alpha));
  // PEFT LoraLayer.update_layer: scaling = alpha / r, or alpha / sqrt(r) with use_rslora.
  scaling_ = options.use_rslora ? options.lora_alpha / std::sqrt(static_cast<double>(options.r))
                                : options.lora_alpha / static_cast<double>(options.r);

  weight = register_parameter("weight", base->weight, /*requires_grad=*/false);
  if (base->bias.defined()) bias = register_parameter("bias", base->bias, /*requires_grad=*/false);

  const int64_t in = weight.size(1);
  const int64_t out = weight.size(0);
  // Created in float32 with nn.Linear's default init, re-initialised, then moved
  // to the base layer's device and dtype: the order of PEFT's update_layer,
  // reset_lora_parameters and _move_adapter_to_device_of_base_layer.
  lora_A = register_module("lora_A", torch::nn::Linear(torch::nn::LinearOptions(in, options.r).bias(false)));
  lora_B = register_module("lora_B", torch::nn::Linear(torch::nn::LinearOptions(options.r, out).bias(false)));
  {
    torch::NoGradGuard no_grad;
    switch (options.init) {
      case LoRAInit::kGaussian:
        // peft/tuners/lora/layer.py::reset_lora_parameters: normal_(A, std=1/r); zeros_(B).
        torch::nn::init::normal_(lora_A->weight, 0.0, 1.0 / static_cast<double>(options.r));
        torch::nn::init::zeros_(lora_B->weight);
        break;
      case LoRAInit::kKaiming:
        torch::nn::init::kaiming_uniform_(lora_A->weight, std::sqrt(5.0));
        torch::nn::init::zeros_(lora_B->weight);
        break;
      case LoRAInit::kNone: break;
    }
  }
  const auto dtype = options.dtype ? *options.dtype : weight.scalar_type();
  lora_A->to(weight.device(), dtype);
  lora_B->to(weight.device(), dtype);
}

torch::Tensor LoRALinearImpl::forward(const torch::Tensor& x) {
  auto result = torch::nn::functional::linear(x, weight, bias);
  if (!enabled_ || merged_) return result;
  // PEFT Linear.forward: x.to(lora_A.weight.dtype); result + lora_B(lora_A(x)) * scaling;
  // then back to the base result's dtype.
  const auto result_dtype = result.scalar_type();
  auto lora_in = x.to(lora_A->weight.scalar_type());
  result = result + lora_B->forward(lora_A->forward(lora_in)) * scaling_;
  return result.to(result_dtype);
}

void LoRALinearImpl::set_enabled(bool enabled) {
  if (!enabled && merged_) unmerge();
  enabled_ = enabled;
}

torch::Tensor LoRALinearImpl::delta_weight() const {
  // PEFT Linear.get_delta_weight: (B @ A) * scaling, computed in float32 for
  // half types on CPU (where half matmul is slow or missing), cast back.
  auto a = lora_A->weight.detach();
  auto b = lora_B->weight.detach();
  const auto out_dtype = weight.scalar_type();
  const bool upcast = a.scalar_type() == torch::kHalf || a.scalar_type() == torch::kBFloat16;
  if (upcast) {
    a = a.to(torch::kFloat);
    b = b.to(torch::kFloat);
  }
  return (torch::matmul(b, a) * scaling_).to(out_dtype);
}

void LoRALinearImpl::merge() {
  if (merged_) return;
  torch::NoGradGuard no_grad;
  weight.add_(delta_weight());
  merged_ = true;
}

void LoRALinearImpl::unmerge() {
  if (!merged_) return;
  torch::NoGradGuard no_grad;
  weight.sub_(delta_weight());
  merged_ = false;
}

void LoRALinearImpl::pretty_print(std::ostream& stream) const {
  stream << "flowgrpo::models::LoRALinear(in_features=" << weight.size(1)
         << ", out_features=" << weight.size(0) << ", bias=" << (bias.defined() ? "true" : "false")
         << ", r=" << options_.r << ", lora_alpha=" << options_.lora_alpha
         << ", enabled=" << (enabled_ ? "true" : "false") << ", merged=" << (merged_ ? "true" : "false")
         << ")";
}

std::shared_ptr<torch::nn::Module> child_module(const torch::nn::Module& parent, const std::string& name) {
  // named_children() returns a copy of the (small) ordered dict; looking the
  // child up per call is what lets Module::replace_module take effect.
  const auto children = parent.named_children();
  const auto* found = children.find(name);
  if (found == nullptr) throw std::runtime_error(parent.name() + " has no submodule \"" + name + "\"");
  return *found;
}

torch::Tensor forward_linear(torch::nn::Module& module, const torch::Tensor& x) {
  if (auto* linear = dynamic_cast<torch::nn::LinearImpl*>(&module)) return linear->forward(x);
  if (auto* lora = dynamic_cast<LoRALinearImpl*>(&module)) return lora->forward(x);
  throw std::runtime_error("forward_linear: " + module.name() + " is neither a Linear nor a LoRALinear");
}

torch::Tensor forward_linear(const torch::nn::Module& parent, const std::string& name,
                             const torch::Tensor& x) {
  return forward_linear(*child_module(parent, name), x);
}

}  // namespace flowgrpo::models
