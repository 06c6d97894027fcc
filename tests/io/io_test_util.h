#pragma once
// Helpers shared by the io tests: building safetensors files byte by byte.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace flowgrpo::io::testing {

/// 8-byte little-endian length prefix.
inline std::string u64_le(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

/// A safetensors image: prefix (the header's length unless overridden), header, data.
inline std::string safetensors_bytes(const std::string& header, const std::string& data = "",
                                     int64_t length_override = -1) {
  const uint64_t length = length_override >= 0 ? static_cast<uint64_t>(length_override) : header.size();
  return u64_le(length) + header + data;
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("could not write " + path.string());
}

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Little-endian bytes of a float.
inline std::string f32_bytes(std::initializer_list<float> values) {
  std::string out;
  for (float v : values) out.append(reinterpret_cast<const char*>(&v), sizeof(v));
  return out;
}

}  // namespace flowgrpo::io::testing
