// A bounded randomized-mutation test of the safetensors header parser (issue 14: every
// parser of external input turns a broken file into one clear error naming the file,
// never another exception or a crash). Seeded, a few hundred cases, well under a second.
#include "flowgrpo/io/safetensors.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace fio = flowgrpo::io;
namespace fs = std::filesystem;
using flowgrpo::testing::TempDir;

namespace {

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Tokens that stress a JSON reader: out-of-range numbers, other types, structure.
const std::vector<std::string> kTokens = {"1e999", "-1e999", "18446744073709551616", "-1", "null", "true",
                                          "\"\"", "[]", "{}", "[[[[", "]]", "\"\\ud800\"", "\xff", "\"F64\"",
                                          "\"data_offsets\"", "\"shape\"", ",", ":", "\"__metadata__\""};

std::string mutate(std::string header, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  const int edits = 1 + static_cast<int>(pick(4));
  for (int e = 0; e < edits && !header.empty(); ++e) {
    const size_t at = pick(header.size());
    switch (pick(5)) {
      case 0: header[at] = static_cast<char>(pick(256)); break;                // flip a byte
      case 1: header.erase(at, 1 + pick(8)); break;                            // delete a run
      case 2: header.insert(at, kTokens[pick(kTokens.size())]); break;         // insert a token
      case 3: header.insert(at, header.substr(pick(header.size()), pick(16))); break;  // duplicate
      default: {  // replace a number by an absurd one
        const size_t digit = header.find_first_of("0123456789", at);
        if (digit != std::string::npos) header.replace(digit, 1, kTokens[pick(3)]);
      }
    }
  }
  return header;
}

}  // namespace

TEST(SafetensorsMutation, BrokenHeadersAreOneInvalidArgumentNamingTheFile) {
  TempDir dir;
  const auto valid = dir / "valid.safetensors";
  fio::TensorMap tensors;
  tensors["a.weight"] = torch::arange(6, torch::kFloat).view({2, 3});
  tensors["b.bias"] = torch::tensor({1, 2}, torch::kLong);
  fio::save_safetensors(valid, tensors, {{"format", "pt"}});
  const std::string bytes = read_bytes(valid);
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | static_cast<uint8_t>(bytes[static_cast<size_t>(i)]);
  const std::string header = bytes.substr(8, header_size);
  const std::string data = bytes.substr(8 + header_size);

  std::mt19937_64 rng(20261202);
  const auto path = dir / "mutated.safetensors";
  int opened = 0, rejected = 0;
  for (int iteration = 0; iteration < 400; ++iteration) {
    std::string mutated = mutate(header, rng);
    uint64_t size = mutated.size();
    // Mostly a consistent length prefix (so the JSON itself is exercised), sometimes a wrong one.
    if (iteration % 10 == 0) size = std::uniform_int_distribution<uint64_t>(0, 2 * size + 16)(rng);
    std::string file(8, '\0');
    for (int i = 0; i < 8; ++i) file[static_cast<size_t>(i)] = static_cast<char>((size >> (8 * i)) & 0xFF);
    write_bytes(path, file + mutated + data);
    try {
      const auto f = fio::SafetensorsFile::open(path);
      for (const auto& name : f.names()) (void)f.load(name);
      ++opened;
    } catch (const std::invalid_argument& e) {
      ++rejected;
      EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos)
          << "iteration " << iteration << ": " << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "iteration " << iteration << ": not an invalid_argument: " << e.what() << "\nheader: "
                    << mutated;
    }
  }
  EXPECT_GT(rejected, 300) << "the mutations should break most headers";
  std::printf("  %d mutated headers rejected, %d still valid\n", rejected, opened);
}
