// docs/configs.md must document every key of the configuration (and nothing
// else), so the documentation cannot drift from the code.

#include "flowgrpo/config/config_loader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fc = flowgrpo::config;

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Dotted paths of the leaf keys of the dumped default config, e.g. "model.lora.rank". The dump
// is block YAML with two-space indentation; list items and comments are skipped.
std::vector<std::string> dumped_keys() {
  std::istringstream in(fc::dump_config(fc::Config{}));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  auto content = [&](std::size_t i) { return lines[i].find_first_not_of(' '); };
  std::vector<std::string> stack, keys;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto first = content(i);
    if (first == std::string::npos || lines[i][first] == '#' || lines[i][first] == '-') continue;
    const auto colon = lines[i].find(':', first);
    if (colon == std::string::npos) continue;
    stack.resize(first / 2);
    stack.push_back(lines[i].substr(first, colon - first));
    // "key:" followed by "- item" lines is a list; followed by deeper keys, a section.
    if (colon + 1 == lines[i].size() && i + 1 < lines.size() && content(i + 1) != std::string::npos &&
        lines[i + 1][content(i + 1)] != '-')
      continue;
    std::string path;
    for (const auto& part : stack) path += (path.empty() ? "" : ".") + part;
    keys.push_back(path);
  }
  return keys;
}

// Keys in the first column of the docs' key tables (those whose header starts
// "| Key |"): "| `sample.num_steps` | int | ...".
std::set<std::string> documented_keys(const std::string& docs) {
  std::set<std::string> keys;
  std::istringstream in(docs);
  bool in_key_table = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("|", 0) != 0) {
      in_key_table = false;
      continue;
    }
    if (line.rfind("| Key |", 0) == 0) in_key_table = true;
    if (!in_key_table || line.rfind("| `", 0) != 0) continue;
    const auto end = line.find('`', 3);
    if (end != std::string::npos) keys.insert(line.substr(3, end - 3));
  }
  return keys;
}

}  // namespace

TEST(ConfigDocs, EveryKeyIsDocumentedAndEveryDocumentedKeyExists) {
  const std::string docs = read_file(std::filesystem::path(FLOWGRPO_SOURCE_DIR) / "docs/configs.md");
  const auto keys = dumped_keys();
  ASSERT_GT(keys.size(), 60u);  // the parser found the keys
  const auto documented = documented_keys(docs);
  ASSERT_GT(documented.size(), 60u);  // the tables were found
  for (const auto& key : keys)
    EXPECT_TRUE(documented.count(key)) << "docs/configs.md has no table row for `" << key << "`";
  std::set<std::string> known(keys.begin(), keys.end());
  known.insert("include");  // a loader directive, not a stored key
  for (const auto& key : documented)
    EXPECT_TRUE(known.count(key)) << "docs/configs.md documents `" << key << "`, which is not a config key";
}
