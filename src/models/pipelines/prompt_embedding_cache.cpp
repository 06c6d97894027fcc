#include "flowgrpo/models/pipelines/prompt_embedding_cache.h"

#include "flowgrpo/common/shape_string.h"
#include "flowgrpo/log/logging.h"
#include "flowgrpo/log/progress_bar.h"

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <unordered_set>

namespace flowgrpo::models {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "flowgrpo.prompt_embeddings.v1";

std::string stale_message(const fs::path& path, const std::string& found, const std::string& found_encoder,
                          const std::string& expected) {
  return "prompt cache " + path.string() + " was built by other text encoders or options (fingerprint " +
         found + ", from " + found_encoder + "); this model's is " + expected +
         ". Delete the file to rebuild it, or point model.prompt_cache elsewhere";
}

}  // namespace

PromptEmbeddingCache::PromptEmbeddingCache(io::SafetensorsFile file) : file_(std::move(file)) {}

PromptEmbeddingCache PromptEmbeddingCache::open(const fs::path& path) {
  PromptEmbeddingCache cache(io::SafetensorsFile::open(path));
  cache.path_ = path;
  const auto& meta = cache.file_.metadata();
  auto get = [&](const std::string& key) -> const std::string& {
    const auto it = meta.find(key);
    if (it == meta.end())
      throw std::invalid_argument("prompt cache " + path.string() + ": metadata key '" + key +
                                  "' is missing (not a flowgrpo prompt cache?)");
    return it->second;
  };
  if (get("format") != kFormat)
    throw std::invalid_argument("prompt cache " + path.string() + ": format '" + get("format") +
                                "', expected '" + kFormat + "'");
  cache.fingerprint_ = get("fingerprint");
  cache.encoder_ = get("encoder");
  nlohmann::json prompts;
  try {
    prompts = nlohmann::json::parse(get("prompts"));
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument("prompt cache " + path.string() +
                                ": metadata 'prompts' is not valid JSON: " + e.what());
  }
  if (!prompts.is_array())
    throw std::invalid_argument("prompt cache " + path.string() + ": metadata 'prompts' is not a JSON array");
  for (const auto& p : prompts) {
    if (!p.is_string())
      throw std::invalid_argument("prompt cache " + path.string() +
                                  ": metadata 'prompts' holds a non-string " + p.dump());
    const auto text = p.get<std::string>();
    if (!cache.row_.emplace(text, static_cast<int64_t>(cache.prompts_.size())).second)
      throw std::invalid_argument("prompt cache " + path.string() + ": prompt '" + text + "' appears twice");
    cache.prompts_.push_back(text);
  }
  for (const char* name : {"prompt_embeds", "pooled_prompt_embeds"})
    if (!cache.file_.contains(name))
      throw std::invalid_argument("prompt cache " + path.string() + ": tensor '" + name + "' is missing");
  cache.embeds_ = cache.file_.view("prompt_embeds");
  cache.pooled_ = cache.file_.view("pooled_prompt_embeds");
  const auto n = static_cast<int64_t>(cache.prompts_.size());
  if (cache.embeds_.dim() != 3 || cache.embeds_.size(0) != n || cache.pooled_.dim() != 2 ||
      cache.pooled_.size(0) != n)
    throw std::invalid_argument("prompt cache " + path.string() + ": expected prompt_embeds [" +
                                std::to_string(n) + ",S,D] and pooled_prompt_embeds [" + std::to_string(n) +
                                ",P] for " + std::to_string(n) + " prompts, found " +
                                shape_string(cache.embeds_.sizes()) + " and " +
                                shape_string(cache.pooled_.sizes()));
  return cache;
}

void PromptEmbeddingCache::write(const fs::path& path, const std::vector<std::string>& prompts,
                                 const sampling::Conditioning& embeds, const std::string& fingerprint,
                                 const std::string& encoder_description) {
  std::unordered_set<std::string> seen;
  for (const auto& p : prompts)
    if (!seen.insert(p).second)
      throw std::invalid_argument("prompt cache " + path.string() + ": prompt '" + p + "' given twice");
  const auto n = static_cast<int64_t>(prompts.size());
  if (embeds.encoder_hidden_states.size(0) != n || embeds.pooled_projections.size(0) != n)
    throw std::invalid_argument("prompt cache " + path.string() + ": " + std::to_string(n) +
                                " prompts but embeddings of batch " +
                                std::to_string(embeds.encoder_hidden_states.size(0)) + " / " +
                                std::to_string(embeds.pooled_projections.size(0)));
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path());
  const std::map<std::string, std::string> meta{
      {"format", kFormat},
      {"fingerprint", fingerprint},
      {"encoder", encoder_description},
      {"prompts", nlohmann::json(prompts).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)}};
  io::save_safetensors(path,
                       {{"prompt_embeds", embeds.encoder_hidden_states.detach()},
                        {"pooled_prompt_embeds", embeds.pooled_projections.detach()}},
                       meta);
}

std::vector<std::string> PromptEmbeddingCache::missing(const std::vector<std::string>& prompts) const {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (const auto& p : prompts)
    if (!contains(p) && seen.insert(p).second) out.push_back(p);
  return out;
}

sampling::Conditioning PromptEmbeddingCache::lookup(const std::vector<std::string>& prompts) const {
  std::vector<int64_t> rows;
  rows.reserve(prompts.size());
  for (const auto& p : prompts) {
    const auto it = row_.find(p);
    if (it == row_.end())
      throw std::invalid_argument("prompt cache " + path_.string() + " (" + std::to_string(size()) +
                                  " prompts) does not hold the prompt '" + p +
                                  "'; rebuild it with `flowgrpo-tool encode-prompts` or delete it");
    rows.push_back(it->second);
  }
  const auto index = torch::tensor(rows, torch::kLong);
  return {embeds_.index_select(0, index), pooled_.index_select(0, index)};
}

PromptEmbeddingCache ensure_prompt_cache(const fs::path& path, const std::vector<std::string>& prompts,
                                         const std::string& fingerprint,
                                         const std::string& encoder_description, const PromptEncodeFn& encode,
                                         int64_t batch_size, bool progress) {
  if (batch_size < 1) throw std::invalid_argument("prompt cache: batch size must be >= 1");
  std::vector<std::string> all;
  std::vector<torch::Tensor> embeds, pooled;
  std::vector<std::string> todo;
  if (fs::exists(path)) {
    auto cache = PromptEmbeddingCache::open(path);
    if (cache.fingerprint() != fingerprint)
      throw std::invalid_argument(
          stale_message(path, cache.fingerprint(), cache.encoder_description(), fingerprint));
    todo = cache.missing(prompts);
    if (todo.empty()) return cache;
    all = cache.prompts();
    const auto old = cache.lookup(all);
    embeds.push_back(old.encoder_hidden_states);
    pooled.push_back(old.pooled_projections);
    log::get("pipeline")
        ->info("prompt cache {}: encoding {} prompts it lacks (it holds {})", path.string(), todo.size(),
               all.size());
  } else {
    std::unordered_set<std::string> seen;
    for (const auto& p : prompts)
      if (seen.insert(p).second) todo.push_back(p);
    log::get("pipeline")->info("prompt cache {}: encoding {} prompts", path.string(), todo.size());
  }
  log::ProgressBar bar("encode prompts", static_cast<int64_t>(todo.size()),
                       {progress ? log::ProgressBar::Mode::kAuto : log::ProgressBar::Mode::kSilent});
  for (size_t start = 0; start < todo.size(); start += static_cast<size_t>(batch_size)) {
    const std::vector<std::string> batch(
        todo.begin() + static_cast<std::ptrdiff_t>(start),
        todo.begin() +
            static_cast<std::ptrdiff_t>(std::min(todo.size(), start + static_cast<size_t>(batch_size))));
    torch::NoGradGuard no_grad;
    const auto c = encode(batch);
    embeds.push_back(c.encoder_hidden_states.detach().to(torch::kCPU));
    pooled.push_back(c.pooled_projections.detach().to(torch::kCPU));
    bar.advance(static_cast<int64_t>(batch.size()));
  }
  bar.finish();
  all.insert(all.end(), todo.begin(), todo.end());
  const auto dtype = embeds.back().scalar_type();
  for (auto& t : embeds) t = t.to(dtype);
  for (auto& t : pooled) t = t.to(dtype);
  PromptEmbeddingCache::write(path, all, {torch::cat(embeds), torch::cat(pooled)}, fingerprint,
                              encoder_description);
  return PromptEmbeddingCache::open(path);
}

}  // namespace flowgrpo::models
