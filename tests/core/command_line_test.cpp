// The command-line plumbing havend and haven share (core/command_line): HOST:PORT,
// options before a command, and usage errors that name the flag and what it takes.

#include <boost/program_options.hpp>
#include <catch2/catch.hpp>
#include <functional>
#include <haven/core/command_line.hpp>

namespace haven::test {
namespace {

namespace cl = command_line;
namespace po = boost::program_options;
using Catch::Matchers::Contains;

std::string usage_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const cl::usage_error& e) {
    return e.what();
  }
  FAIL("no usage_error");
  return {};
}

}  // namespace

TEST_CASE("command line: HOST:PORT as --listen takes it, IPv6 in brackets",
          "[core][command_line]") {
  const auto v4 = cl::parse_host_port("127.0.0.1:8080");
  REQUIRE(v4);
  CHECK(v4->host == "127.0.0.1");
  CHECK(v4->port == 8080);
  const auto v6 = cl::parse_host_port("[::1]:0");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == 0);
  const auto name = cl::parse_host_port("localhost:65535");
  REQUIRE(name);
  CHECK(name->host == "localhost");
  CHECK(name->port == 65535);
  for (const char* bad :
       {"", "127.0.0.1", "127.0.0.1:", ":8080", "::1:8080", "[::1]", "[::1:8080", "host:65536",
        "host:-1", "host:80x", "user@host:80", "ho%73t:80", "host:80/path", "[v1.x]:80"}) {
    CAPTURE(bad);
    CHECK_FALSE(cl::parse_host_port(bad));
  }
}

TEST_CASE("command line: the options before the command are the program's, the rest the command's",
          "[core][command_line]") {
  po::options_description global;
  global.add_options()("db", po::value<std::string>())("verbose", po::bool_switch());
  const char* argv[] = {"havend", "--db", "c.db",     "--verbose", "tally",
                        "x",      "--db", "other.db", "--year",    "2026"};
  po::variables_map vm;
  const auto inv = cl::parse_global(10, argv, global, vm);
  CHECK(vm["db"].as<std::string>() == "c.db");
  CHECK(vm["verbose"].as<bool>());
  CHECK(inv.command == "tally");
  CHECK(inv.args == std::vector<std::string>{"x", "--db", "other.db", "--year", "2026"});

  const char* unknown[] = {"havend", "--dbb", "c.db"};
  po::variables_map vm2;
  CHECK_THAT(usage_error_of([&] { cl::parse_global(3, unknown, global, vm2); }), Contains("--dbb"));
  const char* guessed[] = {"havend", "--verb"};  // no abbreviations
  po::variables_map vm3;
  CHECK_THAT(usage_error_of([&] { cl::parse_global(2, guessed, global, vm3); }),
             Contains("--verb"));
}

TEST_CASE("command line: a bad value names the flag and what it takes", "[core][command_line]") {
  po::options_description o;
  o.add_options()("count", po::value<int>()->value_name("N")->notifier([](int n) {
    cl::require_range("--count", n, 1, 10);
  }),
                  "how many, 1-10")("name", po::value<std::string>()->required(), "who");
  po::positional_options_description none;
  const auto parse = [&](std::vector<std::string> args) {
    return usage_error_of([&] {
      po::variables_map vm;
      cl::parse(args, o, none, vm);
    });
  };
  const auto not_a_number = parse({"--name", "a", "--count", "many"});
  CHECK_THAT(not_a_number, Contains("--count") && Contains("many") && Contains("how many, 1-10"));
  CHECK(parse({"--name", "a", "--count", "11"}) == "--count must be from 1 to 10 (got 11)");
  CHECK_THAT(parse({"--name", "a", "--count"}), Contains("--count") && Contains("1-10"));
  CHECK_THAT(parse({"--count", "3"}), Contains("--name"));
  CHECK(parse({"--name", "a", "extra"}) == "too many arguments");
}

TEST_CASE("command line: a benchmark's counts, by position or by flag, each in its range",
          "[core][command_line]") {
  const std::vector<cl::count_option> options{{"devices", 10, 1, 1000, "devices"},
                                              {"records", 500, 1, 100000, "records"}};
  const auto run = [&](std::vector<const char*> argv) {
    argv.insert(argv.begin(), "bench");
    return cl::parse_counts(static_cast<int>(argv.size()), argv.data(), "bench", "[devices]",
                            options);
  };
  CHECK(run({}).values == std::vector<std::size_t>{10, 500});
  CHECK(run({"3"}).values == std::vector<std::size_t>{3, 500});
  CHECK(run({"3", "7"}).values == std::vector<std::size_t>{3, 7});
  CHECK(run({"--records", "7"}).values == std::vector<std::size_t>{10, 7});
  const auto help = run({"--help"});
  CHECK(help.exit_code == cl::exit_ok);
  CHECK(help.values.empty());
  const auto out_of_range = run({"0"});
  CHECK(out_of_range.exit_code == cl::exit_usage);
  CHECK(out_of_range.values.empty());
  CHECK(run({"--records", "x"}).exit_code == cl::exit_usage);
  CHECK(run({"1", "2", "3"}).exit_code == cl::exit_usage);
}

}  // namespace haven::test
