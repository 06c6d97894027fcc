#include "flowgrpo/shapes/geneval_scoring.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace fs = flowgrpo::shapes;
using fs::Color;
using fs::Detection;
using fs::PromptSpec;
using fs::Relation;
using fs::Shape;

namespace {

// A hand-made detection: a 10-px object with its top-left corner at (x, y).
Detection obj(Shape shape, Color color, double x, double y, double confidence = 1.0) {
  Detection d;
  d.shape = shape;
  d.color = color;
  d.box = {x, y, x + 10, y + 10};
  d.centroid_x = x + 5;
  d.centroid_y = y + 5;
  d.area = 80;
  d.confidence = confidence;
  return d;
}

fs::GenevalResult score(const PromptSpec& spec, const std::vector<Detection>& found) {
  return fs::score_geneval(spec, found);
}

}  // namespace

TEST(ShapesScoring, RelativePositionIsGenevals) {
  const fs::Box a{0, 0, 10, 10};
  // Straight left/right/above/below.
  EXPECT_EQ(fs::relative_position(a, {20, 0, 30, 10}), std::vector<Relation>{Relation::kLeftOf});
  EXPECT_EQ(fs::relative_position({20, 0, 30, 10}, a), std::vector<Relation>{Relation::kRightOf});
  EXPECT_EQ(fs::relative_position(a, {0, 20, 10, 30}), std::vector<Relation>{Relation::kAbove});
  EXPECT_EQ(fs::relative_position({0, 20, 10, 30}, a), std::vector<Relation>{Relation::kBelow});
  // Diagonal: both relations (dx = dy = (20 − 2)/√800 = 0.636).
  EXPECT_EQ(fs::relative_position(a, {20, 20, 30, 30}),
            (std::vector<Relation>{Relation::kLeftOf, Relation::kAbove}));
  // Within the margin 0.1·(10 + 10) = 2 px: no relation at all.
  EXPECT_TRUE(fs::relative_position(a, {2, 1, 12, 11}).empty());
  EXPECT_TRUE(fs::relation_offset(a, {2, 1, 12, 11}).none);
  // Offset 12 right, 8 down: dx = 10/√208 = 0.693 > 0.5, dy = 6/√208 = 0.416: left of only.
  const auto off = fs::relation_offset(a, {12, 8, 22, 18});
  EXPECT_NEAR(off.dx, -10 / std::sqrt(208.0), 1e-12);
  EXPECT_NEAR(off.dy, -6 / std::sqrt(208.0), 1e-12);
  EXPECT_EQ(fs::relative_position(a, {12, 8, 22, 18}), std::vector<Relation>{Relation::kLeftOf});
  // The margin scales with the box sizes: a wide target needs a larger offset.
  EXPECT_TRUE(fs::holds(Relation::kLeftOf, a, {8, 0, 18, 10}));    // (8 − 0.1·20) / 8 = 0.75
  EXPECT_FALSE(fs::holds(Relation::kLeftOf, a, {-1, 0, 25, 10}));  // (7 − 0.1·36) / 7 = 0.49
}

TEST(ShapesScoring, SingleObject) {
  const auto spec = PromptSpec::single_object(Shape::kTriangle);
  auto r = score(spec, {obj(Shape::kTriangle, Color::kRed, 3, 3)});
  EXPECT_TRUE(r.strict && r.correct);
  EXPECT_EQ(r.score, 1.0);
  r = score(spec, {});  // nothing: count credit 1 − 1/1 = 0
  EXPECT_FALSE(r.strict || r.correct);
  EXPECT_EQ(r.score, 0.0);
  EXPECT_EQ(r.strict_reason, "expected triangle==1, found 0");
  EXPECT_EQ(r.reason, "expected triangle>=1, found 0");
  // Two triangles: GenEval accepts (>= 1), the strict rule does not; the count credit
  // 1 − |1 − 2|/1 = 0. Three: −1 (quirk 1: not clamped).
  r = score(spec, {obj(Shape::kTriangle, Color::kRed, 3, 3), obj(Shape::kTriangle, Color::kBlue, 20, 3)});
  EXPECT_TRUE(r.correct);
  EXPECT_FALSE(r.strict);
  EXPECT_EQ(r.score, 0.0);
  r = score(spec, {obj(Shape::kTriangle, Color::kRed, 3, 3), obj(Shape::kTriangle, Color::kBlue, 20, 3),
                   obj(Shape::kTriangle, Color::kCyan, 3, 20)});
  EXPECT_EQ(r.score, -1.0);
  // Other shapes do not matter.
  r = score(spec, {obj(Shape::kTriangle, Color::kRed, 3, 3), obj(Shape::kCircle, Color::kRed, 20, 3)});
  EXPECT_TRUE(r.strict && r.correct);
}

TEST(ShapesScoring, TwoObject) {
  const auto spec = PromptSpec::two_object(Shape::kCircle, Shape::kSquare);
  auto r = score(spec, {obj(Shape::kCircle, Color::kRed, 3, 3), obj(Shape::kSquare, Color::kRed, 20, 20)});
  EXPECT_TRUE(r.strict && r.correct);
  EXPECT_EQ(r.score, 1.0);
  r = score(spec, {obj(Shape::kCircle, Color::kRed, 3, 3)});  // square missing: mean(1, 0)
  EXPECT_FALSE(r.strict || r.correct);
  EXPECT_EQ(r.score, 0.5);
  EXPECT_EQ(r.score_terms, (std::vector<double>{1.0, 0.0}));
}

TEST(ShapesScoring, Counting) {
  const auto spec = PromptSpec::counting(Shape::kSquare, 3);
  std::vector<Detection> three = {obj(Shape::kSquare, Color::kRed, 1, 1),
                                  obj(Shape::kSquare, Color::kBlue, 20, 1),
                                  obj(Shape::kSquare, Color::kGreen, 1, 20)};
  auto r = score(spec, three);
  EXPECT_TRUE(r.strict && r.correct);
  EXPECT_EQ(r.score, 1.0);
  // 3 requested, 2 found: 1 − 1/3.
  r = score(spec, {three[0], three[1]});
  EXPECT_DOUBLE_EQ(r.score, 1.0 - 1.0 / 3.0);
  EXPECT_FALSE(r.strict || r.correct);
  // 4 found: strict fails, score 1 − 1/3; GenEval's exclude clause {square, 4} fails too.
  auto four = three;
  four.push_back(obj(Shape::kSquare, Color::kCyan, 20, 20));
  r = score(spec, four);
  EXPECT_DOUBLE_EQ(r.score, 1.0 - 1.0 / 3.0);
  EXPECT_FALSE(r.strict);
  EXPECT_FALSE(r.correct);
  EXPECT_EQ(r.reason, "expected square<4, found 4");
  // Without the exclude clause GenEval would accept four (>= 3): the exclude clause is
  // what makes counting exact in the official metric; the server ignores it (quirk 5).
  auto no_exclude = spec;
  no_exclude.exclude.clear();
  EXPECT_TRUE(score(no_exclude, four).correct);
  EXPECT_EQ(score(no_exclude, four).score, score(spec, four).score);
  // Counts are capped at max_objects per class (MAX_OBJECTS = 16).
  std::vector<Detection> many(20, obj(Shape::kSquare, Color::kRed, 1, 1));
  EXPECT_DOUBLE_EQ(score(spec, many).score, 1.0 - 13.0 / 3.0);
}

TEST(ShapesScoring, Colors) {
  const auto spec = PromptSpec::colors(Color::kRed, Shape::kCircle);
  auto r = score(spec, {obj(Shape::kCircle, Color::kRed, 3, 3)});
  EXPECT_TRUE(r.strict && r.correct);
  EXPECT_EQ(r.score_terms, (std::vector<double>{1.0, 1.0}));
  // Wrong colour: count 1, colour 0.
  r = score(spec, {obj(Shape::kCircle, Color::kBlue, 3, 3)});
  EXPECT_FALSE(r.strict || r.correct);
  EXPECT_EQ(r.score_terms, (std::vector<double>{1.0, 0.0}));
  EXPECT_EQ(r.score, 0.5);
  EXPECT_EQ(r.strict_reason, "expected red circle>=1, found 0 red; and 1 blue");
  // No circle: count 0 and one 0 for the colour (quirk 2).
  r = score(spec, {obj(Shape::kSquare, Color::kRed, 3, 3)});
  EXPECT_EQ(r.score_terms, (std::vector<double>{0.0, 0.0}));
  // Two circles, the most confident red: GenEval checks only the top one and accepts;
  // strict counts two and fails; the score's colour term is skipped (count wrong).
  r = score(spec,
            {obj(Shape::kCircle, Color::kBlue, 20, 3, 0.7), obj(Shape::kCircle, Color::kRed, 3, 3, 0.9)});
  EXPECT_TRUE(r.correct);
  EXPECT_FALSE(r.strict);
  EXPECT_EQ(r.score_terms, (std::vector<double>{0.0, 0.0}));
  // ...and with the blue one more confident GenEval fails.
  r = score(spec,
            {obj(Shape::kCircle, Color::kBlue, 20, 3, 0.95), obj(Shape::kCircle, Color::kRed, 3, 3, 0.9)});
  EXPECT_FALSE(r.correct);
}

TEST(ShapesScoring, Position) {
  const auto spec = PromptSpec::position(Shape::kCircle, Relation::kLeftOf, Shape::kSquare);
  const auto circle_left = obj(Shape::kCircle, Color::kRed, 2, 10);
  const auto square_right = obj(Shape::kSquare, Color::kBlue, 20, 10);
  auto r = score(spec, {circle_left, square_right});
  EXPECT_TRUE(r.strict && r.correct);
  EXPECT_EQ(r.score_terms, (std::vector<double>{1.0, 1.0, 1.0}));
  // Violated (circle right of the square): 0 and then 1 (quirk 3): score 3/4.
  r = score(spec, {obj(Shape::kCircle, Color::kRed, 20, 10), obj(Shape::kSquare, Color::kBlue, 2, 10)});
  EXPECT_FALSE(r.strict || r.correct);
  EXPECT_EQ(r.score_terms, (std::vector<double>{1.0, 1.0, 0.0, 1.0}));
  EXPECT_EQ(r.score, 0.75);
  EXPECT_EQ(r.strict_reason, "expected circle left of target, found right of target");
  // Too close to call (inside the 0.1 margin): no relation, fails.
  r = score(spec, {obj(Shape::kCircle, Color::kRed, 10, 10), obj(Shape::kSquare, Color::kBlue, 11, 11)});
  EXPECT_FALSE(r.strict || r.correct);
  EXPECT_EQ(r.strict_reason, "expected circle left of target, found  target");
  // Target missing: square count 0, circle count 1, then a single 0 for "no target".
  r = score(spec, {circle_left});
  EXPECT_EQ(r.score_terms, (std::vector<double>{0.0, 1.0, 0.0}));
  EXPECT_NE(r.strict_reason.find("no target for circle to be left of"), std::string::npos);
  // Subject missing: one 0 for the count and one for the position (quirk 2).
  r = score(spec, {square_right});
  EXPECT_EQ(r.score_terms, (std::vector<double>{1.0, 0.0, 0.0}));
  // Two squares: the square clause fails strict (no target), but GenEval takes the most
  // confident square as the target and accepts if the circle is left of it.
  r = score(spec, {circle_left, square_right, obj(Shape::kSquare, Color::kGreen, 2, 22, 0.5)});
  EXPECT_FALSE(r.strict);
  EXPECT_TRUE(r.correct);
  EXPECT_EQ(r.score_terms, (std::vector<double>{0.0, 1.0, 0.0}));
}

TEST(ShapesScoring, ColorAttr) {
  const auto spec = PromptSpec::color_attr(Color::kRed, Shape::kSquare, Color::kGreen, Shape::kCircle);
  auto r = score(spec, {obj(Shape::kSquare, Color::kRed, 2, 2), obj(Shape::kCircle, Color::kGreen, 20, 20)});
  EXPECT_TRUE(r.strict && r.correct);
  EXPECT_EQ(r.score_terms, (std::vector<double>{1.0, 1.0, 1.0, 1.0}));
  // Colours swapped: both colour terms 0.
  r = score(spec, {obj(Shape::kSquare, Color::kGreen, 2, 2), obj(Shape::kCircle, Color::kRed, 20, 20)});
  EXPECT_FALSE(r.strict || r.correct);
  EXPECT_EQ(r.score_terms, (std::vector<double>{1.0, 0.0, 1.0, 0.0}));
  EXPECT_EQ(r.score, 0.5);
  // One binding right.
  r = score(spec, {obj(Shape::kSquare, Color::kRed, 2, 2), obj(Shape::kCircle, Color::kBlue, 20, 20)});
  EXPECT_EQ(r.score, 0.75);
}

TEST(ShapesScoring, QuirksOfTheServer) {
  // A clause with a colour *and* a position whose colour fails gets no position entry
  // (quirk 4); GenEval generates no such clause, but the rule is the server's.
  PromptSpec spec = PromptSpec::position(Shape::kCircle, Relation::kAbove, Shape::kSquare);
  spec.include[1].color = Color::kRed;
  auto r = score(spec, {obj(Shape::kSquare, Color::kBlue, 10, 20), obj(Shape::kCircle, Color::kBlue, 10, 2)});
  EXPECT_EQ(r.score_terms, (std::vector<double>{1.0, 1.0, 0.0}));
  // Empty include: score 0 (and both verdicts vacuously true).
  r = fs::score_geneval(PromptSpec{fs::Tag::kSingleObject, {}, {}}, {});
  EXPECT_EQ(r.score, 0.0);
  EXPECT_TRUE(r.strict && r.correct);
  // A position naming a later clause is refused.
  PromptSpec bad = PromptSpec::single_object(Shape::kCircle);
  bad.include[0].position = fs::PositionRequirement{Relation::kAbove, 0};
  EXPECT_THROW(fs::score_geneval(bad, {}), std::invalid_argument);
}
