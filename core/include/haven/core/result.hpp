#pragma once
// The one result type of Haven's public boundaries: a value or an error.
// Inside a component errors are thrown as haven::failure; capture() turns
// them into results at the boundary.

#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace haven {

// What kind of failure an error is; stable numbers, also used by the C ABI.
enum class errc {
  ok = 0,
  invalid_input = 1,   // a value, argument or record the user gave is wrong
  not_found = 2,       // the record, store or file named does not exist
  schema = 3,          // the schema file itself is malformed
  store = 4,           // the local or central store failed (I/O, corruption)
  protocol = 5,        // a malformed, oversized or unexpected frame
  clock_skew = 6,      // a change stamped too far in the future
  already_exists = 7,  // e.g. init on an existing store
  unavailable = 8,     // unreachable, busy or shutting down: try again later
  unauthorized = 9,    // unknown or revoked device, bad signature, code or token
  forbidden = 10,      // known, but not allowed: another team's record, a role's limits
  cancelled = 11,      // the caller asked to stop (e.g. a sync cancelled by the user)
  ambiguous = 12,      // a name that fits more than one thing, e.g. a record id prefix
  internal = 99,
};

// One problem with one field of a record: `field` is the schema key
// (empty for record-level problems), `message` says what is wrong.
struct field_issue {
  std::string field;
  std::string message;
  bool operator==(const field_issue&) const = default;
};

struct error {
  errc code = errc::internal;
  std::string message;
  std::vector<field_issue> issues;  // for invalid_input on records

  // message, then one "  field: message" line per issue.
  std::string describe() const;
};

// The exception that carries an error inside a component.
class failure : public std::exception {
 public:
  explicit failure(error e) : error_(std::move(e)) {}
  failure(errc code, std::string message) : error_{code, std::move(message), {}} {}
  const char* what() const noexcept override { return error_.message.c_str(); }
  const haven::error& err() const noexcept { return error_; }

 private:
  haven::error error_;
};

// A T or an error. Not thread-safe; a plain value type.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  result(error e) : state_(std::in_place_index<1>, std::move(e)) {}

  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  // Requires: ok().
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // Requires: !ok().
  const haven::error& err() const& { return std::get<1>(state_); }

 private:
  std::variant<T, haven::error> state_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(error e) : error_(std::move(e)) {}
  bool ok() const noexcept { return !error_; }
  explicit operator bool() const noexcept { return ok(); }
  const haven::error& err() const& { return *error_; }

 private:
  std::optional<haven::error> error_;
};

// Runs fn() and returns its result, turning a haven::failure into its error
// and any other exception into errc::internal (or errc::store for bad_alloc).
template <class F>
auto capture(F&& fn) noexcept -> result<decltype(fn())> {
  using R = result<decltype(fn())>;
  try {
    if constexpr (std::is_void_v<decltype(fn())>) {
      fn();
      return R{};
    } else {
      return R{fn()};
    }
  } catch (const failure& f) {
    return R{f.err()};
  } catch (const std::bad_alloc&) {
    return R{error{errc::store, "out of memory", {}}};
  } catch (const std::exception& e) {
    return R{error{errc::internal, e.what(), {}}};
  } catch (...) {
    return R{error{errc::internal, "unknown error", {}}};
  }
}

// Throws the error of r as a failure; returns its value otherwise.
template <class T>
T unwrap(result<T> r) {
  if (!r.ok()) throw failure(r.err());
  if constexpr (!std::is_void_v<T>) return std::move(r).value();
}

}  // namespace haven
