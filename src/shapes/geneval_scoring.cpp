#include "flowgrpo/shapes/geneval_scoring.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <stdexcept>

namespace flowgrpo::shapes {

namespace {

using Objects = std::vector<const Detection*>;

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : "\n") + l;
  return out;
}

std::string relations_text(const std::vector<Relation>& rels) {
  std::string out;
  for (Relation r : rels) out += (out.empty() ? "" : " and ") + to_string(r);
  return out;
}

int count_color(const Objects& objects, Color color) {
  return static_cast<int>(
      std::count_if(objects.begin(), objects.end(), [&](const Detection* d) { return d->color == color; }));
}

// GenEval's colour message tail: "1 red, 2 blue" over the colours present.
std::string color_summary(const Objects& objects) {
  std::string out;
  for (Color c : all_colors()) {
    const int n = count_color(objects, c);
    if (n > 0) out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + to_string(c);
  }
  return out;
}

// Checks every object against every target object; returns the failure message or "".
std::string check_position(const Objects& objects, const Objects& targets, const IncludeClause& clause,
                           double threshold) {
  for (const Detection* obj : objects)
    for (const Detection* target : targets) {
      const auto rels = relative_position(obj->box, target->box, threshold);
      if (std::find(rels.begin(), rels.end(), clause.position->relation) == rels.end())
        return "expected " + to_string(clause.shape) + " " + to_string(clause.position->relation) +
               " target, found " + relations_text(rels) + " target";
    }
  return "";
}

}  // namespace

GenevalResult score_geneval(const PromptSpec& spec, const std::vector<Detection>& detections,
                            const ScoringOptions& options) {
  if (options.max_objects < 1) throw std::invalid_argument("score_geneval: max_objects must be >= 1");
  for (size_t k = 0; k < spec.include.size(); ++k)
    if (const auto& p = spec.include[k].position; p && (p->target < 0 || static_cast<size_t>(p->target) >= k))
      throw std::invalid_argument("score_geneval: include[" + std::to_string(k) +
                                  "].position must name an earlier include clause");

  // Per class, most confident first, at most max_objects (evaluate_image's detection loop).
  std::vector<const Detection*> ordered;
  for (const auto& d : detections) ordered.push_back(&d);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const Detection* a, const Detection* b) { return a->confidence > b->confidence; });
  std::map<Shape, Objects> by_class;
  for (const Detection* d : ordered) {
    auto& list = by_class[d->shape];
    if (static_cast<int64_t>(list.size()) < options.max_objects) list.push_back(d);
  }
  auto objects_of = [&](Shape s) -> const Objects& {
    static const Objects kNone;
    const auto it = by_class.find(s);
    return it == by_class.end() ? kNone : it->second;
  };

  GenevalResult result;

  // reward-server evaluate_reward: partial credit and strict correctness.
  {
    bool correct = true;
    std::vector<std::string> reasons;
    std::vector<std::optional<Objects>> matched_groups;
    for (const auto& req : spec.include) {
      const Objects& found = objects_of(req.shape);
      const int n = static_cast<int>(found.size());
      bool matched = true;
      result.score_terms.push_back(1.0 - std::abs(req.count - n) / static_cast<double>(req.count));
      if (n != req.count) {
        correct = matched = false;
        reasons.push_back("expected " + to_string(req.shape) + "==" + std::to_string(req.count) + ", found " +
                          std::to_string(n));
        if (req.color || req.position) result.score_terms.push_back(0.0);
      } else {
        if (req.color) {
          const int n_color = count_color(found, *req.color);
          result.score_terms.push_back(1.0 - std::abs(req.count - n_color) / static_cast<double>(req.count));
          if (n_color != req.count) {
            correct = matched = false;
            reasons.push_back("expected " + to_string(*req.color) + " " + to_string(req.shape) +
                              ">=" + std::to_string(req.count) + ", found " + std::to_string(n_color) + " " +
                              to_string(*req.color) + "; and " + color_summary(found));
          }
        }
        if (req.position && matched) {
          const auto& target = matched_groups[static_cast<size_t>(req.position->target)];
          if (!target) {
            correct = matched = false;
            reasons.push_back("no target for " + to_string(req.shape) + " to be " +
                              to_string(req.position->relation));
            result.score_terms.push_back(0.0);
          } else {
            const std::string failure = check_position(found, *target, req, options.position_threshold);
            if (!failure.empty()) {
              correct = matched = false;
              reasons.push_back(failure);
              result.score_terms.push_back(0.0);
            }
            result.score_terms.push_back(1.0);  // appended whether or not the check failed
          }
        }
      }
      matched_groups.push_back(matched ? std::optional<Objects>(found) : std::nullopt);
    }
    double sum = 0;
    for (double v : result.score_terms) sum += v;
    result.score = result.score_terms.empty() ? 0.0 : sum / static_cast<double>(result.score_terms.size());
    result.strict = correct;
    result.strict_reason = join_lines(reasons);
  }

  // GenEval evaluate: official correctness.
  {
    bool correct = true;
    std::vector<std::string> reasons;
    std::vector<std::optional<Objects>> matched_groups;
    for (const auto& req : spec.include) {
      const Objects& all = objects_of(req.shape);
      const Objects found(all.begin(),
                          all.begin() + std::min<size_t>(all.size(), static_cast<size_t>(req.count)));
      bool matched = true;
      if (static_cast<int>(found.size()) < req.count) {
        correct = matched = false;
        reasons.push_back("expected " + to_string(req.shape) + ">=" + std::to_string(req.count) + ", found " +
                          std::to_string(found.size()));
      } else {
        if (req.color) {
          const int n_color = count_color(found, *req.color);
          if (n_color < req.count) {
            correct = matched = false;
            reasons.push_back("expected " + to_string(*req.color) + " " + to_string(req.shape) +
                              ">=" + std::to_string(req.count) + ", found " + std::to_string(n_color) + " " +
                              to_string(*req.color) + "; and " + color_summary(found));
          }
        }
        if (req.position && matched) {
          const auto& target = matched_groups[static_cast<size_t>(req.position->target)];
          if (!target) {
            correct = matched = false;
            reasons.push_back("no target for " + to_string(req.shape) + " to be " +
                              to_string(req.position->relation));
          } else {
            const std::string failure = check_position(found, *target, req, options.position_threshold);
            if (!failure.empty()) {
              correct = matched = false;
              reasons.push_back(failure);
            }
          }
        }
      }
      matched_groups.push_back(matched ? std::optional<Objects>(found) : std::nullopt);
    }
    for (const auto& req : spec.exclude) {
      const auto n = objects_of(req.shape).size();
      if (static_cast<int64_t>(n) >= req.count) {
        correct = false;
        reasons.push_back("expected " + to_string(req.shape) + "<" + std::to_string(req.count) + ", found " +
                          std::to_string(n));
      }
    }
    result.correct = correct;
    result.reason = join_lines(reasons);
  }
  return result;
}

}  // namespace flowgrpo::shapes
