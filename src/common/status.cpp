#include "common/status.h"

namespace ringkv {

std::string_view code_name(Code code) {
  switch (code) {
    case Code::ok:
      return "ok";
    case Code::invalid_argument:
      return "invalid_argument";
    case Code::not_found:
      return "not_found";
    case Code::already_exists:
      return "already_exists";
    case Code::too_large:
      return "too_large";
    case Code::unavailable:
      return "unavailable";
    case Code::io_error:
      return "io_error";
    case Code::corruption:
      return "corruption";
    case Code::internal:
      return "internal";
    case Code::overloaded:
      return "overloaded";
    case Code::permission_denied:
      return "permission_denied";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (ok())
    return "ok";
  std::string text(code_name(code_));
  text += ": ";
  text += message_;
  return text;
}

}  // namespace ringkv
