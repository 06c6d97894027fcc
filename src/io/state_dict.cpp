#include "flowgrpo/io/state_dict.h"
#include "flowgrpo/common/shape_string.h"

#include "flowgrpo/common/error.h"
#include "flowgrpo/log/logging.h"
#include "io/problem_list.h"

#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>

namespace flowgrpo::io {
namespace {

/// What the checks need to know about one tensor of the source.
struct SourceEntry {
  std::vector<int64_t> shape;
  std::string dtype_name;                 // as written in messages
  std::optional<torch::ScalarType> type;  // nullopt: no LibTorch equivalent
};

using Fetch = std::function<torch::Tensor(const std::string&)>;

/// Safetensors spelling where there is one, so file and model read alike.
std::string dtype_name(torch::ScalarType type) {
  try {
    return to_string(from_scalar_type(type));
  } catch (const std::invalid_argument&) {
    return c10::toString(type);
  }
}

bool starts_with_any(const std::string& name, const std::vector<std::string>& prefixes) {
  for (const auto& p : prefixes) {
    if (name.compare(0, p.size(), p) == 0) return true;
  }
  return false;
}

bool contains_any(const std::string& name, const std::vector<std::string>& substrings) {
  for (const auto& s : substrings) {
    if (name.find(s) != std::string::npos) return true;
  }
  return false;
}

void load_checked(torch::nn::Module& module, const std::map<std::string, SourceEntry>& source,
                  const std::string& description, const Fetch& fetch, const LoadOptions& options) {
  const std::string context = "loading weights from " + description;
  const TensorMap target = state_dict(module);

  std::vector<std::string> missing, unexpected, shape_mismatch, dtype_mismatch, not_loadable;
  std::vector<std::pair<torch::Tensor, std::string>> plan;  // module tensor, source name
  for (const auto& [name, tensor] : target) {
    const auto it = source.find(name);
    if (it == source.end()) {
      if (!contains_any(name, options.ignore_missing_substrings)) missing.push_back(name);
      continue;
    }
    const SourceEntry& entry = it->second;
    bool ok = true;
    if (tensor.sizes() != c10::IntArrayRef(entry.shape)) {
      shape_mismatch.push_back(name + " (file " + shape_string(entry.shape) + ", model " +
                               shape_string(tensor.sizes()) + ")");
      ok = false;
    }
    if (!entry.type) {
      not_loadable.push_back(name + " (" + entry.dtype_name + ")");
      ok = false;
    } else if (!options.convert_dtype && *entry.type != tensor.scalar_type()) {
      dtype_mismatch.push_back(name + " (file " + entry.dtype_name + ", model " +
                               dtype_name(tensor.scalar_type()) + ")");
      ok = false;
    }
    if (ok) plan.emplace_back(tensor, name);
  }
  for (const auto& [name, entry] : source) {
    if (target.count(name) == 0 && !starts_with_any(name, options.ignore_unexpected_prefixes)) {
      unexpected.push_back(name);
    }
  }

  detail::ProblemReport problems;
  const std::pair<const char*, const std::vector<std::string>*> categories[] = {
      {"missing in file", &missing},
      {"unexpected in file", &unexpected},
      {"shape mismatch", &shape_mismatch},
      {"dtype mismatch", &dtype_mismatch},
      {"dtype without a LibTorch equivalent", &not_loadable}};
  for (const auto& [category, items] : categories) {
    for (const auto& item : *items) problems.add(category, item);
  }
  if (!problems.empty()) throw std::invalid_argument(context + ": " + problems.to_string());

  // Fetch every source tensor before writing any, so that a tensor whose data
  // turns out to be unreadable still leaves the module untouched.
  std::vector<torch::Tensor> values;
  values.reserve(plan.size());
  with_context(context, [&] {
    for (const auto& [tensor, name] : plan) values.push_back(fetch(name));
  });
  {
    torch::NoGradGuard no_grad;
    // copy_ casts dtype (if convert_dtype allowed a difference) and moves to the
    // module tensor's device, writing in place.
    for (size_t i = 0; i < plan.size(); ++i) plan[i].first.copy_(values[i]);
  }
  log::get("io")->debug("loaded {} tensors from {}", plan.size(), description);
}

}  // namespace

TensorMap state_dict(const torch::nn::Module& module) {
  TensorMap out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    if (item.value().defined()) out.emplace(item.key(), item.value());
  }
  for (const auto& item : module.named_buffers(/*recurse=*/true)) {
    if (item.value().defined()) out.emplace(item.key(), item.value());
  }
  return out;
}

void load_state_dict(torch::nn::Module& module, const WeightSource& source, const LoadOptions& options) {
  std::map<std::string, SourceEntry> entries;
  for (const auto& name : source.names()) {
    const TensorInfo& info = source.info(name);
    SourceEntry entry{info.shape, to_string(info.dtype), std::nullopt};
    if (has_scalar_type(info.dtype)) entry.type = to_scalar_type(info.dtype);
    entries.emplace(name, std::move(entry));
  }
  // Views are zero-copy; copy_ then reads straight from the mapped file.
  load_checked(
      module, entries, source.description(), [&](const std::string& name) { return source.view(name); },
      options);
}

void load_state_dict(torch::nn::Module& module, const TensorMap& tensors,
                     const std::string& source_description, const LoadOptions& options) {
  std::map<std::string, SourceEntry> entries;
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) {
      throw std::invalid_argument("loading weights from " + source_description + ": tensor '" + name +
                                  "' is undefined");
    }
    entries.emplace(
        name, SourceEntry{tensor.sizes().vec(), dtype_name(tensor.scalar_type()), tensor.scalar_type()});
  }
  load_checked(
      module, entries, source_description, [&](const std::string& name) { return tensors.at(name); },
      options);
}

}  // namespace flowgrpo::io
