#pragma once
// Runs real programs for end-to-end tests: the shells, later havend.

#include <string>
#include <vector>

namespace haven::test {

struct run_result {
  int exit_code = -1;  // 128 + signal if killed
  std::string out, err;
};

// Runs argv[0] (a path) with the arguments, feeding `input` on stdin, and
// waits for it. Throws std::runtime_error if it cannot be started.
run_result run(const std::vector<std::string>& argv, const std::string& input = "");

// A running child in its own process group, its stdout readable line by line.
class child {
 public:
  explicit child(const std::vector<std::string>& argv);
  ~child();  // kills the group if still running
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  // The next line of stdout without its newline; false at end of output.
  bool read_line(std::string& line);
  // Sends `signal` to the child's whole process group.
  void kill_group(int signal);
  // Waits for the child; returns its exit code (128 + signal if killed).
  int wait();
  // The child's process id (for /proc/PID in tests).
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
  bool reaped_ = false;
  int status_ = 0;
};

// A fresh temporary directory, removed with its contents by the destructor.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace haven::test
