#pragma once
// The command-line plumbing haven and havend share, on Boost.program_options:
// a program's options before its command, a command's own options, one-line
// usage errors with a hint, and HOST:PORT. Stateless; every function is
// thread-safe.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace boost::program_options {
class options_description;
class positional_options_description;
class variables_map;
}  // namespace boost::program_options

namespace haven::command_line {

namespace po = boost::program_options;

inline constexpr int exit_ok = 0, exit_failed = 1, exit_usage = 2;

// Haven's version as the CMake project declares it, e.g. "0.1.0".
std::string_view version();

// A mistake on a command line; what() is one line that names the flag and
// what it takes.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Prints "COMMAND: MESSAGE" and "see 'COMMAND --help'" on stderr and returns
// exit_usage. COMMAND is e.g. "havend enroll".
int report(std::string_view command, std::string_view message);

// A program's command and the arguments after it.
struct invocation {
  std::string command;  // "" when none was given
  std::vector<std::string> args;
};

// Parses the options of `global` that come before the first argument that is
// not an option (the command) into `into`, and returns the command and the
// arguments after it, untouched. Throws usage_error for an unknown option or
// a bad value.
invocation parse_global(int argc, const char* const* argv, const po::options_description& global,
                        po::variables_map& into);

// Parses a command's arguments: the options of `options`, the rest by
// `positional`, and runs their notifiers. Throws usage_error naming the flag
// and, for a bad or missing value, what the flag takes.
void parse(const std::vector<std::string>& args, const po::options_description& options,
           const po::positional_options_description& positional, po::variables_map& into);

// Throws usage_error "FLAG must be from MIN to MAX (got VALUE)" unless
// min <= value <= max.
void require_range(std::string_view flag, long long value, long long min, long long max);

// A count a benchmark takes, positionally in the order declared or as --NAME N.
struct count_option {
  const char* name;
  long long fallback, min, max;
  const char* help;  // the range is added to it
};

// A benchmark's counts, in the order declared, or the exit code to end with:
// exit_ok after printing --help, exit_usage after a usage error on stderr.
struct counts {
  std::vector<std::size_t> values;
  std::optional<int> exit_code;
};
counts parse_counts(int argc, const char* const* argv, std::string_view program,
                    std::string_view summary, const std::vector<count_option>& options);

// A listening address.
struct host_port {
  std::string host;  // a name or an IP address, IPv6 without its brackets
  std::uint16_t port = 0;
};

// Reads "127.0.0.1:8080", "localhost:0" or "[::1]:8080" (RFC 3986 authority
// syntax, with a port); nullopt for anything else, including user info or a
// port above 65535.
std::optional<host_port> parse_host_port(std::string_view text);

}  // namespace haven::command_line
