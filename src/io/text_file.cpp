#include "flowgrpo/io/text_file.h"

#include <charconv>
#include <cstdint>
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

namespace {

std::string shown(const nlohmann::json& value) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

std::string dotted(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

}  // namespace

const nlohmann::json& json_member(const nlohmann::json& object, const std::string& key, const fs::path& path,
                                  const std::string& parent) {
  if (!object.is_object())
    throw std::invalid_argument(path.string() + ": expected a JSON object" +
                                (parent.empty() ? std::string() : " at '" + parent + "'") + ", found " +
                                object.type_name());
  const auto it = object.find(key);
  if (it == object.end())
    throw std::invalid_argument(path.string() + ": missing key '" + dotted(parent, key) + "'");
  return *it;
}

const nlohmann::json& json_object(const nlohmann::json& object, const std::string& key, const fs::path& path,
                                  const std::string& parent) {
  const auto& value = json_member(object, key, path, parent);
  if (!value.is_object())
    throw std::invalid_argument(path.string() + ": key '" + dotted(parent, key) +
                                "' must be an object, found " + shown(value));
  return value;
}

int64_t json_integer(const nlohmann::json& object, const std::string& key, const fs::path& path,
                     const std::string& parent) {
  const auto& value = json_member(object, key, path, parent);
  // An unsigned value above int64's range is not an int64 either.
  if (!value.is_number_integer() || (value.is_number_unsigned() && value.get<uint64_t>() > INT64_MAX))
    throw std::invalid_argument(path.string() + ": key '" + dotted(parent, key) +
                                "' must be an integer, found " + shown(value));
  return value.get<int64_t>();
}

std::vector<int64_t> json_integer_list(const nlohmann::json& object, const std::string& key,
                                       const fs::path& path, const std::string& parent) {
  const auto& value = json_member(object, key, path, parent);
  bool ok = value.is_array();
  for (size_t i = 0; ok && i < value.size(); ++i)
    ok = value[i].is_number_integer() &&
         !(value[i].is_number_unsigned() && value[i].get<uint64_t>() > INT64_MAX);
  if (!ok)
    throw std::invalid_argument(path.string() + ": key '" + dotted(parent, key) +
                                "' must be a list of integers, found " + shown(value));
  return value.get<std::vector<int64_t>>();
}

int64_t parse_integer_text(const std::string& text, const std::string& what) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [next, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || next != end)
    throw std::invalid_argument(what + " must be an integer, found '" + text + "'");
  return value;
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
    if (row.is_object() && row.contains(key) && row[key].is_number_integer() &&
        row[key].get<int64_t>() >= first) {
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
