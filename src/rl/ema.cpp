#include "flowgrpo/rl/ema.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

namespace flowgrpo::rl {

Ema::Ema(const std::vector<torch::Tensor>& parameters, EmaOptions options) : options_(options) {
  if (!std::isfinite(options_.max_decay) || options_.max_decay < 0 || options_.max_decay >= 1)
    throw std::invalid_argument("Ema: max_decay must be in [0, 1), got " +
                                std::to_string(options_.max_decay));
  if (options_.update_every < 1)
    throw std::invalid_argument("Ema: update_every must be >= 1, got " +
                                std::to_string(options_.update_every));
  torch::NoGradGuard no_grad;
  shadow_.reserve(parameters.size());
  for (size_t i = 0; i < parameters.size(); ++i) {
    const auto& p = parameters[i];
    if (!p.defined()) throw std::invalid_argument("Ema: parameter " + std::to_string(i) + " is undefined");
    auto s = p.detach().clone();
    if (options_.device) s = s.to(*options_.device);
    shadow_.push_back(s);
  }
}

double Ema::decay_at(int64_t step, double max_decay) {
  // ema.py::get_current_decay
  const auto s = static_cast<double>(step);
  return std::min((1.0 + s) / (10.0 + s), max_decay);
}

bool Ema::updates_at(int64_t step) const {
  return (step + 1) % options_.update_every == 0;
}

void Ema::check_matches(const std::vector<torch::Tensor>& parameters, const char* what) const {
  if (parameters.size() != shadow_.size())
    throw std::invalid_argument(std::string("Ema::") + what + ": expected " + std::to_string(shadow_.size()) +
                                " parameters, got " + std::to_string(parameters.size()));
  for (size_t i = 0; i < parameters.size(); ++i) {
    const auto& p = parameters[i];
    if (!p.defined() || p.sizes() != shadow_[i].sizes() || p.scalar_type() != shadow_[i].scalar_type()) {
      std::ostringstream s;
      s << "Ema::" << what << ": parameter " << i << " is ";
      if (p.defined())
        s << p.scalar_type() << " " << p.sizes();
      else
        s << "undefined";
      s << ", the average is " << shadow_[i].scalar_type() << " " << shadow_[i].sizes();
      throw std::invalid_argument(s.str());
    }
  }
}

bool Ema::step(const std::vector<torch::Tensor>& parameters, int64_t step) {
  check_matches(parameters, "step");
  if (!updates_at(step)) return false;
  torch::NoGradGuard no_grad;
  const double one_minus_decay = 1.0 - decay_at(step, options_.max_decay);
  for (size_t i = 0; i < parameters.size(); ++i) {
    if (!parameters[i].requires_grad()) continue;  // ema.py: `if parameter.requires_grad`
    auto& s = shadow_[i];
    // ema.py: ema += (1 - decay) * (param - ema)
    s.add_((parameters[i].detach().to(s.device()) - s) * one_minus_decay);
  }
  ++num_updates_;
  last_update_step_ = step;
  return true;
}

void Ema::copy_to(const std::vector<torch::Tensor>& parameters) const {
  check_matches(parameters, "copy_to");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters.size(); ++i) parameters[i].detach().copy_(shadow_[i]);
}

void Ema::store(const std::vector<torch::Tensor>& parameters) {
  check_matches(parameters, "store");
  if (!stored_.empty()) throw std::logic_error("Ema::store: a copy is already stored; restore() it first");
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> copies;
  copies.reserve(parameters.size());
  for (const auto& p : parameters) copies.push_back(p.detach().clone());
  stored_ = std::move(copies);
}

void Ema::restore(const std::vector<torch::Tensor>& parameters) {
  check_matches(parameters, "restore");
  if (stored_.empty() && !shadow_.empty()) throw std::logic_error("Ema::restore: nothing stored");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters.size(); ++i) parameters[i].detach().copy_(stored_[i]);
  stored_.clear();
}

Ema::SwapScope::SwapScope(Ema& ema, std::vector<torch::Tensor> parameters)
    : ema_(ema), parameters_(std::move(parameters)) {
  ema_.store(parameters_);
  try {
    ema_.copy_to(parameters_);
  } catch (...) {
    ema_.restore(parameters_);
    throw;
  }
}

Ema::SwapScope::~SwapScope() {
  try {
    ema_.restore(parameters_);
  } catch (...) {
    // Destructors must not throw; restore only fails if the list changed, which the
    // constructor already validated.
  }
}

EmaState Ema::state() const {
  EmaState st;
  st.shadow.reserve(shadow_.size());
  for (const auto& s : shadow_) st.shadow.push_back(s.detach().clone());
  st.num_updates = num_updates_;
  st.last_update_step = last_update_step_;
  return st;
}

void Ema::load_state(const EmaState& state) {
  check_matches(state.shadow, "load_state");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < shadow_.size(); ++i) shadow_[i].copy_(state.shadow[i]);
  num_updates_ = state.num_updates;
  last_update_step_ = state.last_update_step;
}

}  // namespace flowgrpo::rl
