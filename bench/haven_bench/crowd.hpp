#pragma once
// A crowd of devices that only listen, for the fan-out scenario: each holds a
// WebSocket of its own to havend's /sync (one io_context on one thread for
// all), says its hello (signed with its enrolled key, or unsigned for a
// havend in --dev-no-auth), pulls, and stays live, noting when a batch of
// changes last arrived. Each runs the real
// sync::client_session over a backend that keeps nothing. Owned by one
// thread; the io thread is its own and joined by the destructor.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace haven::bench {

class crowd {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  // An enrolled device: the id havend gave it and its Ed25519 private key.
  struct identity {
    std::string device_id;
    std::string private_key;
  };

  // `devices` listeners in `team` for havend at `address` (HOST:PORT);
  // nothing is connected yet. With `enrolled` (one per device) they sign
  // their hellos; without, havend must run with --dev-no-auth.
  crowd(std::string address, std::string team, std::size_t devices,
        std::vector<identity> enrolled = {});
  ~crowd();
  crowd(const crowd&) = delete;
  crowd& operator=(const crowd&) = delete;

  // Connects every device, at most `parallel` handshakes at once, until all
  // are live or `deadline` has passed; returns how many are live.
  std::size_t connect(std::size_t parallel, std::chrono::steady_clock::duration deadline);
  // Waits until every live device has received a batch after `sent`, or
  // `timeout` has passed; returns the delays from `sent` of those that did.
  std::vector<double> await_delivery(time_point sent, std::chrono::steady_clock::duration timeout);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace haven::bench
