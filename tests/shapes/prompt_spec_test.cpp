#include "flowgrpo/shapes/prompt_spec.h"
#include "flowgrpo/data/prompt_dataset.h"
#include "flowgrpo/shapes/prompt_generator.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace fs = flowgrpo::shapes;
using fs::Color;
using fs::PromptSpec;
using fs::Relation;
using fs::Shape;
using nlohmann::json;

namespace {

using flowgrpo::testing::invalid_argument_message;

}  // namespace

TEST(ShapesPromptSpec, GenevalTemplates) {
  EXPECT_EQ(PromptSpec::single_object(Shape::kTriangle).prompt(), "a photo of a triangle");
  EXPECT_EQ(PromptSpec::two_object(Shape::kCircle, Shape::kSquare).prompt(),
            "a photo of a circle and a square");
  EXPECT_EQ(PromptSpec::counting(Shape::kTriangle, 3).prompt(), "a photo of three triangles");
  EXPECT_EQ(PromptSpec::counting(Shape::kCircle, 1).prompt(), "a photo of one circle");
  EXPECT_EQ(PromptSpec::colors(Color::kRed, Shape::kCircle).prompt(), "a photo of a red circle");
  EXPECT_EQ(PromptSpec::position(Shape::kCircle, Relation::kLeftOf, Shape::kSquare).prompt(),
            "a photo of a circle left of a square");
  EXPECT_EQ(PromptSpec::color_attr(Color::kRed, Shape::kSquare, Color::kGreen, Shape::kCircle).prompt(),
            "a photo of a red square and a green circle");
}

TEST(ShapesPromptSpec, MetadataIsGenevalLayout) {
  // create_prompts.py: position puts the reference first and the subject second with
  // position [relation, 0]; counting excludes count + 1.
  const auto position = PromptSpec::position(Shape::kCircle, Relation::kLeftOf, Shape::kSquare).to_metadata();
  EXPECT_EQ(
      flowgrpo::data::format_geneval_record(position),
      R"({"tag": "position", "include": [{"class": "square", "count": 1}, {"class": "circle", "count": 1, )"
      R"("position": ["left of", 0]}], "prompt": "a photo of a circle left of a square"})");
  const auto counting = PromptSpec::counting(Shape::kTriangle, 3).to_metadata();
  EXPECT_EQ(flowgrpo::data::format_geneval_record(counting),
            R"({"tag": "counting", "include": [{"class": "triangle", "count": 3}], "exclude": [{"class": )"
            R"("triangle", "count": 4}], "prompt": "a photo of three triangles"})");
  const auto attr =
      PromptSpec::color_attr(Color::kRed, Shape::kSquare, Color::kGreen, Shape::kCircle).to_metadata();
  EXPECT_EQ(
      flowgrpo::data::format_geneval_record(attr),
      R"({"tag": "color_attr", "include": [{"class": "square", "count": 1, "color": "red"}, {"class": )"
      R"("circle", "count": 1, "color": "green"}], "prompt": "a photo of a red square and a green circle"})");
  // Every record is valid GenEval metadata.
  for (auto tag : fs::all_tags())
    for (const auto& spec : fs::enumerate_prompts(tag))
      flowgrpo::data::validate_geneval_record(spec.to_metadata());
}

TEST(ShapesPromptSpec, EveryPromptRoundTrips) {
  int n = 0;
  for (auto tag : fs::all_tags())
    for (const auto& spec : fs::enumerate_prompts(tag)) {
      ++n;
      EXPECT_EQ(spec.tag, tag);
      const auto text = spec.prompt();
      EXPECT_EQ(PromptSpec::parse_prompt(text), spec) << text;
      const auto md = spec.to_metadata();
      EXPECT_EQ(md["prompt"], text);
      EXPECT_EQ(PromptSpec::from_metadata(md), spec) << md.dump();
      EXPECT_EQ(PromptSpec::from_metadata(json::parse(flowgrpo::data::format_geneval_record(md))), spec);
      EXPECT_NO_THROW(fs::validate_shapes_record(md)) << md.dump();
    }
  EXPECT_EQ(n, 3 + 6 + 12 + 18 + 24 + 180);
}

TEST(ShapesPromptSpec, BadPromptsNameTheProblem) {
  auto err = [](const std::string& text) {
    return invalid_argument_message([&] { PromptSpec::parse_prompt(text); });
  };
  EXPECT_NE(err("a photo of a pink circle").find("unknown shape 'pink'"), std::string::npos)
      << err("a photo of a pink circle");
  EXPECT_NE(err("a photo of a pink circle").find("or a colour ('red'"), std::string::npos);
  EXPECT_NE(err("a photo of a red hexagon").find("unknown shape 'hexagon'"), std::string::npos);
  EXPECT_NE(err("a photo of five circles").find("unknown number word 'five'"), std::string::npos);
  EXPECT_NE(err("a photo of three circle").find("expected 'circles'"), std::string::npos);
  EXPECT_NE(err("a photo of one circles").find("expected 'circle'"), std::string::npos);
  EXPECT_NE(err("a picture of a circle").find("'a photo of'"), std::string::npos);
  EXPECT_NE(err("a photo of a circle near a square").find("unknown relation 'near'"), std::string::npos);
  EXPECT_NE(err("a photo of a red circle and a square").find("both objects"), std::string::npos);
  EXPECT_NE(err("a photo of a circle and a circle").find("two different shapes"), std::string::npos);
  EXPECT_NE(err("a photo of a red circle and a red square").find("two different colours"), std::string::npos);
  EXPECT_NE(err("a photo of a red circle left of a square").find("do not take colours"), std::string::npos);
  EXPECT_NE(err("a photo of an circle").find("wrong article"), std::string::npos);
  EXPECT_NE(err("a photo of a circle and a square and a triangle").find("unexpected 'and'"),
            std::string::npos);
  EXPECT_NE(err("a photo of").find("nothing after"), std::string::npos);
}

TEST(ShapesPromptSpec, MetadataErrorsNameTheKey) {
  auto err = [](const json& md, bool tmpl = true) {
    return invalid_argument_message([&] { PromptSpec::from_metadata(md, tmpl); });
  };
  const auto dog = err(json::parse(R"({"tag": "single_object", "include": [{"class": "dog", "count": 1}]})"));
  EXPECT_NE(dog.find("include[0].class: unknown shape 'dog'"), std::string::npos) << dog;
  const auto pink =
      err(json::parse(R"({"tag": "colors", "include": [{"class": "circle", "count": 1, "color": "pink"}]})"));
  EXPECT_NE(pink.find("include[0].color: unknown colour 'pink'"), std::string::npos) << pink;
  const auto tag = err(json::parse(R"({"tag": "spatial", "include": [{"class": "circle", "count": 1}]})"));
  EXPECT_NE(tag.find("unknown tag 'spatial'"), std::string::npos) << tag;
  const auto pos = err(json::parse(
      R"({"tag": "position", "include": [{"class": "square", "count": 1}, {"class": "circle", "count": 1, "position": ["left of", 1]}]})"));
  EXPECT_NE(pos.find("include[1].position: index 1"), std::string::npos) << pos;
  const auto excl = err(json::parse(R"({"tag": "counting", "include": [{"class": "circle", "count": 2}]})"));
  EXPECT_NE(excl.find("counting template"), std::string::npos) << excl;
  // Without the template check only the words and clause structure matter.
  const auto general = json::parse(
      R"({"tag": "counting", "include": [{"class": "circle", "count": 7, "color": "red"}, {"class": "square", "count": 1}]})");
  EXPECT_NE(err(general).find("template"), std::string::npos);
  EXPECT_EQ(err(general, false), "");
  EXPECT_EQ(PromptSpec::from_metadata(general, false).include.at(0).count, 7);
  EXPECT_NE(err(json::array()).find("must be a JSON object"), std::string::npos);
  EXPECT_NE(err(json::parse(R"({"include": []})")).find("missing key 'tag'"), std::string::npos);
}

TEST(ShapesPromptSpec, FactoryPreconditions) {
  EXPECT_THROW(PromptSpec::two_object(Shape::kCircle, Shape::kCircle), std::invalid_argument);
  EXPECT_THROW(PromptSpec::counting(Shape::kCircle, 0), std::invalid_argument);
  EXPECT_THROW(PromptSpec::counting(Shape::kCircle, 5), std::invalid_argument);
  EXPECT_THROW(PromptSpec::position(Shape::kSquare, Relation::kAbove, Shape::kSquare), std::invalid_argument);
  EXPECT_THROW(PromptSpec::color_attr(Color::kRed, Shape::kCircle, Color::kRed, Shape::kSquare),
               std::invalid_argument);
  EXPECT_THROW(PromptSpec::color_attr(Color::kRed, Shape::kCircle, Color::kBlue, Shape::kCircle),
               std::invalid_argument);
  PromptSpec broken = PromptSpec::single_object(Shape::kCircle);
  broken.include.at(0).count = 2;
  EXPECT_FALSE(broken.matches_template());
  EXPECT_THROW(broken.prompt(), std::invalid_argument);
}

TEST(ShapesPromptSpec, PromptFileErrorsNameFileAndLine) {
  flowgrpo::testing::TempDir dir;
  const std::string good =
      flowgrpo::data::format_geneval_record(PromptSpec::single_object(Shape::kCircle).to_metadata());
  auto expect_error = [&](const std::string& bad_line, const std::string& what) {
    const auto path = dir / "prompts.jsonl";
    flowgrpo::testing::write_text_file(path, good + "\n" + good + "\n" + bad_line + "\n" + good + "\n");
    const auto e = invalid_argument_message([&] { fs::load_shapes_prompts(path); });
    EXPECT_NE(e.find(path.string() + ":3: "), std::string::npos) << e;
    EXPECT_NE(e.find(what), std::string::npos) << e;
  };
  expect_error(
      R"({"tag": "colors", "include": [{"class": "circle", "count": 1, "color": "pink"}], "prompt": "a photo of a pink circle"})",
      "unknown colour 'pink'");
  expect_error(
      R"({"tag": "single_object", "include": [{"class": "dog", "count": 1}], "prompt": "a photo of a dog"})",
      "unknown shape 'dog'");
  expect_error(
      R"({"tag": "single_object", "include": [{"class": "circle", "count": 1}], "prompt": "a photo of a circle!"})",
      "is not the template text");
  expect_error(
      R"({"tag": "objects", "include": [{"class": "circle", "count": 1}], "prompt": "a photo of a circle"})",
      "unknown tag 'objects'");
  expect_error(R"({"tag": "single_object", "include": [{"class": "circle", "count": 1}], "prompt": )",
               "invalid JSON");
  const auto ok = dir / "ok.jsonl";
  flowgrpo::testing::write_text_file(ok, good + "\n");
  const auto ds = fs::load_shapes_prompts(ok);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds.prompt(0), "a photo of a circle");
  EXPECT_EQ(ds.tag(0), "single_object");
}
