#include "flowgrpo/io/file_fingerprint.h"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace flowgrpo::io {

namespace {

constexpr uint64_t kFnvOffset = 1469598103934665603ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;
constexpr uint64_t kWholeFileLimit = 8ull << 20;
constexpr uint64_t kHeadBytes = 1ull << 20;
constexpr uint64_t kBlockBytes = 64ull << 10;
constexpr int kSampledBlocks = 64;

void mix(uint64_t& h, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= kFnvPrime;
  }
}

void mix_u64(uint64_t& h, uint64_t v) {
  mix(h, &v, sizeof v);
}

void mix_range(uint64_t& h, std::ifstream& in, uint64_t offset, uint64_t length,
               const std::filesystem::path& path) {
  std::vector<char> buffer(static_cast<size_t>(std::min<uint64_t>(length, 1ull << 20)));
  in.seekg(static_cast<std::streamoff>(offset));
  while (length > 0) {
    const auto n = static_cast<size_t>(std::min<uint64_t>(length, buffer.size()));
    in.read(buffer.data(), static_cast<std::streamsize>(n));
    if (static_cast<size_t>(in.gcount()) != n) throw std::invalid_argument("could not read " + path.string());
    mix(h, buffer.data(), n);
    length -= n;
  }
}

}  // namespace

std::string fingerprint_files(const std::vector<std::pair<std::string, std::filesystem::path>>& files) {
  uint64_t h = kFnvOffset;
  for (const auto& [role, path] : files) {
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(path, ec);
    if (ec) throw std::invalid_argument("cannot fingerprint " + path.string() + ": " + ec.message());
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::invalid_argument("cannot open " + path.string());
    mix(h, role.data(), role.size());
    mix_u64(h, size);
    if (size <= kWholeFileLimit) {
      mix_range(h, in, 0, size, path);
      continue;
    }
    mix_range(h, in, 0, kHeadBytes, path);
    mix_range(h, in, size - kBlockBytes, kBlockBytes, path);
    const uint64_t span = size - kHeadBytes - kBlockBytes;
    for (int i = 0; i < kSampledBlocks; ++i) {
      const uint64_t start = kHeadBytes + span * static_cast<uint64_t>(i) / kSampledBlocks;
      mix_range(h, in, start, std::min(kBlockBytes, size - start), path);
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

}  // namespace flowgrpo::io
