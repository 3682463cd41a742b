// haven_bench: Haven's performance, one scenario per sub-command, each
// printing one JSON object with its figures beside their floors (issue 12).
//   haven_bench SCENARIO [sizes…]     haven_bench SCENARIO --help
#include <exception>
#include <haven/core/command_line.hpp>
#include <haven/core/result.hpp>
#include <iostream>
#include <string_view>

#include "scenarios.hpp"

namespace {

struct scenario {
  const char* name;
  int (*run)(int, const char* const*);
  const char* what;
};

constexpr scenario scenarios[] = {
    {"local-write", haven::bench::local_write,
     "assistance cases through the client API, one transaction each and batched"},
    {"apply", haven::bench::apply, "a device applies remote cells from a cold start"},
    {"push", haven::bench::push, "devices push at once into havend until the tally is complete"},
    {"initial-sync", haven::bench::initial_sync,
     "a fresh device pulls everything over a real connection"},
    {"fan-out", haven::bench::fan_out,
     "devices connected at once; one writes; time until all have it"},
    {"tally", haven::bench::tally,
     "every declared tally read for a year, and one incremental update"},
    {"bytes", haven::bench::bytes, "bytes on the wire and on disk per record"},
    {"pull-into", haven::bench::pull_into,
     "(part of initial-sync) a fresh device store pulls everything, in a process of its own"},
};

int usage(std::ostream& out) {
  out << "haven_bench SCENARIO [sizes…]: Haven's performance as JSON, beside its floors\n"
         "scenarios (haven_bench SCENARIO --help for its sizes):\n";
  for (const auto& s : scenarios) out << "  " << s.name << ": " << s.what << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(std::cerr);
    return haven::command_line::exit_usage;
  }
  const std::string_view name = argv[1];
  if (name == "--help" || name == "-h") return usage(std::cout);
  for (const auto& s : scenarios)
    if (name == s.name) try {
        return s.run(argc - 1, argv + 1);
      } catch (const haven::failure& e) {
        std::cerr << "haven_bench " << name << ": " << e.err().describe() << '\n';
        return haven::command_line::exit_failed;
      } catch (const std::exception& e) {
        std::cerr << "haven_bench " << name << ": " << e.what() << '\n';
        return haven::command_line::exit_failed;
      }
  return haven::command_line::report("haven_bench",
                                     "unknown scenario \"" + std::string(name) + "\"");
}
