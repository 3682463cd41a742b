#pragma once
// The one argument of a benchmark that takes a record count: `NAME [records]`
// or `--records N`, with --help. Header-only, for the bench programs.

#include <boost/program_options.hpp>
#include <haven/core/command_line.hpp>
#include <iostream>
#include <optional>
#include <string>

namespace haven::bench {

// The count given (or `fallback`), within 1..`most`; nullopt after printing
// the help (exit 0) or a usage error (`exit_code` set to 2).
inline std::optional<std::size_t> record_count(int argc, char** argv, const std::string& name,
                                               const std::string& title, long long fallback,
                                               long long most, const std::string& meaning,
                                               int& exit_code) {
  namespace po = boost::program_options;
  namespace cl = haven::command_line;
  po::options_description options(name + " [records]: " + title + ", printed as JSON");
  options.add_options()("help,h", po::bool_switch(), "print this help")(
      "records",
      po::value<long long>()->default_value(fallback)->value_name("N")->notifier(
          [most](long long n) { cl::require_range("--records", n, 1, most); }),
      (meaning + ", 1-" + std::to_string(most)).c_str());
  po::positional_options_description positional;
  positional.add("records", 1);
  po::variables_map given;
  try {
    cl::parse({argv + 1, argv + argc}, options, positional, given);
  } catch (const cl::usage_error& e) {
    exit_code = cl::report(name, e.what());
    return std::nullopt;
  }
  if (given["help"].as<bool>()) {
    std::cout << options;
    exit_code = 0;
    return std::nullopt;
  }
  return static_cast<std::size_t>(given["records"].as<long long>());
}

}  // namespace haven::bench
