#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/common/shape_string.h"

#include "flowgrpo/common/error.h"
#include "flowgrpo/log/logging.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <utility>

// The format is little-endian and views alias the file bytes directly.
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "flowgrpo's safetensors reader assumes a little-endian host"
#endif

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace flowgrpo::io {
namespace {

// The official reader's limit; it guards against allocating for absurd headers.
constexpr uint64_t kMaxHeaderSize = 100'000'000;
constexpr uint64_t kLengthPrefix = 8;

std::string errno_text(int error) {
  return std::strerror(error);
}

/// A read-only private mapping of a whole file. munmap on destruction.
class Mapping {
 public:
  explicit Mapping(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int error = errno;
      throw std::invalid_argument("cannot open safetensors file " + path.string() + ": " + errno_text(error));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int error = errno;
      ::close(fd);
      throw std::runtime_error("cannot stat " + path.string() + ": " + errno_text(error));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      throw std::invalid_argument("safetensors path " + path.string() + " is not a regular file");
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {  // mmap rejects length 0; an empty file fails validation anyway
      void* addr = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (addr == MAP_FAILED) {
        const int error = errno;
        ::close(fd);
        throw std::runtime_error("cannot memory-map " + path.string() + ": " + errno_text(error));
      }
      data_ = static_cast<const uint8_t*>(addr);
    }
    ::close(fd);  // the mapping keeps its own reference to the file
  }
  ~Mapping() {
    if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

/// Builds the errors of one file: "invalid safetensors file <path>: <what>".
class Invalid {
 public:
  explicit Invalid(const fs::path& path) : prefix_("invalid safetensors file " + path.string() + ": ") {}
  std::invalid_argument operator()(const std::string& what) const {
    return std::invalid_argument(prefix_ + what);
  }
  std::invalid_argument tensor(const std::string& name, const std::string& what) const {
    return std::invalid_argument(prefix_ + "tensor '" + name + "': " + what);
  }

 private:
  std::string prefix_;
};

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

/// a * b, or false on uint64 overflow.
bool checked_mul(uint64_t a, uint64_t b, uint64_t& out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return false;
  out = a * b;
  return true;
}

TensorInfo parse_tensor_entry(const std::string& name, const json& entry, const Invalid& invalid) {
  if (!entry.is_object()) {
    throw invalid.tensor(name, "entry is a JSON " + std::string(entry.type_name()) + ", not an object");
  }
  TensorInfo info;
  info.name = name;

  const auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end()) throw invalid.tensor(name, "missing \"dtype\"");
  if (!dtype_it->is_string()) throw invalid.tensor(name, "\"dtype\" is not a string");
  try {
    info.dtype = parse_dtype(dtype_it->get<std::string>());
  } catch (const std::invalid_argument& e) {
    throw invalid.tensor(name, e.what());
  }

  const auto shape_it = entry.find("shape");
  if (shape_it == entry.end()) throw invalid.tensor(name, "missing \"shape\"");
  if (!shape_it->is_array()) throw invalid.tensor(name, "\"shape\" is not an array");
  uint64_t numel = 1;
  bool numel_overflow = false;
  for (const auto& dim : *shape_it) {
    // nlohmann keeps non-negative integers as unsigned and negative ones as signed.
    if (dim.is_number_integer() && !dim.is_number_unsigned()) {
      throw invalid.tensor(name, "shape " + shape_it->dump() + " has a negative dimension");
    }
    if (!dim.is_number_unsigned()) {
      throw invalid.tensor(name, "shape " + shape_it->dump() + " holds a non-integer");
    }
    const uint64_t d = dim.get<uint64_t>();
    if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw invalid.tensor(name, "shape " + shape_it->dump() + " has a dimension too large");
    }
    info.shape.push_back(static_cast<int64_t>(d));
    if (!checked_mul(numel, d, numel)) numel_overflow = true;
  }
  uint64_t nbytes = 0;
  if (numel_overflow || numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
      !checked_mul(numel, element_size(info.dtype), nbytes)) {
    // A zero dimension makes the product 0 whatever overflowed before it.
    if (std::find(info.shape.begin(), info.shape.end(), 0) == info.shape.end()) {
      throw invalid.tensor(name, "shape " + shape_it->dump() + " has too many elements");
    }
    nbytes = 0;
  }

  const auto offsets_it = entry.find("data_offsets");
  if (offsets_it == entry.end()) throw invalid.tensor(name, "missing \"data_offsets\"");
  const json& offsets = *offsets_it;
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    throw invalid.tensor(name,
                         "\"data_offsets\" " + offsets.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + " is not a pair of non-negative integers");
  }
  info.data_begin = offsets[0].get<uint64_t>();
  info.data_end = offsets[1].get<uint64_t>();
  if (info.data_end < info.data_begin) {
    throw invalid.tensor(name, "data_offsets " + offsets.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + " end before they begin");
  }
  if (info.data_end - info.data_begin != nbytes) {
    throw invalid.tensor(name, "data_offsets " + offsets.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + " span " +
                                   std::to_string(info.data_end - info.data_begin) + " bytes but shape " +
                                   shape_string(info.shape) + " of " + to_string(info.dtype) + " needs " +
                                   std::to_string(nbytes));
  }
  return info;
}

std::map<std::string, std::string> parse_metadata(const json& value, const Invalid& invalid) {
  std::map<std::string, std::string> metadata;
  if (value.is_null()) return metadata;  // the official reader accepts null as "no metadata"
  if (!value.is_object()) {
    throw invalid("\"__metadata__\" is a JSON " + std::string(value.type_name()) +
                  ", not an object of strings");
  }
  for (const auto& [key, v] : value.items()) {
    if (!v.is_string()) {
      throw invalid("\"__metadata__\" value for key '" + key + "' is a JSON " + std::string(v.type_name()) +
                    ", not a string");
    }
    metadata.emplace(key, v.get<std::string>());
  }
  return metadata;
}

}  // namespace

int64_t TensorInfo::numel() const {
  // A validated shape's product fits int64 unless a zero dimension follows
  // dimensions whose product overflows; check for zero first to stay defined.
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

struct SafetensorsFile::State {
  fs::path path;
  std::map<std::string, std::string> metadata;
  std::vector<TensorInfo> tensors;  // sorted by name
  std::map<std::string, size_t, std::less<>> index;
  std::shared_ptr<const Mapping> mapping;
  uint64_t data_start = 0;  // 8 + N
};

SafetensorsFile::SafetensorsFile(std::shared_ptr<const State> state) : state_(std::move(state)) {}

SafetensorsFile SafetensorsFile::open(const fs::path& path) {
  const Invalid invalid(path);
  auto state = std::make_shared<State>();
  state->path = path;
  state->mapping = std::make_shared<const Mapping>(path);
  const uint8_t* bytes = state->mapping->data();
  const uint64_t file_size = state->mapping->size();

  if (file_size < kLengthPrefix) {
    throw invalid("file is " + std::to_string(file_size) + " bytes, shorter than the 8-byte header length");
  }
  const uint64_t header_size = read_u64_le(bytes);
  if (header_size > kMaxHeaderSize) {
    throw invalid("header length " + std::to_string(header_size) + " exceeds the limit of " +
                  std::to_string(kMaxHeaderSize) + " bytes");
  }
  if (header_size > file_size - kLengthPrefix) {
    throw invalid("header length " + std::to_string(header_size) + " exceeds the " +
                  std::to_string(file_size - kLengthPrefix) + " bytes after the length prefix (file size " +
                  std::to_string(file_size) + ")");
  }
  const char* header = reinterpret_cast<const char*>(bytes + kLengthPrefix);
  if (header_size == 0 || header[0] != '{') {
    throw invalid("header does not start with '{' (it must be a JSON object)");
  }
  // nlohmann's lexer takes a NUL byte for the end of input, which would silently
  // accept NUL padding or ignore whatever follows a NUL; raw NUL is never valid JSON.
  if (const void* nul = std::memchr(header, '\0', header_size)) {
    throw invalid("header is not valid JSON: it contains a NUL byte at offset " +
                  std::to_string(static_cast<const char*>(nul) - header));
  }

  // nlohmann keeps the last of duplicate keys silently; a duplicated tensor name
  // would make the file ambiguous, so the top-level keys are tracked while parsing.
  std::set<std::string> seen;
  std::string duplicate;
  json::parser_callback_t on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && duplicate.empty() &&
        !seen.insert(parsed.get<std::string>()).second) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  json root;
  try {
    // Trailing spaces (the official padding) are whitespace to the parser.
    root = json::parse(header, header + header_size, on_event);
  } catch (const json::exception& e) {
    throw invalid(std::string("header is not valid JSON: ") + e.what());
  }
  if (!root.is_object()) {
    throw invalid("header is a JSON " + std::string(root.type_name()) + ", not an object");
  }
  if (!duplicate.empty()) throw invalid("header lists '" + duplicate + "' more than once");

  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      state->metadata = parse_metadata(value, invalid);
    } else {
      state->tensors.push_back(parse_tensor_entry(key, value, invalid));
    }
  }

  // The tensors must tile the data buffer exactly: sorted by offset, each begins
  // where the previous ended, the first at 0 and the last at the buffer's end.
  std::vector<const TensorInfo*> by_offset;
  by_offset.reserve(state->tensors.size());
  for (const auto& t : state->tensors) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return std::tie(a->data_begin, a->data_end, a->name) < std::tie(b->data_begin, b->data_end, b->name);
  });
  const uint64_t buffer_size = file_size - kLengthPrefix - header_size;
  uint64_t expected = 0;
  const TensorInfo* previous = nullptr;
  for (const TensorInfo* t : by_offset) {
    if (t->data_begin < expected) {
      throw invalid.tensor(t->name, "data_offsets [" + std::to_string(t->data_begin) + ", " +
                                        std::to_string(t->data_end) + "] overlap tensor '" + previous->name +
                                        "' (which ends at " + std::to_string(expected) + ")");
    }
    if (t->data_begin > expected) {
      throw invalid.tensor(t->name, "gap of " + std::to_string(t->data_begin - expected) +
                                        " bytes in the data buffer before this tensor (begins at " +
                                        std::to_string(t->data_begin) + ", previous data ends at " +
                                        std::to_string(expected) + ")");
    }
    if (t->data_end > buffer_size) {
      throw invalid.tensor(t->name, "data ends at " + std::to_string(t->data_end) + ", beyond the " +
                                        std::to_string(buffer_size) + "-byte data buffer (file truncated?)");
    }
    expected = t->data_end;
    previous = t;
  }
  if (expected != buffer_size) {
    throw invalid(std::to_string(buffer_size - expected) +
                  " trailing bytes after the last tensor's data (data ends at " + std::to_string(expected) +
                  ", buffer holds " + std::to_string(buffer_size) + " bytes)");
  }

  std::sort(state->tensors.begin(), state->tensors.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
  for (size_t i = 0; i < state->tensors.size(); ++i) state->index.emplace(state->tensors[i].name, i);
  state->data_start = kLengthPrefix + header_size;

  log::get("io")->debug("opened {}: {} tensors, {} bytes of data", path.string(), state->tensors.size(),
                        buffer_size);
  return SafetensorsFile(std::move(state));
}

const fs::path& SafetensorsFile::path() const {
  return state_->path;
}

const std::map<std::string, std::string>& SafetensorsFile::metadata() const {
  return state_->metadata;
}

const std::vector<TensorInfo>& SafetensorsFile::tensors() const {
  return state_->tensors;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(state_->tensors.size());
  for (const auto& t : state_->tensors) out.push_back(t.name);
  return out;
}

bool SafetensorsFile::contains(const std::string& name) const {
  return state_->index.count(name) != 0;
}

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  const auto it = state_->index.find(name);
  if (it == state_->index.end()) {
    throw std::invalid_argument("safetensors file " + state_->path.string() + " has no tensor '" + name +
                                "'");
  }
  return state_->tensors[it->second];
}

torch::Tensor SafetensorsFile::make_tensor(const TensorInfo& info, bool copy) const {
  torch::ScalarType type{};
  try {
    type = to_scalar_type(info.dtype);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("safetensors file " + state_->path.string() + ": tensor '" + info.name +
                                "': " + e.what());
  }
  const auto options = torch::TensorOptions().dtype(type).device(torch::kCPU);
  const uint8_t* data = state_->mapping->data() + state_->data_start + info.data_begin;
  const size_t nbytes = static_cast<size_t>(info.nbytes());
  if (info.dtype == DType::kBool) {
    // Any byte but 0/1 in a bool tensor is undefined behaviour in LibTorch kernels.
    if (std::any_of(data, data + nbytes, [](uint8_t b) { return b > 1; })) {
      throw std::invalid_argument("invalid safetensors file " + state_->path.string() + ": tensor '" +
                                  info.name + "': BOOL data holds a byte other than 0 or 1");
    }
  }
  const bool aligned = reinterpret_cast<uintptr_t>(data) % element_size(info.dtype) == 0;
  if (copy || !aligned || nbytes == 0) {
    // Misaligned data cannot be aliased as the element type (UB), so it is copied bytewise.
    torch::Tensor out = torch::empty(info.shape, options);
    if (nbytes != 0) std::memcpy(out.data_ptr(), data, nbytes);
    return out;
  }
  // The deleter owns a reference to the mapping: the tensor keeps the file mapped.
  std::shared_ptr<const Mapping> keep_alive = state_->mapping;
  return torch::from_blob(
      const_cast<uint8_t*>(data), info.shape, [keep_alive](void*) {}, options);
}

torch::Tensor SafetensorsFile::view(const std::string& name) const {
  return make_tensor(info(name), /*copy=*/false);
}

torch::Tensor SafetensorsFile::load(const std::string& name) const {
  return make_tensor(info(name), /*copy=*/true);
}

TensorMap load_safetensors(const fs::path& path) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  TensorMap out;
  for (const auto& t : file.tensors()) out.emplace(t.name, file.load(t.name));
  return out;
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------
namespace {

/// Creates a temporary file next to the target; removes it unless commit() ran.
class TempFile {
 public:
  explicit TempFile(const fs::path& target) : target_(target) {
    static std::atomic<uint64_t> counter{0};
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    // Hidden, unique per process and call, in the same directory so rename() is atomic.
    path_ = dir / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
                   std::to_string(counter++));
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0) {
      const int error = errno;
      fail(error, "cannot create temporary file " + path_.string());
    }
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  void write(const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
      // Linux writes at most ~2 GiB per call; larger tensors take several.
      const size_t chunk = std::min<size_t>(size, size_t{1} << 30);
      const ssize_t n = ::write(fd_, p, chunk);
      if (n < 0) {
        const int error = errno;
        if (error == EINTR) continue;
        fail(error, "cannot write " + path_.string());
      }
      p += n;
      size -= static_cast<size_t>(n);
    }
  }

  void commit() {
    if (::fsync(fd_) != 0) {
      const int error = errno;
      fail(error, "cannot fsync " + path_.string());
    }
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
      const int error = errno;
      fail(error, "cannot close " + path_.string());
    }
    if (::rename(path_.c_str(), target_.c_str()) != 0) {
      const int error = errno;
      fail(error, "cannot rename " + path_.string() + " to it");
    }
    committed_ = true;
    // Make the rename itself durable. Some file systems refuse fsync on a
    // directory; the data is already safe then, so that is not an error.
    const fs::path dir = target_.has_parent_path() ? target_.parent_path() : fs::path(".");
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
      ::fsync(dir_fd);
      ::close(dir_fd);
    }
  }

 private:
  // Takes errno by value: callers read it before building a message (whose
  // allocation could overwrite it).
  [[noreturn]] void fail(int error, const std::string& what) const {
    throw std::runtime_error("saving safetensors file " + target_.string() + ": " + what + ": " +
                             errno_text(error));
  }

  fs::path target_;
  fs::path path_;
  int fd_ = -1;
  bool committed_ = false;
};

struct PendingTensor {
  const std::string* name;
  DType dtype;
  torch::Tensor data;  // CPU, contiguous
};

}  // namespace

void save_safetensors(const fs::path& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata) {
  const std::string context = "saving safetensors file " + path.string();
  std::vector<PendingTensor> pending;
  pending.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    const auto bad = [&](const std::string& what) {
      return std::invalid_argument(context + ": tensor '" + name + "': " + what);
    };
    if (name == "__metadata__") throw bad("the name is reserved for the header's metadata");
    if (!tensor.defined()) throw bad("tensor is undefined");
    if (tensor.layout() != torch::kStrided) throw bad("only dense (strided) tensors can be saved");
    DType dtype{};
    try {
      dtype = from_scalar_type(tensor.scalar_type());
    } catch (const std::invalid_argument& e) {
      throw bad(e.what());
    }
    pending.push_back({&name, dtype, tensor.detach().to(torch::kCPU).contiguous()});
  }
  // The official writer's order: larger elements first so every tensor stays aligned
  // for its type once the header is padded to 8; ties by name (the map is sorted).
  std::stable_sort(pending.begin(), pending.end(), [](const PendingTensor& a, const PendingTensor& b) {
    return element_size(a.dtype) > element_size(b.dtype);
  });

  std::string header = "{";
  try {
    uint64_t offset = 0;
    for (const auto& t : pending) {
      const uint64_t nbytes = static_cast<uint64_t>(t.data.numel()) * element_size(t.dtype);
      header += json(*t.name).dump() + ":{\"dtype\":\"" + to_string(t.dtype) +
                "\",\"shape\":" + json(t.data.sizes().vec()).dump() + ",\"data_offsets\":[" +
                std::to_string(offset) + "," + std::to_string(offset + nbytes) + "]},";
      offset += nbytes;
    }
    // After the tensors, where the official writer puts it.
    if (!metadata.empty()) header += "\"__metadata__\":" + json(metadata).dump() + ",";
  } catch (const json::type_error& e) {
    // dump()'s strict default on purpose (the one JSON flowgrpo writes without replacing
    // invalid UTF-8): a tensor name must round-trip exactly, so it is an error.
    throw std::invalid_argument(context + ": tensor names and metadata must be valid UTF-8: " + e.what());
  }
  if (header.back() == ',') header.pop_back();
  header += "}";
  while ((kLengthPrefix + header.size()) % 8 != 0) header += ' ';

  uint8_t prefix[kLengthPrefix];
  for (size_t i = 0; i < kLengthPrefix; ++i) prefix[i] = static_cast<uint8_t>(header.size() >> (8 * i));

  TempFile out(path);
  out.write(prefix, sizeof(prefix));
  out.write(header.data(), header.size());
  for (const auto& t : pending) {
    if (t.data.numel() > 0) out.write(t.data.data_ptr(), t.data.numel() * element_size(t.dtype));
  }
  out.commit();
  log::get("io")->debug("saved {}: {} tensors", path.string(), pending.size());
}

}  // namespace flowgrpo::io
