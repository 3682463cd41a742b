#pragma once
// A real haven-kiosk child process on 127.0.0.1 (port 0) for the kiosk's
// tests, and the per-start secret its page carries.

#include <catch2/catch.hpp>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "../support/havend_process.hpp"
#include "../support/process.hpp"

namespace haven::test {

class kiosk_process {
 public:
  using header_list = std::vector<std::pair<std::string, std::string>>;

  // Starts haven-kiosk on `db` with `options`, reads its URL and the secret from its page.
  explicit kiosk_process(const std::string& db, std::vector<std::string> options = {})
      : process_(command(db, std::move(options))) {
    std::string url;
    REQUIRE(process_.read_line(url));
    REQUIRE(url.starts_with("http://127.0.0.1:"));
    address_ = url.substr(7, url.size() - 8);
    const auto page = http_get(address_, "/");
    REQUIRE(page.status == 200);
    std::smatch m;
    REQUIRE(std::regex_search(page.body, m,
                              std::regex("name=\"haven-secret\" content=\"([0-9a-f]{64})\"")));
    secret_ = m[1];
  }

  const std::string& address() const { return address_; }  // 127.0.0.1:PORT
  const std::string& secret() const { return secret_; }
  // A JSON request with exactly `headers` (add secret_headers() to be the page).
  http_response call(const std::string& method, const std::string& path, const std::string& body,
                     header_list headers) const {
    headers.emplace_back("Content-Type", "application/json");
    return http_send(address_, method, path, body, headers);
  }
  // A request as the page makes it: the secret, and its own Origin.
  http_response own(const std::string& method, const std::string& path,
                    const std::string& body = "") const {
    return call(method, path, body, {{"X-Haven-Kiosk", secret_}, {"Origin", "http://" + address_}});
  }

 private:
  static std::vector<std::string> command(const std::string& db, std::vector<std::string> options) {
    std::vector<std::string> argv{HAVEN_KIOSK_PATH, "--db", db, "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), options.begin(), options.end());
    return argv;
  }
  child process_;
  std::string address_, secret_;
};

}  // namespace haven::test
