// Status and Result<T>: errors as values, in the manner of LevelDB's Status.
//
// A Status is either OK or carries a code and a message naming the thing involved (a path, a
// table, a version, a line). Functions that can fail return [[nodiscard]] Status or Result<T>;
// no exception crosses a part's interface.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace dew {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,
    kInvalidArgument,
    kIOError,
    kCorruption,
    kConflict,
    kAlreadyExists,
    kNotSupported,
    kInterrupted,
    kInternal,
  };

  //! An OK status.
  Status() = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status IOError(std::string msg) { return Status(Code::kIOError, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  //! A concurrent writer committed first and its changes collide with ours.
  static Status Conflict(std::string msg) { return Status(Code::kConflict, std::move(msg)); }
  static Status AlreadyExists(std::string msg) {
    return Status(Code::kAlreadyExists, std::move(msg));
  }
  static Status NotSupported(std::string msg) {
    return Status(Code::kNotSupported, std::move(msg));
  }
  static Status Interrupted(std::string msg) { return Status(Code::kInterrupted, std::move(msg)); }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsConflict() const { return code_ == Code::kConflict; }
  bool IsAlreadyExists() const { return code_ == Code::kAlreadyExists; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsInterrupted() const { return code_ == Code::kInterrupted; }

  //! The message alone, without the code name.
  const std::string& message() const { return message_; }

  //! "Code: message", for logs and the CLI.
  std::string ToString() const;

  //! A copy whose message is prefixed with `context: `, to add where an error happened.
  Status WithContext(const std::string& context) const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

//! A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "Result built from an OK status has no value");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace dew

#define DEW_CONCAT_INNER(a, b) a##b
#define DEW_CONCAT(a, b) DEW_CONCAT_INNER(a, b)

//! Returns the Status from the enclosing function when `expr` is not OK.
#define DEW_RETURN_IF_ERROR(expr)        \
  do {                                   \
    ::dew::Status _dew_status = (expr);  \
    if (!_dew_status.ok()) return _dew_status; \
  } while (0)

#define DEW_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

//! `DEW_ASSIGN_OR_RETURN(auto x, Compute());` binds the value or returns the error.
#define DEW_ASSIGN_OR_RETURN(lhs, expr) \
  DEW_ASSIGN_OR_RETURN_IMPL(DEW_CONCAT(_dew_result_, __LINE__), lhs, expr)
