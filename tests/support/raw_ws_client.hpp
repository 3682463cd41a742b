#pragma once
// A WebSocket client for hostile-input tests: it sends whatever messages (or
// raw bytes) a test makes up to a server's /sync endpoint and reads what
// comes back. Every operation is bounded by a timeout. Not thread-safe; it
// owns its connection, closed by the destructor.

#include <chrono>
#include <cstdint>
#include <haven/sync/protocol.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace haven::test {

class raw_ws_client {
 public:
  // What the server sent next: a message, or the end of the connection.
  struct reply {
    bool closed = false;     // no message: the connection ended, or the wait timed out
    bool timed_out = false;  // nothing came within the timeout (the connection is closed now)
    std::string frame;       // the message, when not closed
    int close_code = 0;      // the close frame's code, if the server sent one
    std::string error;       // why reading ended, when closed
  };

  // Connects to ws://address/path and completes the WebSocket handshake,
  // announcing `announced` as the newest protocol version it speaks (by
  // default sync::protocol_version, as a device of this release does, so the
  // challenge names it and hellos and batches of sync::encode's default
  // version are what the server expects; nullopt: nothing, as a device of
  // the previous release). Throws std::runtime_error if that fails.
  explicit raw_ws_client(const std::string& address, const std::string& path = "/sync",
                         std::optional<std::uint32_t> announced = sync::protocol_version);
  ~raw_ws_client();
  raw_ws_client(const raw_ws_client&) = delete;
  raw_ws_client& operator=(const raw_ws_client&) = delete;

  // Sends one binary or text message. Returns "" or why it could not be
  // sent (the server may drop a connection while a large message goes out).
  std::string send_binary(std::string_view bytes);
  std::string send_text(std::string_view text);
  // Writes bytes on the TCP socket underneath, outside any WebSocket frame.
  std::string send_raw(std::string_view bytes);

  // Reads the server's first message, its challenge, and returns the nonce
  // a hello must be signed over. Throws std::runtime_error if the next
  // message is not a challenge.
  std::string read_challenge();

  // The next message, waiting at most `timeout`.
  reply read(std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace haven::test
