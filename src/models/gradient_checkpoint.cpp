#include "flowgrpo/models/gradient_checkpoint.h"

#include "flowgrpo/common/autocast.h"
#include "flowgrpo/compat.h"

#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/function.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace flowgrpo::models {

namespace {

// The autocast state of one device type, captured at forward time.
struct AutocastState {
  c10::DeviceType device;
  bool enabled;
  c10::ScalarType dtype;

  static AutocastState capture(c10::DeviceType device) {
    return {device, autocast_enabled(device), autocast_dtype(device)};
  }
};

// The backward node: recomputes `fn` with grad enabled and differentiates it.
// Its next edges are [inputs..., parameters...]; its inputs (the incoming
// gradients) correspond to the defined forward outputs, in order.
struct CheckpointBackward : public torch::autograd::Node {
  CheckpointFunction fn;
  std::vector<torch::Tensor> saved_inputs;  // detached; undefined stay undefined
  std::vector<bool> input_requires_grad;
  std::vector<torch::Tensor> parameters;  // those requiring grad
  std::vector<size_t> output_slots;       // forward output index of each node input
  size_t num_forward_outputs = 0;
  AutocastState cpu_autocast{c10::DeviceType::CPU, false, c10::kBFloat16};
  AutocastState cuda_autocast{c10::DeviceType::CUDA, false, c10::kHalf};
  bool released = false;

  std::string name() const override { return "flowgrpo::models::CheckpointBackward"; }

  void release_variables() override {
    saved_inputs.clear();
    released = true;
  }

  torch::autograd::variable_list apply(torch::autograd::variable_list&& grads) override {
    if (released)
      throw std::runtime_error(
          "gradient checkpoint: backward through the graph a second time (use retain_graph=true the first "
          "time)");
    torch::AutoGradMode grad_mode(true);
    AutocastGuard cpu_guard(c10::DeviceType::CPU, cpu_autocast.dtype, cpu_autocast.enabled);
    std::optional<AutocastGuard> cuda_guard;
#if FLOWGRPO_WITH_CUDA
    cuda_guard.emplace(c10::DeviceType::CUDA, cuda_autocast.dtype, cuda_autocast.enabled);
#endif

    std::vector<torch::Tensor> inputs;
    inputs.reserve(saved_inputs.size());
    for (size_t i = 0; i < saved_inputs.size(); ++i) {
      const auto& t = saved_inputs[i];
      inputs.push_back(t.defined() ? t.detach().requires_grad_(input_requires_grad[i]) : t);
    }
    auto outputs = fn(inputs);
    if (outputs.size() != num_forward_outputs) {
      throw std::runtime_error("gradient checkpoint: recomputation returned " +
                               std::to_string(outputs.size()) + " outputs, the forward " +
                               std::to_string(num_forward_outputs));
    }

    torch::autograd::variable_list roots, root_grads;
    for (size_t j = 0; j < output_slots.size(); ++j) {
      const auto& out = outputs[output_slots[j]];
      if (!grads[j].defined() || !out.defined() || !out.requires_grad()) continue;
      roots.push_back(out);
      root_grads.push_back(grads[j]);
    }
    torch::autograd::variable_list wrt;
    std::vector<size_t> wrt_slot;  // position in this node's next edges
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].defined() && input_requires_grad[i]) {
        wrt.push_back(inputs[i]);
        wrt_slot.push_back(i);
      }
    }
    for (size_t p = 0; p < parameters.size(); ++p) {
      wrt.push_back(parameters[p]);
      wrt_slot.push_back(inputs.size() + p);
    }

    torch::autograd::variable_list result(inputs.size() + parameters.size());
    if (roots.empty() || wrt.empty()) return result;
    auto g = torch::autograd::grad(roots, wrt, root_grads, /*retain_graph=*/false, /*create_graph=*/false,
                                   /*allow_unused=*/true);
    for (size_t k = 0; k < g.size(); ++k) result[wrt_slot[k]] = g[k];
    return result;
  }
};

}  // namespace

std::vector<torch::Tensor> checkpoint(const CheckpointFunction& fn, const std::vector<torch::Tensor>& inputs,
                                      const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> trainable;
  for (const auto& p : parameters)
    if (p.defined() && p.requires_grad()) trainable.push_back(p);
  bool inputs_need_grad = false;
  for (const auto& t : inputs) inputs_need_grad = inputs_need_grad || (t.defined() && t.requires_grad());
  if (!torch::GradMode::is_enabled() || (!inputs_need_grad && trainable.empty())) return fn(inputs);

  std::vector<torch::Tensor> outputs;
  {
    torch::NoGradGuard no_grad;
    outputs = fn(inputs);
  }

  auto node = compat::make_autograd_node<CheckpointBackward>();
  node->fn = fn;
  node->num_forward_outputs = outputs.size();
  node->cpu_autocast = AutocastState::capture(c10::DeviceType::CPU);
#if FLOWGRPO_WITH_CUDA
  node->cuda_autocast = AutocastState::capture(c10::DeviceType::CUDA);
#endif
  for (const auto& t : inputs) {
    node->saved_inputs.push_back(t.defined() ? t.detach() : t);
    node->input_requires_grad.push_back(t.defined() && t.requires_grad());
  }
  node->parameters = trainable;
  node->set_next_edges(torch::autograd::collect_next_edges(inputs, trainable));

  for (size_t i = 0; i < outputs.size(); ++i) {
    auto& out = outputs[i];
    if (!out.defined() || !out.is_floating_point()) continue;
    // A view would share its base's autograd metadata; give the node a tensor of its own.
    if (out.is_view()) {
      torch::NoGradGuard no_grad;
      out = out.clone();
    }
    torch::autograd::create_gradient_edge(out, node);
    node->output_slots.push_back(i);
  }
  return outputs;
}

}  // namespace flowgrpo::models
