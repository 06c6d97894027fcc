#include "flowgrpo/data/prompt_dataset.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;
using nlohmann::json;

namespace flowgrpo::data {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string type_name(const json& j) {
  if (j.is_number_integer()) return "integer";
  if (j.is_number_float()) return "number";
  return j.type_name();
}

// Python's str.strip() for ASCII whitespace.
std::string strip(const std::string& s) {
  const char* ws = " \t\n\r\f\v";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

const json& require(const json& obj, const std::string& key, const std::string& where) {
  const auto it = obj.find(key);
  if (it == obj.end()) throw std::invalid_argument("missing key '" + where + key + "'");
  return *it;
}

// A JSON integer >= 1 (GenEval counts and indices are Python ints; 2.0 is not accepted).
int64_t positive_integer(const json& j, const std::string& name) {
  if (!j.is_number_integer() || j.get<int64_t>() < 1)
    throw std::invalid_argument("'" + name + "' must be an integer >= 1, found " +
                                j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return j.get<int64_t>();
}

void check_class(const json& clause, const std::string& where) {
  const json& cls = require(clause, "class", where);
  if (!cls.is_string() || strip(cls.get<std::string>()).empty())
    throw std::invalid_argument("'" + where + "class' must be a non-empty string, found " +
                                cls.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void check_include_clause(const json& clause, size_t index) {
  const std::string where = "include[" + std::to_string(index) + "].";
  if (!clause.is_object())
    throw std::invalid_argument("'include[" + std::to_string(index) + "]' must be an object, found " +
                                type_name(clause));
  check_class(clause, where);
  positive_integer(require(clause, "count", where), where + "count");
  if (const auto it = clause.find("color"); it != clause.end())
    if (!it->is_string() || strip(it->get<std::string>()).empty())
      throw std::invalid_argument("'" + where + "color' must be a non-empty string, found " + it->dump());
  if (const auto it = clause.find("position"); it != clause.end()) {
    const json& pos = *it;
    if (!pos.is_array() || pos.size() != 2 || !pos[0].is_string() || !pos[1].is_number_integer())
      throw std::invalid_argument("'" + where +
                                  "position' must be [relation, index] (a string and an integer), found " +
                                  pos.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    const auto relation = pos[0].get<std::string>();
    const auto& relations = geneval_relations();
    if (std::find(relations.begin(), relations.end(), relation) == relations.end())
      throw std::invalid_argument("'" + where + "position' has unknown relation '" + relation +
                                  "' (valid: " + join(relations) + ")");
    const auto target = pos[1].get<int64_t>();
    // GenEval's evaluator looks the target up among the clauses already matched, so
    // only an earlier clause can be referred to.
    if (target < 0 || target >= static_cast<int64_t>(index))
      throw std::invalid_argument(
          "'" + where + "position' index " + std::to_string(target) + " is out of range: " +
          (index == 0
               ? std::string("the first include clause cannot have a position (it can only refer to an "
                             "earlier clause)")
               : "it must name an earlier include clause, 0.." + std::to_string(index - 1)));
  }
}

std::string location(const fs::path& path, size_t line) {
  return path.string() + ":" + std::to_string(line);
}

// The byte offset of the first invalid UTF-8 sequence in `s` (strict: no overlong
// forms, surrogates or values above U+10FFFF), or npos when `s` is valid UTF-8.
// (text/unicode.h has the same check, but data does not depend on text.)
size_t invalid_utf8_offset(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    size_t length = 0;
    uint32_t cp = 0, min = 0;
    if ((b0 & 0xE0) == 0xC0) {
      length = 2, cp = b0 & 0x1Fu, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      length = 3, cp = b0 & 0x0Fu, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      length = 4, cp = b0 & 0x07u, min = 0x10000;
    } else {
      return i;
    }
    if (i + length > s.size()) return i;
    for (size_t k = 1; k < length; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (b & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += length;
  }
  return std::string::npos;
}

// Reads a file as lines (without '\n' or a trailing '\r'), dropping a UTF-8 BOM.
// Every line must be valid UTF-8: the tokenizers would otherwise reject a prompt
// in the middle of training, naming neither the file nor the line.
std::vector<std::string> read_lines(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw std::invalid_argument(path.string() + ": prompt file not found");
  if (fs::is_directory(path, ec))
    throw std::invalid_argument(path.string() + ": is a directory, expected a prompt file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument(path.string() + ": cannot open prompt file");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (const size_t bad = invalid_utf8_offset(line); bad != std::string::npos) {
      char byte[8];
      std::snprintf(byte, sizeof byte, "0x%02x",
                    static_cast<unsigned>(static_cast<unsigned char>(line[bad])));
      throw std::invalid_argument(location(path, lines.size() + 1) + ": invalid UTF-8 at byte " +
                                  std::to_string(bad) + " of the line (" + byte +
                                  "); prompt files must be UTF-8");
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  if (in.bad()) throw std::invalid_argument(path.string() + ": error while reading the prompt file");
  if (!lines.empty() && lines[0].rfind("\xEF\xBB\xBF", 0) == 0) lines[0].erase(0, 3);
  if (lines.empty()) throw std::invalid_argument(path.string() + ": empty prompt file (no prompts)");
  return lines;
}

// nlohmann's parse errors start with "[json.exception.parse_error.101] "; drop that tag.
std::string parse_error_text(const std::exception& e) {
  std::string what = e.what();
  if (!what.empty() && what[0] == '[') {
    const auto close = what.find("] ");
    if (close != std::string::npos) what = what.substr(close + 2);
  }
  return what;
}

// --- Python json.dumps layout -------------------------------------------------------

void dump_python_string(const std::string& s, std::string& out) {
  out += '"';
  auto put_u = [&](unsigned v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04x", v);
    out += buf;
  };
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20)
            put_u(c);
          else
            out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // Decode one UTF-8 sequence (nlohmann only holds valid UTF-8) and escape it as
    // Python's ensure_ascii does, with a surrogate pair above the BMP.
    int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
    unsigned cp = c & (0x3F >> extra);
    for (int k = 1; k <= extra && i + static_cast<size_t>(k) < s.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<size_t>(k)]) & 0x3F);
    i += static_cast<size_t>(extra) + 1;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put_u(0xD800 + (cp >> 10));
      put_u(0xDC00 + (cp & 0x3FF));
    } else {
      put_u(cp);
    }
  }
  out += '"';
}

void dump_python(const json& j, const std::vector<std::string>& key_order, std::string& out);

void dump_python_object(const json& j, const std::vector<std::string>& key_order, std::string& out) {
  static const std::vector<std::string> kClauseOrder = {"class", "count", "color", "position"};
  std::vector<std::string> keys;
  for (const auto& k : key_order)
    if (j.contains(k)) keys.push_back(k);
  for (auto it = j.begin(); it != j.end(); ++it)  // nlohmann objects iterate sorted
    if (std::find(key_order.begin(), key_order.end(), it.key()) == key_order.end()) keys.push_back(it.key());
  out += '{';
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i) out += ", ";
    dump_python_string(keys[i], out);
    out += ": ";
    const bool clauses = keys[i] == "include" || keys[i] == "exclude";
    dump_python(j.at(keys[i]), clauses ? kClauseOrder : std::vector<std::string>{}, out);
  }
  out += '}';
}

void dump_python(const json& j, const std::vector<std::string>& key_order, std::string& out) {
  if (j.is_object()) {
    dump_python_object(j, key_order, out);
  } else if (j.is_array()) {
    out += '[';
    for (size_t i = 0; i < j.size(); ++i) {
      if (i) out += ", ";
      dump_python(j[i], key_order, out);
    }
    out += ']';
  } else if (j.is_string()) {
    dump_python_string(j.get_ref<const std::string&>(), out);
  } else {
    out += j.dump(
        -1, ' ', false,
        nlohmann::json::error_handler_t::replace);  // numbers, booleans, null print as Python prints them
  }
}

std::string tag_of(const json& record) {
  if (record.is_object())
    if (const auto it = record.find("tag"); it != record.end() && it->is_string())
      return it->get<std::string>();
  return "";
}

}  // namespace

const std::vector<std::string>& geneval_tags() {
  static const std::vector<std::string> tags = {"single_object", "two_object", "counting",
                                                "colors",        "position",   "color_attr"};
  return tags;
}

bool is_geneval_tag(const std::string& tag) {
  const auto& tags = geneval_tags();
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

const std::vector<std::string>& geneval_relations() {
  static const std::vector<std::string> relations = {"left of", "right of", "above", "below"};
  return relations;
}

void validate_geneval_record(const json& record) {
  if (!record.is_object()) throw std::invalid_argument("expected a JSON object, found " + type_name(record));
  const json& tag = require(record, "tag", "");
  if (!tag.is_string())
    throw std::invalid_argument("'tag' must be a string, found " +
                                tag.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (!is_geneval_tag(tag.get<std::string>()))
    throw std::invalid_argument("unknown tag '" + tag.get<std::string>() +
                                "' (valid: " + join(geneval_tags()) + ")");
  const json& include = require(record, "include", "");
  if (!include.is_array())
    throw std::invalid_argument("'include' must be an array, found " + type_name(include));
  if (include.empty()) throw std::invalid_argument("'include' must have at least one clause");
  for (size_t i = 0; i < include.size(); ++i) check_include_clause(include[i], i);
  if (const auto it = record.find("exclude"); it != record.end()) {
    if (!it->is_array()) throw std::invalid_argument("'exclude' must be an array, found " + type_name(*it));
    for (size_t i = 0; i < it->size(); ++i) {
      const json& clause = (*it)[i];
      const std::string where = "exclude[" + std::to_string(i) + "].";
      if (!clause.is_object())
        throw std::invalid_argument("'exclude[" + std::to_string(i) + "]' must be an object, found " +
                                    type_name(clause));
      check_class(clause, where);
      positive_integer(require(clause, "count", where), where + "count");
    }
  }
  const json& prompt = require(record, "prompt", "");
  if (!prompt.is_string())
    throw std::invalid_argument("'prompt' must be a string, found " + type_name(prompt));
  if (strip(prompt.get<std::string>()).empty()) throw std::invalid_argument("blank prompt");
}

std::string format_geneval_record(const json& record) {
  std::string out;
  dump_python(record, {"tag", "include", "exclude", "prompt"}, out);
  return out;
}

std::string to_string(PromptFormat format) {
  switch (format) {
    case PromptFormat::kGeneval: return "geneval";
    case PromptFormat::kText: return "text";
  }
  return "?";
}

PromptFormat parse_prompt_format(const std::string& name) {
  if (name == "geneval") return PromptFormat::kGeneval;
  if (name == "text") return PromptFormat::kText;
  throw std::invalid_argument("unknown prompt format '" + name + "' (valid: geneval, text)");
}

fs::path prompt_file(const fs::path& dir, PromptFormat format, const std::string& split) {
  return dir / (format == PromptFormat::kGeneval ? split + "_metadata.jsonl" : split + ".txt");
}

PromptDataset::PromptDataset(std::vector<std::string> prompts, std::vector<json> metadata, fs::path source)
    : prompts_(std::move(prompts)), metadata_(std::move(metadata)), source_(std::move(source)) {
  if (prompts_.size() != metadata_.size())
    throw std::invalid_argument("PromptDataset: " + std::to_string(prompts_.size()) + " prompts but " +
                                std::to_string(metadata_.size()) + " metadata records");
  tags_.reserve(metadata_.size());
  for (const auto& m : metadata_) tags_.push_back(tag_of(m));
}

PromptDataset PromptDataset::load_geneval(const fs::path& path, const MetadataValidator& validator) {
  const auto lines = read_lines(path);
  std::vector<std::string> prompts;
  std::vector<json> metadata;
  prompts.reserve(lines.size());
  metadata.reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string where = location(path, i + 1);
    if (strip(lines[i]).empty()) throw std::invalid_argument(where + ": blank line (expected a JSON object)");
    json record;
    try {
      record = json::parse(lines[i]);
    } catch (const json::parse_error& e) {
      throw std::invalid_argument(where + ": invalid JSON: " + parse_error_text(e));
    } catch (const json::exception& e) {  // e.g. out_of_range 406: a number like 1e999
      throw std::invalid_argument(where + ": unreadable JSON: " + e.what());
    }
    try {
      validate_geneval_record(record);
      if (validator) validator(record);
    } catch (const std::exception& e) {
      throw std::invalid_argument(where + ": " + e.what());
    }
    prompts.push_back(record["prompt"].get<std::string>());
    metadata.push_back(std::move(record));
  }
  return PromptDataset(std::move(prompts), std::move(metadata), path);
}

PromptDataset PromptDataset::load_text(const fs::path& path) {
  const auto lines = read_lines(path);
  std::vector<std::string> prompts;
  prompts.reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    auto prompt = strip(lines[i]);
    if (prompt.empty()) throw std::invalid_argument(location(path, i + 1) + ": blank prompt (empty line)");
    prompts.push_back(std::move(prompt));
  }
  std::vector<json> metadata(prompts.size(), json::object());
  return PromptDataset(std::move(prompts), std::move(metadata), path);
}

PromptDataset PromptDataset::load(const fs::path& path, PromptFormat format,
                                  const MetadataValidator& validator) {
  return format == PromptFormat::kGeneval ? load_geneval(path, validator) : load_text(path);
}

PromptDataset PromptDataset::load(const fs::path& path, const MetadataValidator& validator) {
  const auto ext = path.extension().string();
  if (ext == ".jsonl") return load_geneval(path, validator);
  if (ext == ".txt") return load_text(path);
  throw std::invalid_argument(path.string() + ": cannot tell the prompt format from the extension '" + ext +
                              "' (expected .jsonl for GenEval metadata or .txt for one prompt per line)");
}

std::vector<std::string> PromptDataset::distinct_tags() const {
  std::vector<std::string> out;
  for (const auto& t : geneval_tags())
    if (std::find(tags_.begin(), tags_.end(), t) != tags_.end()) out.push_back(t);
  std::vector<std::string> others;
  for (const auto& t : tags_)
    if (!t.empty() && !is_geneval_tag(t) && std::find(others.begin(), others.end(), t) == others.end())
      others.push_back(t);
  std::sort(others.begin(), others.end());
  out.insert(out.end(), others.begin(), others.end());
  return out;
}

PromptDataset PromptDataset::subset(const std::vector<size_t>& indices) const {
  std::vector<std::string> prompts;
  std::vector<json> metadata;
  prompts.reserve(indices.size());
  metadata.reserve(indices.size());
  for (size_t i : indices) {
    prompts.push_back(prompts_.at(i));
    metadata.push_back(metadata_.at(i));
  }
  return PromptDataset(std::move(prompts), std::move(metadata), source_);
}

PromptDataset PromptDataset::with_tag(const std::string& tag) const {
  std::vector<size_t> indices;
  for (size_t i = 0; i < tags_.size(); ++i)
    if (tags_[i] == tag) indices.push_back(i);
  return subset(indices);
}

void PromptDataset::save_geneval(const fs::path& path) const {
  std::string text;
  for (size_t i = 0; i < metadata_.size(); ++i) {
    try {
      validate_geneval_record(metadata_[i]);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("saving " + path.string() + ": record " + std::to_string(i) + ": " +
                                  e.what());
    }
    text += format_geneval_record(metadata_[i]);
    text += '\n';
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error(path.string() + ": cannot open for writing");
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.flush();
  if (!out) throw std::runtime_error(path.string() + ": write failed");
}

}  // namespace flowgrpo::data
