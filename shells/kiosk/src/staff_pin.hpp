#pragma once
// The staff PIN that unlocks the kiosk on a shared tablet: kept only as a
// salted scrypt hash in a file beside the device store (mode 0600), with
// wrong guesses slowed down. Not thread-safe: one owner (the local API).

#include <chrono>
#include <filesystem>
#include <haven/core/result.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace haven::kiosk {

class staff_pin {
 public:
  using clock = std::chrono::steady_clock;

  // The PIN kept in `file` (it may not exist yet: no PIN chosen).
  explicit staff_pin(std::filesystem::path file);

  // Whether a PIN has been chosen.
  bool is_set() const;
  // Chooses the PIN: 4 to 12 digits, else errc::invalid_input saying so.
  // Replaces any earlier one; errc::store if the file cannot be written.
  result<void> choose(std::string_view pin);
  // Forgets the PIN (the device was erased): removes the file.
  void forget();

  // Whether `pin` is the PIN. After three wrong PINs in a row each further
  // attempt must wait (5 s, doubling up to 5 minutes): errc::unavailable
  // "wait N s" without checking; a wrong PIN is errc::unauthorized.
  result<void> verify(std::string_view pin, clock::time_point now);

 private:
  std::filesystem::path file_;
  int failures_ = 0;
  clock::time_point next_attempt_{};
};

}  // namespace haven::kiosk
