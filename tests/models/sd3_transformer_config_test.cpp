#include "flowgrpo/models/transformers/sd3_transformer_config.h"

#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace {

using flowgrpo::models::SD3TransformerConfig;
using nlohmann::json;
namespace ft = flowgrpo::testing;

json tiny_json() {
  std::ifstream in(ft::data_path("sd3_tiny/config.json"));
  json j;
  in >> j;
  return j;
}

// Expects from_json to throw std::invalid_argument whose message contains every needle.
void expect_rejected(const json& j, std::initializer_list<const char*> needles) {
  try {
    SD3TransformerConfig::from_json(j, "test.json");
    FAIL() << "accepted " << j.dump();
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    for (const char* n : needles)
      EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  }
}

TEST(SD3TransformerConfig, ParsesTinyFixtures) {
  const auto c = SD3TransformerConfig::from_file(ft::data_path("sd3_tiny/config.json"));
  EXPECT_EQ(c.sample_size, 16);
  EXPECT_EQ(c.patch_size, 2);
  EXPECT_EQ(c.in_channels, 16);
  EXPECT_EQ(c.out_channels, 16);
  EXPECT_EQ(c.num_layers, 4);
  EXPECT_EQ(c.attention_head_dim, 8);
  EXPECT_EQ(c.num_attention_heads, 2);
  EXPECT_EQ(c.inner_dim(), 16);
  EXPECT_EQ(c.joint_attention_dim, 32);
  EXPECT_EQ(c.caption_projection_dim, 16);
  EXPECT_EQ(c.pooled_projection_dim, 24);
  EXPECT_EQ(c.pos_embed_max_size, 11);
  EXPECT_EQ(c.dual_attention_layers, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(c.qk_norm, std::optional<std::string>("rms_norm"));
  EXPECT_TRUE(c.is_dual_attention_layer(1));
  EXPECT_FALSE(c.is_dual_attention_layer(2));

  const auto v1 = SD3TransformerConfig::from_file(ft::data_path("sd3_tiny_v1/config.json"));
  EXPECT_TRUE(v1.dual_attention_layers.empty());
  EXPECT_FALSE(v1.qk_norm.has_value());
}

TEST(SD3TransformerConfig, PresetsAndRoundTrip) {
  const auto m35 = SD3TransformerConfig::sd35_medium();
  EXPECT_EQ(m35.num_layers, 24);
  EXPECT_EQ(m35.inner_dim(), 1536);
  EXPECT_EQ(m35.pos_embed_max_size, 384);
  EXPECT_EQ(m35.dual_attention_layers.size(), 13u);
  EXPECT_EQ(m35.dual_attention_layers.back(), 12);
  EXPECT_NO_THROW(m35.validate());
  EXPECT_EQ(SD3TransformerConfig::from_json(m35.to_json()), m35);

  const auto m3 = SD3TransformerConfig::sd3_medium();
  EXPECT_EQ(m3.pos_embed_max_size, 192);
  EXPECT_TRUE(m3.dual_attention_layers.empty());
  EXPECT_FALSE(m3.qk_norm.has_value());
  EXPECT_EQ(SD3TransformerConfig::from_json(m3.to_json()), m3);
  EXPECT_NE(m3, m35);
}

TEST(SD3TransformerConfig, DiffusersDefaultsAndNullOutChannels) {
  // Absent keys take diffusers' defaults; out_channels null means in_channels.
  const auto c = SD3TransformerConfig::from_json(
      json{{"_class_name", "SD3Transformer2DModel"}, {"in_channels", 8}, {"out_channels", nullptr}});
  EXPECT_EQ(c.out_channels, 8);
  EXPECT_EQ(c.num_layers, 18);
  EXPECT_EQ(c.caption_projection_dim, 1152);
  EXPECT_EQ(c.pos_embed_max_size, 96);
  // Metadata keys are accepted.
  auto j = tiny_json();
  j["_name_or_path"] = "/somewhere";
  j["_use_default_values"] = json::array();
  EXPECT_NO_THROW(SD3TransformerConfig::from_json(j));
}

TEST(SD3TransformerConfig, RejectsUnknownKeyNamingKeyAndFile) {
  auto j = tiny_json();
  j["num_single_layers"] = 38;
  expect_rejected(j, {"num_single_layers", "test.json", "unknown"});
}

TEST(SD3TransformerConfig, RejectsBadValues) {
  {
    auto j = tiny_json();
    j["caption_projection_dim"] = 24;
    expect_rejected(j, {"caption_projection_dim", "16", "24", "test.json"});
  }
  {
    auto j = tiny_json();
    j["patch_size"] = 0;
    expect_rejected(j, {"patch_size", ">= 1"});
  }
  {
    auto j = tiny_json();
    j["patch_size"] = 2.5;
    expect_rejected(j, {"patch_size", "integer"});
  }
  {
    auto j = tiny_json();
    j["qk_norm"] = "layer_norm";
    expect_rejected(j, {"qk_norm", "layer_norm", "rms_norm"});
  }
  {
    auto j = tiny_json();
    j["dual_attention_layers"] = json::array({0, 4});
    expect_rejected(j, {"dual_attention_layers", "4"});
  }
  {
    auto j = tiny_json();
    j["dual_attention_layers"] = json::array({1, 1});
    expect_rejected(j, {"dual_attention_layers", "repeated"});
  }
  {
    auto j = tiny_json();
    j["_class_name"] = "FluxTransformer2DModel";
    expect_rejected(j, {"_class_name", "FluxTransformer2DModel"});
  }
  {
    auto j = tiny_json();
    j["pos_embed_max_size"] = nullptr;
    expect_rejected(j, {"pos_embed_max_size"});
  }
  EXPECT_THROW(SD3TransformerConfig::from_json(json::array()), std::invalid_argument);
}

TEST(SD3TransformerConfig, FileErrorsNameThePath) {
  ft::TempDir dir;
  try {
    SD3TransformerConfig::from_file(dir / "missing.json");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("missing.json"), std::string::npos);
  }
  ft::write_text_file(dir / "bad.json", "{ not json");
  try {
    SD3TransformerConfig::from_file(dir / "bad.json");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos);
  }
}

}  // namespace
