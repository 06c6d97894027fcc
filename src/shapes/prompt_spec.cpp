#include "flowgrpo/shapes/prompt_spec.h"

#include <sstream>
#include <stdexcept>

using nlohmann::json;

namespace flowgrpo::shapes {

namespace {

// GenEval's with_article: "an" before a vowel.
std::string with_article(const std::string& word) {
  return (word.find_first_of("aeiou") == 0 ? "an " : "a ") + word;
}

std::string describe(const IncludeClause& c) {
  std::string s = "{" + to_string(c.shape) + ", " + std::to_string(c.count);
  if (c.color) s += ", " + to_string(*c.color);
  if (c.position)
    s += ", position [" + to_string(c.position->relation) + ", " + std::to_string(c.position->target) + "]";
  return s + "}";
}

std::string describe(const PromptSpec& spec) {
  std::string s = to_string(spec.tag) + " include [";
  for (size_t i = 0; i < spec.include.size(); ++i) s += (i ? ", " : "") + describe(spec.include[i]);
  s += "]";
  if (!spec.exclude.empty()) {
    s += " exclude [";
    for (size_t i = 0; i < spec.exclude.size(); ++i)
      s += (i ? ", {" : "{") + to_string(spec.exclude[i].shape) + ", " +
           std::to_string(spec.exclude[i].count) + "}";
    s += "]";
  }
  return s;
}

[[noreturn]] void template_error(const PromptSpec& spec, const std::string& expected) {
  throw std::invalid_argument("metadata does not match the " + to_string(spec.tag) + " template (expected " +
                              expected + "), found " + describe(spec));
}

bool plain(const IncludeClause& c, int count = 1) {
  return c.count == count && !c.color && !c.position;
}

// Reads an integer >= 1 from a JSON value.
int positive_int(const json& j, const std::string& key) {
  if (!j.is_number_integer() || j.get<int64_t>() < 1 || j.get<int64_t>() > 1000000)
    throw std::invalid_argument(key + ": must be an integer in 1..1000000, found " + j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return static_cast<int>(j.get<int64_t>());
}

const json& field(const json& obj, const std::string& key, const std::string& where) {
  const auto it = obj.find(key);
  if (it == obj.end()) throw std::invalid_argument("missing key '" + where + key + "'");
  return *it;
}

std::string word(const json& j, const std::string& key) {
  if (!j.is_string()) throw std::invalid_argument(key + ": must be a string, found " + j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return j.get<std::string>();
}

template <class F>
auto parse_word(F&& parse, const json& j, const std::string& key) {
  const auto w = word(j, key);
  try {
    return parse(w);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(key + ": " + e.what());
  }
}

// --- prompt parsing -------------------------------------------------------------------

struct Tokens {
  std::vector<std::string> words;
  size_t pos = 0;
  bool done() const { return pos >= words.size(); }
  const std::string& peek() const { return words[pos]; }
};

struct ObjectPhrase {
  std::optional<Color> color;
  Shape shape;
};

[[noreturn]] void prompt_error(const std::string& text, const std::string& what) {
  throw std::invalid_argument("cannot parse prompt '" + text + "': " + what);
}

bool is_color(const std::string& w) {
  for (Color c : all_colors())
    if (to_string(c) == w) return true;
  return false;
}

// "a [color] shape"
ObjectPhrase parse_object(Tokens& t, const std::string& text) {
  if (t.done()) prompt_error(text, "unexpected end, expected 'a' followed by an object");
  const std::string article = t.peek();
  if (article != "a" && article != "an")
    prompt_error(text, "expected 'a' before an object, found '" + article + "'");
  ++t.pos;
  if (t.done()) prompt_error(text, "unexpected end after '" + article + "', expected a colour or a shape");
  ObjectPhrase obj{};
  const std::string first = t.peek();
  if (with_article(first).rfind(article + " ", 0) != 0)
    prompt_error(text, "wrong article '" + article + "' before '" + first + "'");
  if (is_color(first)) {
    obj.color = parse_color(first);
    ++t.pos;
    if (t.done()) prompt_error(text, "unexpected end after '" + first + "', expected a shape");
  }
  try {
    obj.shape = parse_shape(t.peek());
  } catch (const std::invalid_argument& e) {
    if (!obj.color && !is_color(t.peek())) {
      std::string colors;
      for (Color c : all_colors()) colors += (colors.empty() ? "'" : ", '") + to_string(c) + "'";
      prompt_error(text, std::string(e.what()) + "; or a colour (" + colors + ")");
    }
    prompt_error(text, e.what());
  }
  ++t.pos;
  return obj;
}

}  // namespace

std::string to_string(Tag tag) {
  switch (tag) {
    case Tag::kSingleObject: return "single_object";
    case Tag::kTwoObject: return "two_object";
    case Tag::kCounting: return "counting";
    case Tag::kColors: return "colors";
    case Tag::kPosition: return "position";
    case Tag::kColorAttr: return "color_attr";
  }
  throw std::invalid_argument("invalid Tag value " + std::to_string(static_cast<int>(tag)));
}

Tag parse_tag(const std::string& name) {
  for (Tag t : all_tags())
    if (to_string(t) == name) return t;
  std::string valid;
  for (Tag t : all_tags()) valid += (valid.empty() ? "'" : ", '") + to_string(t) + "'";
  throw std::invalid_argument("unknown tag '" + name + "' (valid: " + valid + ")");
}

const std::array<Tag, kNumTags>& all_tags() {
  static const std::array<Tag, kNumTags> v = {Tag::kSingleObject, Tag::kTwoObject, Tag::kCounting,
                                              Tag::kColors,       Tag::kPosition,  Tag::kColorAttr};
  return v;
}

PromptSpec PromptSpec::single_object(Shape shape) {
  return {Tag::kSingleObject, {{shape, 1, {}, {}}}, {}};
}

PromptSpec PromptSpec::two_object(Shape first, Shape second) {
  if (first == second)
    throw std::invalid_argument("two_object needs two different shapes, got '" + to_string(first) +
                                "' twice");
  return {Tag::kTwoObject, {{first, 1, {}, {}}, {second, 1, {}, {}}}, {}};
}

PromptSpec PromptSpec::counting(Shape shape, int count) {
  number_word(count);  // range check
  return {Tag::kCounting, {{shape, count, {}, {}}}, {{shape, count + 1}}};
}

PromptSpec PromptSpec::colors(Color color, Shape shape) {
  return {Tag::kColors, {{shape, 1, color, {}}}, {}};
}

PromptSpec PromptSpec::position(Shape subject, Relation relation, Shape reference) {
  if (subject == reference)
    throw std::invalid_argument("position needs two different shapes, got '" + to_string(subject) +
                                "' twice");
  return {Tag::kPosition, {{reference, 1, {}, {}}, {subject, 1, {}, PositionRequirement{relation, 0}}}, {}};
}

PromptSpec PromptSpec::color_attr(Color c1, Shape s1, Color c2, Shape s2) {
  if (s1 == s2)
    throw std::invalid_argument("color_attr needs two different shapes, got '" + to_string(s1) + "' twice");
  if (c1 == c2)
    throw std::invalid_argument("color_attr needs two different colours, got '" + to_string(c1) + "' twice");
  return {Tag::kColorAttr, {{s1, 1, c1, {}}, {s2, 1, c2, {}}}, {}};
}

void PromptSpec::check_template() const {
  const auto& in = include;
  switch (tag) {
    case Tag::kSingleObject:
      if (in.size() != 1 || !plain(in[0]) || !exclude.empty()) template_error(*this, "include [{shape, 1}]");
      return;
    case Tag::kTwoObject:
      if (in.size() != 2 || !plain(in[0]) || !plain(in[1]) || in[0].shape == in[1].shape || !exclude.empty())
        template_error(*this, "include [{shape A, 1}, {shape B, 1}] with A != B");
      return;
    case Tag::kCounting:
      if (in.size() != 1 || in[0].color || in[0].position || in[0].count < kMinCount ||
          in[0].count > kMaxCount || exclude.size() != 1 || exclude[0].shape != in[0].shape ||
          exclude[0].count != in[0].count + 1)
        template_error(*this, "include [{shape, n}] with n in 1..4 and exclude [{shape, n+1}]");
      return;
    case Tag::kColors:
      if (in.size() != 1 || in[0].count != 1 || !in[0].color || in[0].position || !exclude.empty())
        template_error(*this, "include [{shape, 1, color}]");
      return;
    case Tag::kPosition:
      if (in.size() != 2 || !plain(in[0]) || in[1].count != 1 || in[1].color || !in[1].position ||
          in[1].position->target != 0 || in[0].shape == in[1].shape || !exclude.empty())
        template_error(*this, "include [{shape B, 1}, {shape A, 1, position [relation, 0]}] with A != B");
      return;
    case Tag::kColorAttr:
      if (in.size() != 2 || in[0].count != 1 || in[1].count != 1 || !in[0].color || !in[1].color ||
          in[0].position || in[1].position || in[0].shape == in[1].shape || *in[0].color == *in[1].color ||
          !exclude.empty())
        template_error(*this,
                       "include [{shape A, 1, color X}, {shape B, 1, color Y}] with A != B and X != Y");
      return;
  }
  throw std::invalid_argument("invalid Tag value " + std::to_string(static_cast<int>(tag)));
}

bool PromptSpec::matches_template() const {
  try {
    check_template();
    return true;
  } catch (const std::invalid_argument&) {
    return false;
  }
}

std::string PromptSpec::prompt() const {
  check_template();
  const std::string head = "a photo of ";
  const auto& in = include;
  auto object = [](const IncludeClause& c) {
    return with_article(c.color ? to_string(*c.color) + " " + to_string(c.shape) : to_string(c.shape));
  };
  switch (tag) {
    case Tag::kSingleObject:
    case Tag::kColors: return head + object(in[0]);
    case Tag::kTwoObject:
    case Tag::kColorAttr: return head + object(in[0]) + " and " + object(in[1]);
    case Tag::kCounting:
      // GenEval always pluralises (it draws counts 2..4); "one" takes the singular here.
      return head + number_word(in[0].count) + " " +
             (in[0].count == 1 ? to_string(in[0].shape) : plural(in[0].shape));
    case Tag::kPosition:
      return head + object(in[1]) + " " + to_string(in[1].position->relation) + " " + object(in[0]);
  }
  throw std::invalid_argument("invalid Tag value");
}

json PromptSpec::to_metadata() const {
  json include_json = json::array();
  for (const auto& c : include) {
    json clause = {{"class", to_string(c.shape)}, {"count", c.count}};
    if (c.color) clause["color"] = to_string(*c.color);
    if (c.position) clause["position"] = json::array({to_string(c.position->relation), c.position->target});
    include_json.push_back(std::move(clause));
  }
  json out = {{"tag", to_string(tag)}, {"include", std::move(include_json)}};
  if (!exclude.empty()) {
    json exclude_json = json::array();
    for (const auto& c : exclude) exclude_json.push_back({{"class", to_string(c.shape)}, {"count", c.count}});
    out["exclude"] = std::move(exclude_json);
  }
  out["prompt"] = prompt();
  return out;
}

PromptSpec PromptSpec::from_metadata(const json& metadata, bool require_template) {
  if (!metadata.is_object())
    throw std::invalid_argument("metadata must be a JSON object, found " + metadata.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  PromptSpec spec;
  spec.tag = parse_word(parse_tag, field(metadata, "tag", ""), "tag");
  const json& include = field(metadata, "include", "");
  if (!include.is_array() || include.empty())
    throw std::invalid_argument("include: must be a non-empty array, found " + include.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  for (size_t i = 0; i < include.size(); ++i) {
    const std::string key = "include[" + std::to_string(i) + "]";
    const json& c = include[i];
    if (!c.is_object()) throw std::invalid_argument(key + ": must be an object, found " + c.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    IncludeClause clause;
    clause.shape = parse_word(parse_shape, field(c, "class", key + "."), key + ".class");
    clause.count = positive_int(field(c, "count", key + "."), key + ".count");
    if (const auto it = c.find("color"); it != c.end())
      clause.color = parse_word(parse_color, *it, key + ".color");
    if (const auto it = c.find("position"); it != c.end()) {
      if (!it->is_array() || it->size() != 2 || !(*it)[1].is_number_integer())
        throw std::invalid_argument(key + ".position: must be [relation, index], found " + it->dump());
      PositionRequirement pos;
      pos.relation = parse_word(parse_relation, (*it)[0], key + ".position");
      const auto target = (*it)[1].get<int64_t>();
      if (target < 0 || target >= static_cast<int64_t>(i))
        throw std::invalid_argument(key + ".position: index " + std::to_string(target) +
                                    " does not name an earlier include clause");
      pos.target = static_cast<int>(target);
      clause.position = pos;
    }
    spec.include.push_back(clause);
  }
  if (const auto it = metadata.find("exclude"); it != metadata.end()) {
    if (!it->is_array()) throw std::invalid_argument("exclude: must be an array, found " + it->dump());
    for (size_t i = 0; i < it->size(); ++i) {
      const std::string key = "exclude[" + std::to_string(i) + "]";
      const json& c = (*it)[i];
      if (!c.is_object()) throw std::invalid_argument(key + ": must be an object, found " + c.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      ExcludeClause clause;
      clause.shape = parse_word(parse_shape, field(c, "class", key + "."), key + ".class");
      clause.count = positive_int(field(c, "count", key + "."), key + ".count");
      spec.exclude.push_back(clause);
    }
  }
  if (require_template) spec.check_template();
  return spec;
}

PromptSpec PromptSpec::parse_prompt(const std::string& text) {
  Tokens t;
  {
    std::istringstream in(text);
    for (std::string w; in >> w;) t.words.push_back(w);
  }
  for (const char* w : {"a", "photo", "of"}) {
    if (t.done()) prompt_error(text, "expected it to start with 'a photo of'");
    if (t.peek() != w) prompt_error(text, "expected it to start with 'a photo of', found '" + t.peek() + "'");
    ++t.pos;
  }
  if (t.done()) prompt_error(text, "nothing after 'a photo of'");
  // counting: "<number> <shape(s)>"
  if (t.peek() != "a" && t.peek() != "an") {
    int count = 0;
    try {
      count = parse_number_word(t.peek());
    } catch (const std::invalid_argument& e) {
      prompt_error(text, "expected 'a' or a number word after 'a photo of': " + std::string(e.what()));
    }
    ++t.pos;
    if (t.done()) prompt_error(text, "unexpected end after '" + number_word(count) + "', expected a shape");
    Shape shape{};
    try {
      shape = parse_shape_noun(t.peek());
    } catch (const std::invalid_argument& e) {
      prompt_error(text, e.what());
    }
    const std::string expected = count == 1 ? to_string(shape) : plural(shape);
    if (t.peek() != expected)
      prompt_error(
          text, "expected '" + expected + "' after '" + number_word(count) + "', found '" + t.peek() + "'");
    ++t.pos;
    if (!t.done()) prompt_error(text, "unexpected '" + t.peek() + "' after the counted shape");
    return counting(shape, count);
  }
  const ObjectPhrase first = parse_object(t, text);
  if (t.done()) return first.color ? colors(*first.color, first.shape) : single_object(first.shape);
  const std::string next = t.peek();
  if (next == "and") {
    ++t.pos;
    const ObjectPhrase second = parse_object(t, text);
    if (!t.done()) prompt_error(text, "unexpected '" + t.peek() + "' after the second object");
    if (first.color.has_value() != second.color.has_value())
      prompt_error(text, "either both objects have a colour (color_attr) or neither (two_object)");
    try {
      return first.color ? color_attr(*first.color, first.shape, *second.color, second.shape)
                         : two_object(first.shape, second.shape);
    } catch (const std::invalid_argument& e) {
      prompt_error(text, e.what());
    }
  }
  std::string relation_words = next;
  ++t.pos;
  if ((next == "left" || next == "right") && !t.done()) {
    relation_words += " " + t.peek();
    ++t.pos;
  }
  Relation relation{};
  try {
    relation = parse_relation(relation_words);
  } catch (const std::invalid_argument& e) {
    prompt_error(text, "expected 'and' or a relation after the first object: " + std::string(e.what()));
  }
  const ObjectPhrase second = parse_object(t, text);
  if (!t.done()) prompt_error(text, "unexpected '" + t.peek() + "' after the second object");
  if (first.color || second.color) prompt_error(text, "position prompts do not take colours");
  try {
    return position(first.shape, relation, second.shape);
  } catch (const std::invalid_argument& e) {
    prompt_error(text, e.what());
  }
}

void validate_shapes_record(const json& record) {
  const PromptSpec spec = PromptSpec::from_metadata(record, /*require_template=*/true);
  const auto it = record.find("prompt");
  if (it == record.end() || !it->is_string()) throw std::invalid_argument("missing string key 'prompt'");
  const std::string expected = spec.prompt();
  if (it->get<std::string>() != expected)
    throw std::invalid_argument("prompt '" + it->get<std::string>() +
                                "' is not the template text of its metadata ('" + expected + "')");
}

data::PromptDataset load_shapes_prompts(const std::filesystem::path& path) {
  return data::PromptDataset::load_geneval(path, validate_shapes_record);
}

}  // namespace flowgrpo::shapes
