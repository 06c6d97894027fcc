#include "flowgrpo/common/error.h"

#include <c10/util/Exception.h>

namespace flowgrpo {

std::string exception_message(const std::exception& e) {
  if (const auto* ce = dynamic_cast<const c10::Error*>(&e)) return ce->what_without_backtrace();
  return e.what();
}

void rethrow_with_context(const std::string& context) {
  try {
    throw;
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(context + ": " + e.what());
  } catch (const c10::Error& e) {
    throw std::runtime_error(context + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw std::runtime_error(context + ": " + e.what());
  } catch (...) {
    throw std::runtime_error(context + ": unknown error");
  }
}

}  // namespace flowgrpo
