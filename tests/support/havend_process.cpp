#include "havend_process.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "tcp.hpp"

namespace haven::test {

havend_process::havend_process(std::string db, std::vector<std::string> options,
                               authentication auth)
    : havend_process(std::move(db), std::move(options), auth, launch{}) {}

havend_process::havend_process(std::string db, std::vector<std::string> options,
                               authentication auth, launch how)
    : db_(std::move(db)), log_(db_ + ".log"), options_(std::move(options)), how_(how) {
  if (auth == authentication::off) options_.push_back("--dev-no-auth");
  start();
}

havend_process::~havend_process() {
  if (process_) stop();
}

void havend_process::start(const std::string& listen) {
  // stderr (the server's log) goes to a file next to the store, for post-mortems.
  // A lower RLIMIT_NOFILE, for tests of running out of file descriptors.
  const std::string limit =
      how_.max_open_files ? "ulimit -n " + std::to_string(how_.max_open_files) + " || exit 99; "
                          : "";
  std::vector<std::string> argv{"/bin/sh", "-c", limit + "log=$1; shift; exec \"$@\" 2>>\"$log\"",
                                "sh",      log_, HAVEND_PATH,
                                "--db",    db_,  "--listen",
                                listen};
  argv.insert(argv.end(), options_.begin(), options_.end());
  process_ = std::make_unique<child>(argv);
  std::string line;
  if (!process_->read_line(line) || line.rfind("listening on ", 0) != 0)
    throw std::runtime_error("havend did not start: \"" + line + "\" (see " + log_ + ")");
  address_ = line.substr(std::string("listening on ").size());
}

void havend_process::kill() {
  process_->kill_group(SIGKILL);
  process_->wait();
  process_.reset();
}

int havend_process::stop() {
  process_->kill_group(SIGTERM);
  const int code = process_->wait();
  process_.reset();
  return code;
}

void havend_process::restart(bool same_port) {
  if (process_) stop();
  start(same_port ? address_ : "127.0.0.1:0");
}

http_response http_get(const std::string& address, const std::string& path) {
  return http_send(address, "GET", path);
}

namespace {

// Sends a request on a connected socket `fd` and reads the reply to its end; closes `fd`.
http_response exchange(int fd, const std::string& address, const std::string& method,
                       const std::string& path, const std::string& body,
                       const std::vector<std::pair<std::string, std::string>>& headers) {
  if (fd < 0) throw std::runtime_error("cannot connect to " + address);
  std::string request = method + " " + path + " HTTP/1.1\r\n";
  bool connection = false, host = false;  // the caller's Connection and Host headers
  for (const auto& [name, value] : headers) {
    request += name + ": " + value + "\r\n";
    connection = connection || name == "Connection";
    host = host || name == "Host";
  }
  if (!host) request += "Host: " + address + "\r\n";
  if (!connection) request += "Connection: close\r\n";
  if (!body.empty() || method == "POST")
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  request += "\r\n" + body;
  (void)!write(fd, request.data(), request.size());
  std::string raw;
  char buf[8192];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;)
    raw.append(buf, static_cast<std::size_t>(n));
  close(fd);
  http_response r;
  if (raw.size() > 12) r.status = std::stoi(raw.substr(9, 3));
  const auto end = raw.find("\r\n\r\n");
  r.headers = raw.substr(0, end);
  if (end != std::string::npos) r.body = raw.substr(end + 4);
  return r;
}

}  // namespace

http_response http_send(const std::string& address, const std::string& method,
                        const std::string& path, const std::string& body,
                        const std::vector<std::pair<std::string, std::string>>& headers) {
  return exchange(connect_tcp(address), address, method, path, body, headers);
}

http_response http_get_from(const std::string& source, const std::string& address,
                            const std::string& path) {
  return exchange(connect_tcp(address, source), address, "GET", path, {}, {});
}

}  // namespace haven::test
