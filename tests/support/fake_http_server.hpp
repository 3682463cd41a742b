#pragma once
// A stand-in HTTP server on 127.0.0.1 for client tests of one exchange
// (e.g. enrollment): it answers every request with the same canned reply
// and keeps the last request's target and body. Runs on its own thread
// until destroyed.

#include <memory>
#include <mutex>
#include <string>

namespace haven::test {

class fake_http_server {
 public:
  struct reply {
    int status = 200;
    std::string body;
    std::string retry_after;  // the Retry-After header, when not empty
  };

  // Answers every request with `status` and the JSON `body` (and a
  // Retry-After header when `retry_after` is not empty).
  fake_http_server(int status, std::string body, std::string retry_after = "");
  ~fake_http_server();

  std::string address() const;  // 127.0.0.1:PORT
  std::string last_target() const;
  std::string last_body() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace haven::test
