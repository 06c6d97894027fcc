#include "flowgrpo/shapes/geometry.h"

#include <algorithm>
#include <cmath>

namespace flowgrpo::shapes {

namespace {

double sign(double v) {
  return v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0);
}

}  // namespace

RelationOffset relation_offset(const Box& a, const Box& b, double threshold) {
  // evaluate_images.py::relative_position: box centres, box sizes |x1 − x0|, |y1 − y0|.
  const double ox = a.center_x() - b.center_x();
  const double oy = a.center_y() - b.center_y();
  const double rx =
      std::max(std::abs(ox) - threshold * (std::abs(a.width()) + std::abs(b.width())), 0.0) * sign(ox);
  const double ry =
      std::max(std::abs(oy) - threshold * (std::abs(a.height()) + std::abs(b.height())), 0.0) * sign(oy);
  RelationOffset out;
  if (std::abs(rx) < 1e-3 && std::abs(ry) < 1e-3) return out;
  const double norm = std::hypot(ox, oy);
  out.dx = rx / norm;
  out.dy = ry / norm;
  out.none = false;
  return out;
}

std::vector<Relation> relative_position(const Box& a, const Box& b, double threshold) {
  const RelationOffset o = relation_offset(a, b, threshold);
  std::vector<Relation> out;
  if (o.none) return out;
  if (o.dx < -0.5) out.push_back(Relation::kLeftOf);
  if (o.dx > 0.5) out.push_back(Relation::kRightOf);
  if (o.dy < -0.5) out.push_back(Relation::kAbove);
  if (o.dy > 0.5) out.push_back(Relation::kBelow);
  return out;
}

bool holds(Relation relation, const Box& a, const Box& b, double threshold) {
  const auto rels = relative_position(a, b, threshold);
  return std::find(rels.begin(), rels.end(), relation) != rels.end();
}

double along(Relation relation, const RelationOffset& o) {
  switch (relation) {
    case Relation::kLeftOf: return -o.dx;
    case Relation::kRightOf: return o.dx;
    case Relation::kAbove: return -o.dy;
    case Relation::kBelow: return o.dy;
  }
  return 0;
}

double across(Relation relation, const RelationOffset& o) {
  return (relation == Relation::kLeftOf || relation == Relation::kRightOf) ? std::abs(o.dy) : std::abs(o.dx);
}

}  // namespace flowgrpo::shapes
