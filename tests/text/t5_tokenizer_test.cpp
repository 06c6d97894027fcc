// The T5 sentencepiece tokenizer against transformers v4.40's slow T5Tokenizer on
// 65 prompts and two models (tests/data/text/t5_tokenizer_{legal32k,test1000},
// copied from shared/fixtures/text): ids untruncated, the padded and truncated batch
// flow_grpo asks for (max_length 128), legacy=False, literal special tokens,
// tokenizer folders, threads and the error paths.

#include "flowgrpo/text/t5_tokenizer.h"

#include "flowgrpo/io/safetensors.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace flowgrpo::text {
namespace {

namespace fs = std::filesystem;
using flowgrpo::testing::data_path;
using flowgrpo::testing::expect_invalid_argument;
using flowgrpo::testing::TempDir;
using flowgrpo::testing::write_text_file;
using json = nlohmann::json;

constexpr int64_t kT5Prompts = 65;
constexpr int64_t kT5MaxLength = 128;  // what flow_grpo passes

/// One fixture folder: its model, prompts.json and ids.safetensors, loaded once.
struct T5Fixture {
  std::string name;
  fs::path dir;
  json prompts;
  io::SafetensorsFile ids;
  T5Tokenizer tokenizer;
  T5Tokenizer tokenizer_legacy_false;
};

const T5Fixture& t5_fixture(const std::string& name) {
  static std::map<std::string, std::unique_ptr<T5Fixture>> cache;
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[name];
  if (!slot) {
    const fs::path dir = data_path("text/t5_tokenizer_" + name);
    std::ifstream in(dir / "prompts.json");
    T5TokenizerOptions non_legacy;
    non_legacy.legacy = false;
    slot = std::make_unique<T5Fixture>(T5Fixture{name, dir, json::parse(in),
                                                 io::SafetensorsFile::open(dir / "ids.safetensors"),
                                                 T5Tokenizer::from_file(dir / "spiece.model"),
                                                 T5Tokenizer::from_file(dir / "spiece.model", non_legacy)});
  }
  return *slot;
}

std::vector<std::string> t5_prompts(const T5Fixture& f) {
  std::vector<std::string> out;
  for (const json& p : f.prompts["prompts"]) out.push_back(p["prompt"].get<std::string>());
  return out;
}

std::vector<int64_t> t5_row(const torch::Tensor& t, int64_t i) {
  const torch::Tensor r = t[i].contiguous();
  return std::vector<int64_t>(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel());
}

class T5TokenizerOnFixture : public ::testing::TestWithParam<std::string> {
 protected:
  const T5Fixture& fixture() const { return t5_fixture(GetParam()); }
};

TEST_P(T5TokenizerOnFixture, SpecialIdsAndSizesMatchTransformers) {
  const T5Fixture& f = fixture();
  const T5Tokenizer& tok = f.tokenizer;
  const json& special = f.prompts["special_ids"];
  EXPECT_EQ(tok.pad_id(), special["pad"].get<int64_t>());
  EXPECT_EQ(tok.eos_id(), special["eos"].get<int64_t>());
  EXPECT_EQ(tok.unk_id(), special["unk"].get<int64_t>());
  EXPECT_EQ(tok.token_to_id("<extra_id_0>"), special["extra_id_0"].get<int64_t>());
  EXPECT_EQ(tok.token_to_id("<extra_id_99>"), special["extra_id_99"].get<int64_t>());
  EXPECT_EQ(tok.token_to_id("<extra_id_100>"), -1);
  EXPECT_EQ(tok.piece_count(), f.prompts["sentencepiece_pieces"].get<int64_t>());
  EXPECT_EQ(tok.vocab_size(), f.prompts["tokenizer_len_incl_extra_ids"].get<int64_t>());
  EXPECT_EQ(tok.model_max_length(), 512);
  EXPECT_EQ(tok.id_to_token(tok.eos_id()), "</s>");
  EXPECT_EQ(tok.id_to_token(tok.pad_id()), "<pad>");
  EXPECT_EQ(tok.id_to_token(tok.unk_id()), "<unk>");
  EXPECT_EQ(tok.id_to_token(special["extra_id_0"].get<int64_t>()), "<extra_id_0>");
  EXPECT_EQ(tok.token_to_id("\xE2\x96\x81"
                            "a"),
            10);  // "▁a" in both models
  EXPECT_EQ(tok.token_to_id("no such piece"), -1);
  EXPECT_THROW(tok.id_to_token(tok.vocab_size()), std::out_of_range);
  EXPECT_THROW(tok.id_to_token(-1), std::out_of_range);
}

TEST_P(T5TokenizerOnFixture, EncodeMatchesEveryPromptsIdsAndTokens) {
  const T5Fixture& f = fixture();
  const json& all = f.prompts["prompts"];
  ASSERT_EQ(static_cast<int64_t>(all.size()), kT5Prompts);
  int64_t matched = 0;
  for (const json& p : all) {
    const std::string prompt = p["prompt"].get<std::string>();
    SCOPED_TRACE("prompt " + std::to_string(p["index"].get<int>()) + ": " + prompt);
    const std::vector<int64_t> ids = f.tokenizer.encode(prompt);
    EXPECT_EQ(ids, p["t5"]["ids"].get<std::vector<int64_t>>());
    std::vector<std::string> tokens;
    for (int64_t id : ids) tokens.push_back(f.tokenizer.id_to_token(id));
    EXPECT_EQ(tokens, p["t5"]["tokens"].get<std::vector<std::string>>());
    EXPECT_EQ(f.tokenizer_legacy_false.encode(prompt),
              p["t5"]["ids_legacy_false"].get<std::vector<int64_t>>());
    matched += ids == p["t5"]["ids"].get<std::vector<int64_t>>();
  }
  EXPECT_EQ(matched, kT5Prompts);
}

TEST_P(T5TokenizerOnFixture, BatchMatchesTransformersPaddedAndTruncatedTo128) {
  const T5Fixture& f = fixture();
  const T5BatchEncoding enc = f.tokenizer.encode_batch(t5_prompts(f), kT5MaxLength);
  const torch::Tensor expected_ids = f.ids.load("input_ids");
  const torch::Tensor expected_mask = f.ids.load("attention_mask");
  const torch::Tensor expected_counts = f.ids.load("num_tokens_untruncated");
  ASSERT_EQ(enc.input_ids.sizes(), (std::vector<int64_t>{kT5Prompts, kT5MaxLength}));
  ASSERT_EQ(enc.attention_mask.sizes(), enc.input_ids.sizes());
  ASSERT_EQ(static_cast<int64_t>(enc.num_tokens_untruncated.size()), kT5Prompts);
  EXPECT_EQ(enc.input_ids.scalar_type(), torch::kInt64);
  EXPECT_EQ(enc.attention_mask.scalar_type(), torch::kInt64);
  int64_t truncated = 0;
  for (int64_t i = 0; i < kT5Prompts; ++i) {
    SCOPED_TRACE("prompt " + std::to_string(i));
    EXPECT_EQ(t5_row(enc.input_ids, i), t5_row(expected_ids, i));
    EXPECT_EQ(t5_row(enc.attention_mask, i), t5_row(expected_mask, i));
    EXPECT_EQ(enc.num_tokens_untruncated[static_cast<size_t>(i)], expected_counts[i].item<int64_t>());
    if (enc.num_tokens_untruncated[static_cast<size_t>(i)] > kT5MaxLength) {
      ++truncated;
      EXPECT_EQ(enc.input_ids[i][kT5MaxLength - 1].item<int64_t>(), f.tokenizer.eos_id());
    }
  }
  EXPECT_TRUE(torch::equal(enc.input_ids, expected_ids));
  EXPECT_TRUE(torch::equal(enc.attention_mask, expected_mask));
  // Prompt 60 holds 129 tokens and 61 far more in both models; 59 exactly 128.
  EXPECT_EQ(truncated, 2);
  EXPECT_EQ(enc.num_tokens_untruncated[59], kT5MaxLength);

  const T5BatchEncoding non_legacy = f.tokenizer_legacy_false.encode_batch(t5_prompts(f), kT5MaxLength);
  EXPECT_TRUE(torch::equal(non_legacy.input_ids, f.ids.load("input_ids_legacy_false")));
}

TEST_P(T5TokenizerOnFixture, EmptyAndBlankPromptsAreEosThenPadding) {
  const T5Fixture& f = fixture();
  const T5Tokenizer& tok = f.tokenizer;
  EXPECT_EQ(tok.encode(""), (std::vector<int64_t>{tok.eos_id()}));
  EXPECT_EQ(tok.encode(" \t\n"), (std::vector<int64_t>{tok.eos_id()}));
  EXPECT_EQ(f.tokenizer_legacy_false.encode(""), (std::vector<int64_t>{tok.eos_id()}));
  const T5BatchEncoding enc = tok.encode_batch({"", " "}, 4);
  for (int64_t i = 0; i < 2; ++i) {
    EXPECT_EQ(t5_row(enc.input_ids, i),
              (std::vector<int64_t>{tok.eos_id(), tok.pad_id(), tok.pad_id(), tok.pad_id()}));
    EXPECT_EQ(t5_row(enc.attention_mask, i), (std::vector<int64_t>{1, 0, 0, 0}));
    EXPECT_EQ(enc.num_tokens_untruncated[static_cast<size_t>(i)], 1);
  }
  EXPECT_EQ(tok.encode_batch({}).input_ids.sizes(), (std::vector<int64_t>{0, 512}));
}

TEST_P(T5TokenizerOnFixture, IsSafeToShareBetweenThreads) {
  const T5Fixture& f = fixture();
  const std::vector<std::string> texts = t5_prompts(f);
  const torch::Tensor expected = f.ids.load("input_ids");
  std::vector<torch::Tensor> results(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      torch::Tensor last;
      for (int repeat = 0; repeat < 5; ++repeat)
        last = f.tokenizer.encode_batch(texts, kT5MaxLength).input_ids;
      results[t] = last;
    });
  }
  for (std::thread& t : threads) t.join();
  for (const torch::Tensor& r : results) EXPECT_TRUE(torch::equal(r, expected));
}

INSTANTIATE_TEST_SUITE_P(T5Fixtures, T5TokenizerOnFixture, ::testing::Values("legal32k", "test1000"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// Beyond the fixture prompts: ids recorded with transformers' T5Tokenizer (v4.51.3,
// whose T5Tokenizer and PreTrainedTokenizer.tokenize are those of v4.40 on these
// paths) on the legal32k model, where legacy and legacy=False differ.
TEST(T5Tokenizer, LegacyFalseDropsTheSpaceAfterAddedTokens) {
  const T5Tokenizer& legacy = t5_fixture("legal32k").tokenizer;
  const T5Tokenizer& modern = t5_fixture("legal32k").tokenizer_legacy_false;
  EXPECT_EQ(legacy.encode("Hello <extra_id_0>."), (std::vector<int64_t>{435, 8564, 32099, 351, 1}));
  EXPECT_EQ(modern.encode("Hello <extra_id_0>."), (std::vector<int64_t>{435, 8564, 32099, 4, 1}));
  EXPECT_EQ(legacy.encode("<pad>hi"), (std::vector<int64_t>{0, 8, 2443, 1}));
  EXPECT_EQ(modern.encode("<pad>hi"), (std::vector<int64_t>{0, 2443, 1}));
  EXPECT_EQ(legacy.encode("a <extra_id_1> b<extra_id_2>c"),
            (std::vector<int64_t>{10, 32098, 212, 32097, 226, 1}));
  EXPECT_EQ(modern.encode("a <extra_id_1> b<extra_id_2>c"),
            (std::vector<int64_t>{10, 32098, 216, 32097, 225, 1}));
  // A literal "▁" is a space to legacy=False, and sentencepiece's own escape otherwise.
  for (const T5Tokenizer* tok : {&legacy, &modern}) {
    EXPECT_EQ(tok->encode("\xE2\x96\x81"
                          "a \xE2\x96\x81"
                          "b"),
              (std::vector<int64_t>{10, 212, 1}));
  }
  // test1000: the space after an added token is "▁" of its own in legacy mode.
  EXPECT_EQ(t5_fixture("test1000").tokenizer.encode("Hello <extra_id_0>."),
            (std::vector<int64_t>{156, 86, 20, 1099, 7, 4, 2}));
  EXPECT_EQ(t5_fixture("test1000").tokenizer_legacy_false.encode("Hello <extra_id_0>."),
            (std::vector<int64_t>{156, 86, 20, 1099, 4, 2}));
}

TEST(T5Tokenizer, LiteralSpecialTokensAndEos) {
  const T5Tokenizer& tok = t5_fixture("legal32k").tokenizer;
  // Only the exact spelling is special; the rest goes to sentencepiece (NFKC folds
  // the full-width letters, "<PAD>" is plain text).
  EXPECT_EQ(tok.encode("\xEF\xBC\xA1\xEF\xBC\xA2 <PAD>"),
            (std::vector<int64_t>{12027, 8, 2, 4657, 341, 2, 1}));
  EXPECT_EQ(tok.encode("<unk>"), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(tok.encode("<extra_id_99><extra_id_0>"), (std::vector<int64_t>{32000, 32099, 1}));
  // A trailing literal </s> is the eos: none is added after it.
  EXPECT_EQ(tok.encode("x </s>"), (std::vector<int64_t>{4443, 1}));
  EXPECT_EQ(tok.encode(" x</s>"), (std::vector<int64_t>{4443, 1}));
  EXPECT_EQ(tok.encode("a</s></s>"), (std::vector<int64_t>{10, 1, 1}));
}

TEST(T5Tokenizer, TruncationKeepsEosLastAndDoesNotDoubleALiteralOne) {
  const T5Tokenizer& tok = t5_fixture("legal32k").tokenizer;
  std::string many_a;
  for (int i = 0; i < 200; ++i) many_a += "a ";
  const T5BatchEncoding short_batch = tok.encode_batch({many_a, "a photo of a bench", "a a"}, 4);
  EXPECT_EQ(t5_row(short_batch.input_ids, 0), (std::vector<int64_t>{10, 10, 10, 1}));
  EXPECT_EQ(t5_row(short_batch.input_ids, 1), (std::vector<int64_t>{10, 26888, 17, 1}));
  EXPECT_EQ(t5_row(short_batch.input_ids, 2), (std::vector<int64_t>{10, 10, 1, 0}));
  EXPECT_EQ(t5_row(short_batch.attention_mask, 2), (std::vector<int64_t>{1, 1, 1, 0}));
  EXPECT_EQ(short_batch.num_tokens_untruncated, (std::vector<int64_t>{201, 7, 3}));

  // 126 content ids and a literal </s>: it fits as it is, and the kept ids of a
  // longer prompt that end in </s> get no second one (transformers: 127 ids, then pad).
  std::string literal_eos;
  for (int i = 0; i < 126; ++i) literal_eos += "a ";
  literal_eos += "</s>";
  const T5BatchEncoding enc = tok.encode_batch({literal_eos, literal_eos + " more words"}, kT5MaxLength);
  for (int64_t i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(enc.attention_mask[i].sum().item<int64_t>(), 127);
    EXPECT_EQ(enc.input_ids[i][125].item<int64_t>(), 10);
    EXPECT_EQ(enc.input_ids[i][126].item<int64_t>(), 1);
    EXPECT_EQ(enc.input_ids[i][127].item<int64_t>(), 0);
  }
  EXPECT_EQ(enc.num_tokens_untruncated[0], 127);
  EXPECT_GT(enc.num_tokens_untruncated[1], 128);

  expect_invalid_argument([&] { tok.encode_batch({"a"}, 1); }, {"max_length must be >= 2, got 1"});
}

TEST(T5Tokenizer, RejectsInvalidUtf8) {
  const T5Tokenizer& tok = t5_fixture("legal32k").tokenizer;
  expect_invalid_argument([&] { tok.encode("ab\xC3"); }, {"T5 tokenizer: invalid UTF-8 at byte 2"});
  expect_invalid_argument([&] { tok.encode_batch({"ok", "\xFF"}, 8); }, {"prompt 1 of the batch"});
}

TEST(T5Tokenizer, MissingOrBrokenModelFilesNameTheFile) {
  TempDir tmp;
  const fs::path missing = tmp / "missing.model";
  expect_invalid_argument([&] { T5Tokenizer::from_file(missing); }, {missing.string(), "does not exist"});
  expect_invalid_argument([&] { T5Tokenizer::from_file(tmp.path()); }, {"not a regular file"});

  write_text_file(tmp / "garbage.model", "this is not a sentencepiece model\n\x01\x02\xff");
  const std::string message =
      expect_invalid_argument([&] { T5Tokenizer::from_file(tmp / "garbage.model"); },
                              {(tmp / "garbage.model").string(), "sentencepiece says: "});
  // sentencepiece's own explanation follows.
  EXPECT_GT(message.size(), message.find("sentencepiece says: ") + 20) << message;

  write_text_file(tmp / "empty.model", "");
  expect_invalid_argument([&] { T5Tokenizer::from_file(tmp / "empty.model"); },
                          {(tmp / "empty.model").string(), "sentencepiece says: "});

  // The first half of a real model is no model either.
  std::ifstream in(data_path("text/t5_tokenizer_test1000/spiece.model"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  write_text_file(tmp / "cut.model", bytes.substr(0, bytes.size() / 2));
  expect_invalid_argument([&] { T5Tokenizer::from_file(tmp / "cut.model"); }, {(tmp / "cut.model").string()});

  T5TokenizerOptions options;
  options.extra_ids = -1;
  const fs::path model = data_path("text/t5_tokenizer_legal32k/spiece.model");
  expect_invalid_argument([&] { T5Tokenizer::from_file(model, options); }, {"extra_ids must be >= 0"});
  options = {};
  options.model_max_length = 1;
  expect_invalid_argument([&] { T5Tokenizer::from_file(model, options); }, {"model_max_length must be >= 2"});
  options = {};
  options.pad_token = "";
  expect_invalid_argument([&] { T5Tokenizer::from_file(model, options); }, {"pad_token is empty"});
}

TEST(T5Tokenizer, ExtraIdsOptionControlsTheSentinels) {
  T5TokenizerOptions options;
  options.extra_ids = 0;
  const T5Tokenizer tok =
      T5Tokenizer::from_file(data_path("text/t5_tokenizer_legal32k/spiece.model"), options);
  EXPECT_EQ(tok.vocab_size(), 32000);
  EXPECT_EQ(tok.token_to_id("<extra_id_0>"), -1);
  EXPECT_NE(tok.encode("<extra_id_0>").front(), 32099);  // plain text now
  // test1000 has no <pad> piece: it follows the sentinels, so with 3 of them it is 1003.
  options.extra_ids = 3;
  const T5Tokenizer small =
      T5Tokenizer::from_file(data_path("text/t5_tokenizer_test1000/spiece.model"), options);
  EXPECT_EQ(small.pad_id(), 1003);
  EXPECT_EQ(small.token_to_id("<extra_id_0>"), 1002);
  EXPECT_EQ(small.token_to_id("<extra_id_2>"), 1000);
  EXPECT_EQ(small.vocab_size(), 1004);
}

fs::path t5_folder(const TempDir& tmp, const std::string& name, const json& config) {
  const fs::path dir = tmp / name;
  fs::create_directories(dir);
  fs::copy_file(data_path("text/t5_tokenizer_legal32k/spiece.model"), dir / "spiece.model");
  if (!config.is_null()) write_text_file(dir / "tokenizer_config.json", config.dump(2));
  return dir;
}

TEST(T5Tokenizer, FromDirectoryReadsTokenizerConfig) {
  TempDir tmp;
  const T5Fixture& f = t5_fixture("legal32k");
  const std::vector<std::string> texts = t5_prompts(f);

  // No tokenizer_config.json: the defaults.
  const T5Tokenizer plain = T5Tokenizer::from_directory(t5_folder(tmp, "plain", nullptr));
  EXPECT_EQ(plain.model_max_length(), 512);
  EXPECT_TRUE(plain.options().legacy);
  EXPECT_TRUE(torch::equal(plain.encode_batch(texts, kT5MaxLength).input_ids, f.ids.load("input_ids")));

  // What SD3.5's tokenizer_3/tokenizer_config.json holds (abridged: two of the 100 sentinels).
  json decoder = json::object();
  for (const auto& [id, content] :
       std::vector<std::pair<int, std::string>>{{0, "<pad>"}, {1, "</s>"}, {2, "<unk>"}}) {
    decoder[std::to_string(id)] = {{"content", content}, {"lstrip", false},      {"normalized", false},
                                   {"rstrip", false},    {"single_word", false}, {"special", true}};
  }
  for (int n : {0, 99}) {
    decoder[std::to_string(32099 - n)] = {{"content", "<extra_id_" + std::to_string(n) + ">"},
                                          {"lstrip", true},
                                          {"normalized", false},
                                          {"rstrip", true},
                                          {"single_word", false},
                                          {"special", true}};
  }
  const json sd3 = {{"added_tokens_decoder", decoder},
                    {"clean_up_tokenization_spaces", true},
                    {"eos_token", "</s>"},
                    {"extra_ids", 100},
                    {"legacy", true},
                    {"model_max_length", 512},
                    {"pad_token", "<pad>"},
                    {"sp_model_kwargs", json::object()},
                    {"tokenizer_class", "T5Tokenizer"},
                    {"unk_token", "<unk>"}};
  const T5Tokenizer sd3_tok = T5Tokenizer::from_directory(t5_folder(tmp, "sd3", sd3));
  EXPECT_EQ(sd3_tok.vocab_size(), 32100);
  EXPECT_TRUE(torch::equal(sd3_tok.encode_batch(texts, kT5MaxLength).input_ids, f.ids.load("input_ids")));

  json custom = {{"model_max_length", 128}, {"legacy", false}, {"extra_ids", 10}};
  const T5Tokenizer custom_tok = T5Tokenizer::from_directory(t5_folder(tmp, "custom", custom));
  EXPECT_EQ(custom_tok.model_max_length(), 128);
  EXPECT_FALSE(custom_tok.options().legacy);
  EXPECT_EQ(custom_tok.token_to_id("<extra_id_0>"), 32009);
  EXPECT_EQ(custom_tok.vocab_size(), 32010);
  EXPECT_EQ(custom_tok.encode("Hello <extra_id_0>."), (std::vector<int64_t>{435, 8564, 32009, 4, 1}));
  EXPECT_EQ(custom_tok.encode("Hello <extra_id_0> ."), (std::vector<int64_t>{435, 8564, 32009, 4, 1}));
  EXPECT_EQ(custom_tok.encode("Hello<extra_id_0> x"), (std::vector<int64_t>{435, 8564, 32009, 1010, 1}));
  EXPECT_EQ(custom_tok.encode_batch({"a"}).input_ids.sizes(), (std::vector<int64_t>{1, 128}));

  // transformers' "no limit" and a null legacy keep the defaults.
  const T5Tokenizer unlimited = T5Tokenizer::from_directory(
      t5_folder(tmp, "unlimited",
                {{"model_max_length", 1e30}, {"legacy", nullptr}, {"eos_token", {{"content", "</s>"}}}}));
  EXPECT_EQ(unlimited.model_max_length(), 512);
  EXPECT_TRUE(unlimited.options().legacy);

  // Without lstrip/rstrip on a sentinel, legacy=False keeps the "▁" of a space after it.
  // (Recorded with transformers' T5Tokenizer.from_pretrained on the same folders.)
  json no_strip = {
      {"legacy", false},
      {"added_tokens_decoder",
       {{"32099", {{"content", "<extra_id_0>"}, {"lstrip", false}, {"rstrip", false}, {"special", true}}}}}};
  const T5Tokenizer no_strip_tok = T5Tokenizer::from_directory(t5_folder(tmp, "no_strip", no_strip));
  EXPECT_EQ(no_strip_tok.encode("Hello <extra_id_0>."), (std::vector<int64_t>{435, 8564, 32099, 4, 1}));
  EXPECT_EQ(no_strip_tok.encode("Hello <extra_id_0> ."), (std::vector<int64_t>{435, 8564, 32099, 351, 1}));
  EXPECT_EQ(no_strip_tok.encode("Hello<extra_id_0> x"), (std::vector<int64_t>{435, 8564, 32099, 4443, 1}));
}

TEST(T5Tokenizer, FromDirectoryRejectsBadConfigs) {
  TempDir tmp;
  expect_invalid_argument([&] { T5Tokenizer::from_directory(tmp / "nowhere"); },
                          {(tmp / "nowhere" / "spiece.model").string(), "does not exist"});

  const fs::path bad_json = t5_folder(tmp, "bad_json", nullptr);
  write_text_file(bad_json / "tokenizer_config.json", "{\"legacy\": tru");
  expect_invalid_argument([&] { T5Tokenizer::from_directory(bad_json); },
                          {(bad_json / "tokenizer_config.json").string(), "invalid JSON"});

  const std::vector<std::pair<json, std::string>> cases = {
      {json::array(), "expected a JSON object"},
      {{{"legacy", "yes"}}, "\"legacy\": expected true or false"},
      {{{"extra_ids", -3}}, "\"extra_ids\": expected a non-negative integer"},
      {{{"model_max_length", "long"}}, "\"model_max_length\": expected a number"},
      {{{"model_max_length", 1}}, "model_max_length must be >= 2"},
      {{{"pad_token", 0}}, "\"pad_token\": expected a string"},
      {{{"added_tokens_decoder", {{"x", {{"content", "<a>"}}}}}}, "key 'x' is not a non-negative integer id"},
      {{{"added_tokens_decoder", {{"5", "<a>"}}}}, "[\"5\"]: expected an object"},
      {{{"added_tokens_decoder", {{"5", {{"content", "<a>"}, {"single_word", true}}}}}},
       "\"single_word\": true is not supported"},
      {{{"added_tokens_decoder", {{"5", {{"content", "<extra_id_1>"}}}}}},
       "are both added token \"<extra_id_1>\""},
  };
  int index = 0;
  for (const auto& [config, needle] : cases) {
    SCOPED_TRACE(config.dump());
    const fs::path dir = t5_folder(tmp, "case" + std::to_string(index++), config);
    expect_invalid_argument([&] { T5Tokenizer::from_directory(dir); }, {needle});
  }
}

}  // namespace
}  // namespace flowgrpo::text
