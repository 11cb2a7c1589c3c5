// Two tiers of errors. Expected failures of the outside world (a timeout, a thing not
// found, a refusal) are values: Expected<T> holds either a T or a Failure (Expected<T, E>
// a T or an E), and callers decide. Exceptions are for bad input and bugs: BadInput (a
// lab or scenario file, a CLI argument; exit status 2) and Fatal (the infrastructure
// cannot go on; exit status 3).
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

// A T, or why there is none: an E (Failure unless a layer judges failures its own way,
// as etcd does with EtcdError). Implicit from either, so a function returns plainly.
template <typename T, typename E = Failure>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
  Expected(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const E& error() const& { return std::get<1>(v_); }
  E&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, E> v_;
};

template <typename E>
class [[nodiscard]] Expected<void, E> {
 public:
  Expected() = default;
  Expected(E error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const E& error() const& { return error_; }
  E&& error() && { return std::move(error_); }

 private:
  E error_{};
  bool ok_ = true;
};

// Returns the error of an Expected expression from the enclosing function.
#define DCSLAB_TRY(...)                                             \
  do {                                                              \
    auto dcslab_try_result_ = (__VA_ARGS__);                        \
    if (!dcslab_try_result_) return std::move(dcslab_try_result_).error(); \
  } while (0)

// `var` (a declaration, `auto key`, or a variable) gets the value of an Expected
// expression; its error is returned from the enclosing function.
#define DCSLAB_TRY_ASSIGN(var, ...) \
  DCSLAB_TRY_ASSIGN_(DCSLAB_TRY_CAT_(dcslab_try_, __COUNTER__), var, __VA_ARGS__)
#define DCSLAB_TRY_ASSIGN_(tmp, var, ...)          \
  auto tmp = (__VA_ARGS__);                        \
  if (!tmp) return std::move(tmp).error();         \
  var = std::move(tmp).value()
#define DCSLAB_TRY_CAT_(a, b) DCSLAB_TRY_CAT2_(a, b)
#define DCSLAB_TRY_CAT2_(a, b) a##b

}  // namespace dcslab
