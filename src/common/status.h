// Status and Result<T>: how every expected failure in ringkv is reported.
//
// Expected failures (bad input, a missing key, a full disk) are values, never
// exceptions; programmer errors are assertions that stay on in release builds.
// A Status carries a machine-readable code and a sentence for a human that says
// what happened and, where possible, what to do about it.
//
// Thread safety: plain values; safe to copy between threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "common/check.h"

namespace ringkv {

enum class Code {
  ok,
  invalid_argument,   // the caller's input is malformed or out of range
  not_found,          // the named thing does not exist
  already_exists,     // creation of something that exists with another definition
  too_large,          // input over a named limit
  unavailable,        // cannot serve now (quorum, overload, storage fenced); retry later
  io_error,           // the storage or network failed underneath
  corruption,         // stored bytes did not decode
  internal,           // a bug: never expected
  overloaded,         // a resource limit is reached (a full queue): shed, not failed; retry
                      // shortly. Never fences a node.
  permission_denied,  // the caller lacks a valid API token or its scope (HTTP 401/403).
                      // (Last: peer messages carry the number.)
};

// Returns a stable lower_snake_case name for `code` ("invalid_argument", ...).
std::string_view code_name(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {
    RINGKV_ASSERT(code != Code::ok || message_.empty(), "an ok status carries no message");
  }

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::ok; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "<code>: <message>", for logs.
  std::string to_string() const;

 private:
  Code code_ = Code::ok;
  std::string message_;
};

// Either a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {  // NOLINT: implicit by design
    RINGKV_ASSERT(!std::get<Status>(state_).ok(), "a Result holding a Status must hold a failure");
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status ok_status;
    return ok() ? ok_status : std::get<Status>(state_);
  }
  // REQUIRES: ok().
  T& value() & {
    RINGKV_ASSERT(ok(), "the value of a failed Result was read");
    return std::get<T>(state_);
  }
  const T& value() const& {
    RINGKV_ASSERT(ok(), "the value of a failed Result was read");
    return std::get<T>(state_);
  }
  T&& value() && {
    RINGKV_ASSERT(ok(), "the value of a failed Result was read");
    return std::get<T>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace ringkv
