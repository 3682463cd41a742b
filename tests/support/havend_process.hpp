#pragma once
// A real havend child process on 127.0.0.1 for end-to-end tests.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "process.hpp"

namespace haven::test {

class havend_process {
 public:
  // off: started with --dev-no-auth (devices need no enrollment, tallies no
  // token), as the tests that are not about access control want it.
  enum class authentication { off, on };
  // Starts havend on `db` with port 0 (and `options`, e.g. {"--schema", F})
  // and waits for its "listening on" line. Throws std::runtime_error if it does not start.
  explicit havend_process(std::string db, std::vector<std::string> options = {},
                          authentication auth = authentication::off);
  // How the process is started: its RLIMIT_NOFILE (0: inherited).
  struct launch {
    unsigned max_open_files = 0;
  };
  havend_process(std::string db, std::vector<std::string> options, authentication auth, launch how);
  ~havend_process();  // SIGTERM, then wait

  const std::string& address() const { return address_; }  // HOST:PORT
  // havend's process id (it is exec'd in place of the shell that starts it).
  int pid() const { return process_->pid(); }
  // The file that collects the server's log (its stderr).
  const std::string& log_file() const { return log_; }
  std::string sync_url() const { return "ws://" + address_ + "/sync"; }
  std::string http_url(const std::string& path) const { return "http://" + address_ + path; }

  // SIGKILL: no clean shutdown.
  void kill();
  // SIGTERM and wait; returns the exit code.
  int stop();
  // Starts a new process on the same store (after kill or stop), on a new
  // free port, or on the same port when `same_port`.
  void restart(bool same_port = false);

 private:
  void start(const std::string& listen = "127.0.0.1:0");
  std::string db_, log_, address_;
  std::vector<std::string> options_;
  launch how_;
  std::unique_ptr<child> process_;
};

// GET http://address/path with a plain socket; returns status and body.
struct http_response {
  int status = 0;
  std::string headers;  // the status line and header lines, as received
  std::string body;
};
http_response http_get(const std::string& address, const std::string& path);
// Any request: `headers` as (name, value), a body sent with Content-Length;
// a "Host" among them replaces the default (`address`).
http_response http_send(const std::string& address, const std::string& method,
                        const std::string& path, const std::string& body = "",
                        const std::vector<std::pair<std::string, std::string>>& headers = {});
// GET from local address `source` (e.g. 127.0.0.2: an observer that havend
// counts apart from the clients on 127.0.0.1).
http_response http_get_from(const std::string& source, const std::string& address,
                            const std::string& path);

}  // namespace haven::test
