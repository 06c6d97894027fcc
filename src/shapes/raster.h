#pragma once
// The one definition of each shape's pixels, shared by the renderer (which stamps it) and
// the detector (which fits it to a component's bounding box as a template). Pixel (i, j)
// (row, column) of a w x h box belongs to the shape when its centre lies inside; the tests
// are exact integer arithmetic on doubled coordinates, and every shape touches all four
// sides of its box, so a rendered shape's bounding box is exactly its nominal box.

#include "flowgrpo/shapes/vocabulary.h"

#include <cstdint>
#include <cstdlib>

namespace flowgrpo::shapes::detail {

// Ellipse inscribed in the box: X^2 h^2 + Y^2 w^2 <= w^2 h^2 with X = 2j+1-w, Y = 2i+1-h.
inline bool in_circle(int64_t i, int64_t j, int64_t w, int64_t h) {
  const int64_t x = 2 * j + 1 - w, y = 2 * i + 1 - h;
  return x * x * h * h + y * y * w * w <= w * w * h * h;
}

// Upright isosceles triangle, apex at the top centre, base along the bottom row. Row i
// spans the triangle's width at the row's lower edge, |X| <= (i+1) w / h, so the apex
// row holds one or two pixels and the bottom row the full width.
inline bool in_triangle(int64_t i, int64_t j, int64_t w, int64_t h) {
  return std::llabs(2 * j + 1 - w) * h <= (i + 1) * w;
}

inline bool in_shape(Shape shape, int64_t i, int64_t j, int64_t w, int64_t h) {
  switch (shape) {
    case Shape::kCircle: return in_circle(i, j, w, h);
    case Shape::kTriangle: return in_triangle(i, j, w, h);
    case Shape::kSquare: return true;
  }
  return false;
}

}  // namespace flowgrpo::shapes::detail
