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

size_t drop_jsonl_rows_from(const fs::path& path, const std::string& key, int64_t first) {
  std::ifstream in(path);
  if (!in) return 0;
  std::string kept, line;
  size_t dropped = 0;
  while (std::getline(in, line)) {
    const auto row = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (row.is_object() && row.contains(key) && row[key].is_number_integer() && row[key].get<int64_t>() >= first) {
      ++dropped;
      continue;
    }
    kept += line + "\n";
  }
  in.close();
  if (dropped > 0) write_text_atomic(path, kept);
  return dropped;
}

}  // namespace flowgrpo::io
