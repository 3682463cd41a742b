#pragma once
// Runs the real `haven` binary against a store in a temporary directory.

#include <string>
#include <vector>

#include "../support/process.hpp"

namespace haven::test {

class shell {
 public:
  shell() : db_(dir_.file("device.db")) {}

  // haven --db <store> args...
  run_result operator()(std::vector<std::string> args, const std::string& input = "") const {
    args.insert(args.begin(), {HAVEN_SHELL_PATH, "--db", db_});
    return run(args, input);
  }
  // Runs a command that must succeed and returns its stdout without the last newline.
  std::string ok(std::vector<std::string> args, const std::string& input = "") const;

  const std::string& db() const { return db_; }
  const temp_dir& dir() const { return dir_; }

 private:
  temp_dir dir_;
  std::string db_;
};

}  // namespace haven::test
