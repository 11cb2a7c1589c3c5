// Two tiers of errors. Expected failures of the outside world (a timeout, a thing not
// found, a refusal) are values: Expected<T> holds either a T or a Failure, and callers
// decide. Exceptions are for bad input and bugs: BadInput (a lab or scenario file, a CLI
// argument; exit status 2) and Fatal (the infrastructure cannot go on; exit status 3).
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace dcslab {

struct Failure {
  enum class Kind { Timeout, NotFound, Refused, Error };
  Kind kind = Kind::Error;
  std::string message;

  static Failure timeout(std::string m) { return {Kind::Timeout, std::move(m)}; }
  static Failure not_found(std::string m) { return {Kind::NotFound, std::move(m)}; }
  static Failure refused(std::string m) { return {Kind::Refused, std::move(m)}; }
  static Failure error(std::string m) { return {Kind::Error, std::move(m)}; }
};

// Bad input from the user: the message names file, line and key. Exit status 2.
class BadInput : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The lab cannot be brought up or driven (libvirtd unreachable, image missing...).
// Exit status 3.
class Fatal : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}             // NOLINT: implicit on purpose
  Expected(Failure failure) : v_(std::move(failure)) {}   // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Failure& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Failure> v_;
};

template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(Failure failure) : failure_(std::move(failure)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Failure& error() const { return failure_; }

 private:
  Failure failure_;
  bool ok_ = true;
};

// Returns the failure of an Expected expression from the enclosing function.
#define DCSLAB_TRY(expr)                            \
  do {                                              \
    auto dcslab_try_result_ = (expr);               \
    if (!dcslab_try_result_) return dcslab_try_result_.error(); \
  } while (0)

}  // namespace dcslab
