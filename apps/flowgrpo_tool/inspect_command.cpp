#include "commands.h"

#include "flowgrpo/io/weight_source.h"

#include <cstdio>
#include <memory>

namespace flowgrpo::tool {

Command add_inspect_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  app.add_option("path", *path, "A .safetensors file, a *.safetensors.index.json, or a folder holding one")
      ->required();
  return [path]() {
    const auto source = io::WeightSource::open(*path);
    int64_t total_elements = 0;
    uint64_t total_bytes = 0;
    const auto names = source.names();
    for (const auto& name : names) {
      const auto& info = source.info(name);
      std::string shape = "[";
      for (size_t i = 0; i < info.shape.size(); ++i) shape += (i ? "," : "") + std::to_string(info.shape[i]);
      shape += "]";
      std::printf("%-70s %-5s %s\n", name.c_str(), io::to_string(info.dtype).c_str(), shape.c_str());
      total_elements += info.numel();
      total_bytes += info.data_end - info.data_begin;
    }
    std::printf("%zu tensors, %lld elements, %.3f MB (%s)\n", names.size(),
                static_cast<long long>(total_elements), static_cast<double>(total_bytes) / 1e6,
                source.description().c_str());
    return 0;
  };
}

}  // namespace flowgrpo::tool
