#pragma once
/// @file geometry.h
/// Boxes and GenEval's spatial-relation rule (djghosh13/geneval
/// evaluation/evaluate_images.py::relative_position, POSITION_THRESHOLD = 0.1), shared by
/// the scorer, which judges relations with it, and the renderer, which places objects so
/// that it holds with a margin.

#include "flowgrpo/shapes/vocabulary.h"

#include <vector>

namespace flowgrpo::shapes {

/// GenEval's position margin: each box's size times this is discounted from the offset.
inline constexpr double kPositionThreshold = 0.1;

/// An axis-aligned box in pixel-edge coordinates: it covers columns [x0, x1) and rows
/// [y0, y1), so a shape drawn on pixels 3..12 has x0 = 3, x1 = 13 and width 10. Image y
/// grows downwards, as in GenEval's boxes.
struct Box {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  double width() const { return x1 - x0; }
  double height() const { return y1 - y0; }
  double center_x() const { return 0.5 * (x0 + x1); }
  double center_y() const { return 0.5 * (y0 + y1); }
  bool operator==(const Box& o) const { return x0 == o.x0 && y0 == o.y0 && x1 == o.x1 && y1 == o.y1; }
};

/// GenEval's normalised, margin-reduced offset of `a` relative to `b`: with the box
/// centres' offset o = c_a − c_b and sizes d_a, d_b, r = max(|o| − t·(d_a + d_b), 0)·sign(o)
/// per axis and the result is r / ‖o‖. `none` is true when |r| < 1e-3 on both axes (GenEval
/// then reports no relation; dx = dy = 0).
struct RelationOffset {
  double dx = 0, dy = 0;
  bool none = true;
};
RelationOffset relation_offset(const Box& a, const Box& b, double threshold = kPositionThreshold);

/// The relations GenEval reports for `a` relative to `b`: "left of" if dx < −0.5,
/// "right of" if dx > 0.5, "above" if dy < −0.5, "below" if dy > 0.5 (dx, dy from
/// relation_offset). Zero, one or two relations, in that order.
std::vector<Relation> relative_position(const Box& a, const Box& b, double threshold = kPositionThreshold);

/// Whether `relation` is among relative_position(a, b, threshold).
bool holds(Relation relation, const Box& a, const Box& b, double threshold = kPositionThreshold);

/// The component of relation_offset along `relation`'s direction (dx for "right of", −dx
/// for "left of", dy for "below", −dy for "above"); the relation holds when it is > 0.5.
double along(Relation relation, const RelationOffset& offset);
/// The component across `relation`'s direction (|dy| for left/right, |dx| for above/below).
double across(Relation relation, const RelationOffset& offset);

}  // namespace flowgrpo::shapes
