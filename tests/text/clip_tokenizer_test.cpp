// The CLIP BPE tokenizer against transformers v4.40's CLIPTokenizer on 65 prompts
// (tests/data/text/clip_tokenizer, copied from shared/fixtures/text/clip_tokenizer):
// tokens and ids untruncated, both SD3 pad variants with their masks, truncation,
// which prompts ftfy would change, tokenizer folders, and the error paths.

#include "flowgrpo/text/clip_tokenizer.h"

#include "flowgrpo/io/safetensors.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <set>
#include <stdexcept>
#include <thread>

namespace flowgrpo::text {
namespace {

namespace fs = std::filesystem;
using flowgrpo::testing::data_path;
using flowgrpo::testing::TempDir;
using flowgrpo::testing::write_text_file;
using json = nlohmann::json;

constexpr int64_t kBos = 49406;
constexpr int64_t kEos = 49407;
constexpr int64_t kPrompts = 65;
// The prompts whose normalisation ftfy changes (curly quotes, CJK word splitting,
// ligatures, full-width forms, zero-width characters, HTML entities); see
// prompts.json "agree.hf_vs_hf_noftfy".
const std::set<int64_t> kFtfyPrompts = {14, 15, 30, 31, 34, 35, 39, 45, 46, 47, 48};

fs::path fixture(const std::string& name) {
  return data_path("text/clip_tokenizer/" + name);
}

const json& prompts_json() {
  static const json prompts = [] {
    std::ifstream in(fixture("prompts.json"));
    return json::parse(in);
  }();
  return prompts;
}

std::vector<std::string> prompts() {
  std::vector<std::string> out;
  for (const json& p : prompts_json()["prompts"]) out.push_back(p["prompt"].get<std::string>());
  return out;
}

const io::SafetensorsFile& ids_file() {
  static const io::SafetensorsFile file = io::SafetensorsFile::open(fixture("ids.safetensors"));
  return file;
}

const ClipTokenizer& tokenizer() {  // SD3's `tokenizer` (pad <|endoftext|>)
  static const ClipTokenizer tok = ClipTokenizer::from_files(fixture("vocab.json"), fixture("merges.txt"));
  return tok;
}

const ClipTokenizer& tokenizer_2() {  // SD3's `tokenizer_2` (pad "!")
  static const ClipTokenizer tok = [] {
    ClipTokenizerOptions options;
    options.pad_token = "!";
    return ClipTokenizer::from_files(fixture("vocab.json"), fixture("merges.txt"), options);
  }();
  return tok;
}

std::vector<int64_t> row(const torch::Tensor& t, int64_t i) {
  const torch::Tensor r = t[i].contiguous();
  return std::vector<int64_t>(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel());
}

template <class F>
std::string error_of(F&& f) {
  auto message = flowgrpo::testing::invalid_argument_message(std::forward<F>(f));
  if (message.empty()) ADD_FAILURE() << "expected std::invalid_argument";
  return message;
}

TEST(ClipTokenizer, LoadsTheRealVocabulary) {
  const ClipTokenizer& tok = tokenizer();
  EXPECT_EQ(tok.vocab_size(), 49408);
  EXPECT_EQ(tok.bos_id(), kBos);
  EXPECT_EQ(tok.eos_id(), kEos);
  EXPECT_EQ(tok.unk_id(), kEos);
  EXPECT_EQ(tok.pad_id(), kEos);
  EXPECT_EQ(tok.model_max_length(), 77);
  EXPECT_EQ(tok.token_to_id("!"), 0);
  EXPECT_EQ(tok.token_to_id("!</w>"), 256);
  EXPECT_EQ(tok.token_to_id("no such token"), -1);
  EXPECT_EQ(tok.id_to_token(320), "a</w>");
  EXPECT_EQ(tok.id_to_token(kBos), "<|startoftext|>");
  EXPECT_THROW(tok.id_to_token(49408), std::out_of_range);
  EXPECT_EQ(tokenizer_2().pad_id(), 0);
}

TEST(ClipTokenizer, TokensAndIdsMatchTransformersWithoutFtfyOnEveryPrompt) {
  const json& all = prompts_json()["prompts"];
  ASSERT_EQ(static_cast<int64_t>(all.size()), kPrompts);
  for (const json& p : all) {
    const std::string prompt = p["prompt"].get<std::string>();
    SCOPED_TRACE("prompt " + std::to_string(p["index"].get<int>()) + ": " + prompt);
    const json& ref = p["clip"]["hf_noftfy"];
    // The reference lists are untruncated and carry bos/eos; ours hold the content only.
    auto ids = ref["ids"].get<std::vector<int64_t>>();
    auto tokens = ref["tokens"].get<std::vector<std::string>>();
    ASSERT_GE(ids.size(), 2u);
    EXPECT_EQ(tokenizer().encode(prompt), std::vector<int64_t>(ids.begin() + 1, ids.end() - 1));
    EXPECT_EQ(tokenizer().tokenize(prompt), std::vector<std::string>(tokens.begin() + 1, tokens.end() - 1));
  }
}

TEST(ClipTokenizer, UntruncatedCountsMatchWhereFtfyDoesNotMatter) {
  const torch::Tensor counts = ids_file().load("hf.num_tokens_untruncated");
  const std::vector<std::string> texts = prompts();
  int64_t checked = 0;
  for (int64_t i = 0; i < kPrompts; ++i) {
    if (kFtfyPrompts.count(i)) continue;  // counted by transformers *with* ftfy
    EXPECT_EQ(static_cast<int64_t>(tokenizer().encode(texts[i]).size()) + 2, counts[i].item<int64_t>())
        << "prompt " << i << ": " << texts[i];
    ++checked;
  }
  EXPECT_EQ(checked, 54);
}

/// Checks encode_batch of every prompt against the no-ftfy ids, and the mask against
/// transformers' own (recorded with ftfy) where ftfy does not change the prompt,
/// else against the length implied by the no-ftfy ids.
void check_batch(const ClipTokenizer& tok, const std::string& ids_name, const std::string& mask_name) {
  const ClipBatchEncoding enc = tok.encode_batch(prompts());
  const torch::Tensor expected_ids = ids_file().load(ids_name);
  const torch::Tensor hf_mask = ids_file().load(mask_name);
  ASSERT_EQ(enc.input_ids.sizes(), expected_ids.sizes());
  ASSERT_EQ(enc.attention_mask.sizes(), expected_ids.sizes());
  EXPECT_EQ(enc.input_ids.scalar_type(), torch::kInt64);
  EXPECT_EQ(enc.attention_mask.scalar_type(), torch::kInt64);
  for (int64_t i = 0; i < kPrompts; ++i) {
    SCOPED_TRACE("prompt " + std::to_string(i));
    EXPECT_EQ(row(enc.input_ids, i), row(expected_ids, i));
    if (!kFtfyPrompts.count(i)) {
      EXPECT_EQ(row(enc.attention_mask, i), row(hf_mask, i));
    } else {
      // Without ftfy no such prompt contains a literal eos, so the first eos ends the mask.
      const std::vector<int64_t> ids = row(expected_ids, i);
      const auto eos_at = std::find(ids.begin() + 1, ids.end(), kEos) - ids.begin();
      std::vector<int64_t> mask(77, 0);
      std::fill(mask.begin(), mask.begin() + eos_at + 1, 1);
      EXPECT_EQ(row(enc.attention_mask, i), mask);
    }
  }
}

TEST(ClipTokenizer, BatchWithEosPaddingMatchesSd3Tokenizer) {
  check_batch(tokenizer(), "hf_noftfy.input_ids_pad49407", "hf.attention_mask");
}

TEST(ClipTokenizer, BatchWithBangPaddingMatchesSd3Tokenizer2) {
  check_batch(tokenizer_2(), "hf_noftfy.input_ids_pad0", "hf.attention_mask_pad0");
}

TEST(ClipTokenizer, ExactlyTheFtfyPromptsDifferFromTransformersWithFtfy) {
  const std::vector<std::string> texts = prompts();
  for (const auto& [tok, hf_name, noftfy_name] :
       {std::tuple{&tokenizer(), "hf.input_ids_pad49407", "hf_noftfy.input_ids_pad49407"},
        std::tuple{&tokenizer_2(), "hf.input_ids_pad0", "hf_noftfy.input_ids_pad0"}}) {
    SCOPED_TRACE(hf_name);
    const torch::Tensor ours = tok->encode_batch(texts).input_ids;
    const torch::Tensor with_ftfy = ids_file().load(hf_name);
    const torch::Tensor without_ftfy = ids_file().load(noftfy_name);
    std::set<int64_t> differ_fixture, differ_ours;
    for (int64_t i = 0; i < kPrompts; ++i) {
      if (!torch::equal(with_ftfy[i], without_ftfy[i])) differ_fixture.insert(i);
      if (!torch::equal(with_ftfy[i], ours[i])) differ_ours.insert(i);
    }
    EXPECT_EQ(differ_fixture, kFtfyPrompts);
    EXPECT_EQ(differ_ours, kFtfyPrompts);
  }
  std::set<int64_t> recorded;
  for (const json& p : prompts_json()["prompts"]) {
    if (!p["agree"]["hf_vs_hf_noftfy"].get<bool>()) recorded.insert(p["index"].get<int64_t>());
  }
  EXPECT_EQ(recorded, kFtfyPrompts);
}

TEST(ClipTokenizer, TruncatesToMaxLengthMinusTwoAndKeepsEos) {
  const std::vector<std::string> texts = prompts();
  // Prompts 57 and 58 hold exactly 75 and 76 content tokens, 61 holds 138.
  EXPECT_EQ(tokenizer().encode(texts[57]).size(), 75u);
  EXPECT_EQ(tokenizer().encode(texts[58]).size(), 76u);
  const ClipBatchEncoding full = tokenizer_2().encode_batch({texts[57], texts[58], texts[61]});
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(full.input_ids[i][76].item<int64_t>(), kEos);
    EXPECT_EQ(full.attention_mask[i].sum().item<int64_t>(), 77);
  }
  const ClipBatchEncoding shortened = tokenizer().encode_batch({texts[61], "", "a"}, 5);
  ASSERT_EQ(shortened.input_ids.sizes(), (std::vector<int64_t>{3, 5}));
  const std::vector<int64_t> content = tokenizer().encode(texts[61]);
  EXPECT_EQ(row(shortened.input_ids, 0),
            (std::vector<int64_t>{kBos, content[0], content[1], content[2], kEos}));
  EXPECT_EQ(row(shortened.input_ids, 1), (std::vector<int64_t>{kBos, kEos, kEos, kEos, kEos}));
  EXPECT_EQ(row(shortened.attention_mask, 1), (std::vector<int64_t>{1, 1, 0, 0, 0}));
  EXPECT_EQ(row(shortened.input_ids, 2), (std::vector<int64_t>{kBos, 320, kEos, kEos, kEos}));
  EXPECT_EQ(tokenizer().encode_batch({}).input_ids.sizes(), (std::vector<int64_t>{0, 77}));
  EXPECT_THROW(tokenizer().encode_batch({"a"}, 1), std::invalid_argument);
}

TEST(ClipTokenizer, SpecialTokensInTextMapToTheirIds) {
  EXPECT_EQ(tokenizer().encode("<|startoftext|>a photo<|endoftext|>"),
            (std::vector<int64_t>{kBos, 320, 1125, kEos}));
  // Another spelling escapes the verbatim split but, lower-cased, matches the
  // regex's special alternative, which transformers' BPE cache maps to itself.
  EXPECT_EQ(tokenizer().encode("a <|ENDOFTEXT|>"), (std::vector<int64_t>{320, kEos}));
  // Only tokenizer_2 treats "!" (its pad token) as special: id 0 instead of "!</w>".
  EXPECT_EQ(tokenizer().encode("hi!"), (std::vector<int64_t>{1883, 256}));
  EXPECT_EQ(tokenizer_2().encode("hi!"), (std::vector<int64_t>{1883, 0}));
  EXPECT_EQ(tokenizer_2().tokenize("ok!!"), (std::vector<std::string>{"ok</w>", "!", "!"}));
}

TEST(ClipTokenizer, NormalisationDetailsOfTheNoFtfyPath) {
  const ClipTokenizer& tok = tokenizer();
  // NUL, U+FFFD and format characters vanish; line/paragraph separators split words.
  EXPECT_EQ(tok.encode(std::string("a\0b", 3)), tok.encode("ab"));
  EXPECT_EQ(tok.encode("a\xEF\xBF\xBD"
                       "b"),
            tok.encode("ab"));
  EXPECT_EQ(tok.encode("a\xE2\x80\xA8"
                       "b"),
            tok.encode("a b"));
  // NFC: a decomposed "é" equals the composed one; accents are kept.
  EXPECT_EQ(tok.encode("cafe\xCC\x81"), tok.encode("caf\xC3\xA9"));
  EXPECT_NE(tok.encode("caf\xC3\xA9"), tok.encode("cafe"));
  // Full lower-casing, including non-ASCII capitals.
  EXPECT_EQ(tok.encode("\xC3\x9C"
                       "BER"),
            tok.encode("\xC3\xBC"
                       "ber"));
  // No HTML unescaping without ftfy.
  EXPECT_EQ(tok.tokenize("&amp;"), (std::vector<std::string>{"&</w>", "amp</w>", ";</w>"}));
  // Every digit is its own piece.
  EXPECT_EQ(tok.tokenize("2024"), (std::vector<std::string>{"2</w>", "0</w>", "2</w>", "4</w>"}));
  EXPECT_TRUE(tok.encode("").empty());
  EXPECT_TRUE(tok.encode(" \t\n").empty());
}

TEST(ClipTokenizer, RejectsInvalidUtf8NamingTheOffset) {
  const std::string message = error_of([] { tokenizer().encode("ab\xC3"); });
  EXPECT_NE(message.find("invalid UTF-8 at byte 2"), std::string::npos) << message;
  const std::string batch_message = error_of([] { tokenizer().encode_batch({"ok", "\xFF"}); });
  EXPECT_NE(batch_message.find("prompt 1"), std::string::npos) << batch_message;
}

TEST(ClipTokenizer, IsSafeToShareBetweenThreads) {
  const ClipTokenizer tok = ClipTokenizer::from_files(fixture("vocab.json"), fixture("merges.txt"));
  const std::vector<std::string> texts = prompts();
  const torch::Tensor expected = tokenizer().encode_batch(texts).input_ids;
  std::vector<torch::Tensor> results(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] { results[t] = tok.encode_batch(texts).input_ids; });
  }
  for (std::thread& t : threads) t.join();
  for (const torch::Tensor& r : results) EXPECT_TRUE(torch::equal(r, expected));
}

/// A tokenizer folder with the real vocabulary and the given JSON configs.
void make_folder(const fs::path& dir, const json& tokenizer_config,
                 const json& special_tokens_map = nullptr) {
  fs::create_directories(dir);
  fs::copy_file(fixture("vocab.json"), dir / "vocab.json");
  fs::copy_file(fixture("merges.txt"), dir / "merges.txt");
  if (!tokenizer_config.is_null()) write_text_file(dir / "tokenizer_config.json", tokenizer_config.dump(2));
  if (!special_tokens_map.is_null())
    write_text_file(dir / "special_tokens_map.json", special_tokens_map.dump(2));
}

json added_token(const std::string& content) {
  return {{"content", content}, {"lstrip", false},      {"normalized", false},
          {"rstrip", false},    {"single_word", false}, {"special", true}};
}

TEST(ClipTokenizer, FromDirectoryReadsSd3TokenizerFolders) {
  TempDir tmp;
  // SD3.5's tokenizer_2 layout: "!" is the pad token and an added special token.
  const json config_2 = {{"model_max_length", 77},
                         {"pad_token", "!"},
                         {"bos_token", "<|startoftext|>"},
                         {"added_tokens_decoder",
                          {{"0", added_token("!")},
                           {"49406", added_token("<|startoftext|>")},
                           {"49407", added_token("<|endoftext|>")}}}};
  const json map_2 = {{"bos_token", added_token("<|startoftext|>")},
                      {"eos_token", added_token("<|endoftext|>")},
                      {"pad_token", "!"},
                      {"unk_token", added_token("<|endoftext|>")}};
  make_folder(tmp / "tokenizer_2", config_2, map_2);
  const ClipTokenizer tok2 = ClipTokenizer::from_directory(tmp / "tokenizer_2");
  EXPECT_EQ(tok2.pad_id(), 0);
  EXPECT_TRUE(
      torch::equal(tok2.encode_batch(prompts()).input_ids, ids_file().load("hf_noftfy.input_ids_pad0")));

  // special_tokens_map.json overrides tokenizer_config.json; vocab.json and merges.txt alone also work.
  make_folder(tmp / "tokenizer",
              {{"pad_token", "!"}, {"model_max_length", 1000000000000000019884624838656.0}},
              {{"pad_token", added_token("<|endoftext|>")}});
  const ClipTokenizer tok1 = ClipTokenizer::from_directory(tmp / "tokenizer");
  EXPECT_EQ(tok1.pad_id(), kEos);
  EXPECT_EQ(tok1.model_max_length(), 77);
  EXPECT_TRUE(
      torch::equal(tok1.encode_batch(prompts()).input_ids, ids_file().load("hf_noftfy.input_ids_pad49407")));
  make_folder(tmp / "bare", nullptr);
  EXPECT_EQ(ClipTokenizer::from_directory(tmp / "bare").encode("a photo"), (std::vector<int64_t>{320, 1125}));
}

TEST(ClipTokenizer, FromDirectoryRejectsUnsupportedOrInconsistentConfigs) {
  TempDir tmp;
  json lstrip = added_token("<|endoftext|>");
  lstrip["lstrip"] = true;
  make_folder(tmp / "lstrip", {{"eos_token", lstrip}});
  std::string message = error_of([&] { ClipTokenizer::from_directory(tmp / "lstrip"); });
  EXPECT_NE(message.find("tokenizer_config.json: \"eos_token\": \"lstrip\": true is not supported"),
            std::string::npos)
      << message;

  make_folder(tmp / "wrong_id", {{"added_tokens_decoder", {{"5", added_token("!")}}}});
  message = error_of([&] { ClipTokenizer::from_directory(tmp / "wrong_id"); });
  EXPECT_NE(message.find("added token \"!\" has id 5"), std::string::npos) << message;

  make_folder(tmp / "bad_json", nullptr);
  write_text_file(tmp / "bad_json" / "special_tokens_map.json", "{\n  \"pad_token\": \"!\",\n  oops\n}\n");
  message = error_of([&] { ClipTokenizer::from_directory(tmp / "bad_json"); });
  EXPECT_NE(message.find("special_tokens_map.json line 3: invalid JSON"), std::string::npos) << message;

  make_folder(tmp / "bad_pad", {{"pad_token", 7}});
  message = error_of([&] { ClipTokenizer::from_directory(tmp / "bad_pad"); });
  EXPECT_NE(message.find("\"pad_token\": expected a string"), std::string::npos) << message;

  fs::create_directories(tmp / "empty");
  message = error_of([&] { ClipTokenizer::from_directory(tmp / "empty"); });
  EXPECT_NE(message.find((tmp / "empty" / "vocab.json").string() + "' does not exist"), std::string::npos)
      << message;
}

TEST(ClipTokenizer, FileErrorsNameTheFileAndLine) {
  TempDir tmp;
  const fs::path vocab = fixture("vocab.json");
  const fs::path merges = fixture("merges.txt");

  std::string message = error_of([&] { ClipTokenizer::from_files(tmp / "missing.json", merges); });
  EXPECT_NE(message.find("missing.json' does not exist"), std::string::npos) << message;
  message = error_of([&] { ClipTokenizer::from_files(vocab, tmp / "missing.txt"); });
  EXPECT_NE(message.find("missing.txt' does not exist"), std::string::npos) << message;

  write_text_file(tmp / "bad_merges.txt", "#version: 0.2\ni n\nt h x\na n\n");
  message = error_of([&] { ClipTokenizer::from_files(vocab, tmp / "bad_merges.txt"); });
  EXPECT_NE(message.find("bad_merges.txt line 3: expected two space-separated symbols, got 3 in 't h x'"),
            std::string::npos)
      << message;

  write_text_file(tmp / "blank_line.txt", "#version: 0.2\ni n\n\nt h\n");
  message = error_of([&] { ClipTokenizer::from_files(vocab, tmp / "blank_line.txt"); });
  EXPECT_NE(message.find("blank_line.txt line 3: expected two space-separated symbols, got 0"),
            std::string::npos)
      << message;

  write_text_file(tmp / "no_header.txt", "i n\nt h\n");
  message = error_of([&] { ClipTokenizer::from_files(vocab, tmp / "no_header.txt"); });
  EXPECT_NE(message.find("no_header.txt line 1: expected the '#version: ...' header"), std::string::npos)
      << message;

  // Trailing blank lines are fine (and a file of merges only is a valid, if poor, tokenizer).
  write_text_file(tmp / "short.txt", "#version: 0.2\ni n\n\n\n");
  EXPECT_EQ(ClipTokenizer::from_files(vocab, tmp / "short.txt").tokenize("in"),
            (std::vector<std::string>{"i", "n</w>"}));

  write_text_file(tmp / "list.json", "[1, 2]");
  message = error_of([&] { ClipTokenizer::from_files(tmp / "list.json", merges); });
  EXPECT_NE(message.find("list.json: expected a non-empty JSON object"), std::string::npos) << message;

  write_text_file(tmp / "bad_id.json", R"({"a": 0, "b": "one"})");
  message = error_of([&] { ClipTokenizer::from_files(tmp / "bad_id.json", merges); });
  EXPECT_NE(message.find("bad_id.json: token \"b\" has id \"one\""), std::string::npos) << message;

  write_text_file(tmp / "dup_id.json", R"({"a": 0, "b": 0})");
  message = error_of([&] { ClipTokenizer::from_files(tmp / "dup_id.json", merges); });
  EXPECT_NE(message.find("share id 0"), std::string::npos) << message;

  write_text_file(tmp / "truncated.json", "{\"a\": 0,\n\"b\": ");
  message = error_of([&] { ClipTokenizer::from_files(tmp / "truncated.json", merges); });
  EXPECT_NE(message.find("truncated.json line 2: invalid JSON"), std::string::npos) << message;

  write_text_file(tmp / "no_specials.json", R"({"a": 0})");
  message = error_of([&] { ClipTokenizer::from_files(tmp / "no_specials.json", merges); });
  EXPECT_NE(message.find("bos_token \"<|startoftext|>\" is not in"), std::string::npos) << message;

  ClipTokenizerOptions options;
  options.pad_token = "<pad>";
  message = error_of([&] { ClipTokenizer::from_files(vocab, merges, options); });
  EXPECT_NE(message.find("pad_token \"<pad>\" is not in"), std::string::npos) << message;
  options = {};
  options.model_max_length = 1;
  EXPECT_THROW(ClipTokenizer::from_files(vocab, merges, options), std::invalid_argument);
}

}  // namespace
}  // namespace flowgrpo::text
