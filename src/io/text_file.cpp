#include "flowgrpo/io/text_file.h"

#include <fstream>
#include <stdexcept>
#include <system_error>

namespace flowgrpo::io {

namespace fs = std::filesystem;

nlohmann::json read_json_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument(path.string() + ": cannot open file");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    // Any library exception (parse_error, out_of_range for 1e999, ...) becomes one
    // error naming the file.
    throw std::invalid_argument(path.string() + ": invalid JSON: " + e.what());
  }
}

void write_text_atomic(const fs::path& path, const std::string& text) {
  std::error_code ec;
  if (path.has_parent_path()) {
    fs::create_directories(path.parent_path(), ec);
    if (ec) throw std::runtime_error("cannot create " + path.parent_path().string() + ": " + ec.message());
  }
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(tmp.string() + ": cannot open for writing");
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) throw std::runtime_error(tmp.string() + ": write failed");
  }
  fs::rename(tmp, path, ec);
  if (ec)
    throw std::runtime_error("cannot move " + tmp.string() + " to " + path.string() + ": " + ec.message());
}

}  // namespace flowgrpo::io
