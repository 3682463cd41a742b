#include <boost/program_options.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <climits>
#include <haven/core/command_line.hpp>
#include <iostream>

namespace haven::command_line {
namespace {

// What `option` takes, from its declaration: " (--count N: how many, 1-10000)".
std::string what_it_takes(const po::options_description& options, const std::string& name) {
  const std::string key = name.rfind("--", 0) == 0  ? name.substr(2)
                          : name.rfind('-', 0) == 0 ? name.substr(1)
                                                    : name;
  const auto* option = options.find_nothrow(key, false);
  if (!option) return {};
  return " (" + option->format_name() + " " + option->format_parameter() + ": " +
         option->description() + ")";
}

// po's message for `e`, with what the flag takes when its value was wrong.
std::string describe(const po::error& e, const po::options_description& options) {
  std::string message = e.what();
  const auto* with_option = dynamic_cast<const po::error_with_option_name*>(&e);
  const bool bad_value = dynamic_cast<const po::validation_error*>(&e) != nullptr ||
                         dynamic_cast<const po::invalid_command_line_syntax*>(&e) != nullptr;
  if (with_option && bad_value) message += what_it_takes(options, with_option->get_option_name());
  return message;
}

// Once the first argument that is not an option is reached, everything from
// it on is positional: a command's own options are the command's to parse.
std::vector<po::option> rest_after_command(std::vector<std::string>& args) {
  if (args.empty() || (args.front().size() > 1 && args.front().front() == '-')) return {};
  std::vector<po::option> out;
  for (auto& a : args) {
    po::option positional;
    positional.value.push_back(a);
    positional.original_tokens.push_back(a);
    positional.position_key = INT_MAX;
    out.push_back(std::move(positional));
  }
  args.clear();
  return out;
}

// Unix style, but a flag is never guessed from its first letters: --j is not --json.
constexpr int style = po::command_line_style::unix_style ^ po::command_line_style::allow_guessing;

}  // namespace

std::string_view version() {
  return HAVEN_VERSION;
}

int report(std::string_view command, std::string_view message) {
  std::cerr << command << ": " << message << "\nsee '" << command << " --help'\n";
  return exit_usage;
}

invocation parse_global(int argc, const char* const* argv, const po::options_description& global,
                        po::variables_map& into) {
  po::options_description with_rest(global);
  with_rest.add_options()("command-and-arguments", po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add("command-and-arguments", -1);
  try {
    po::store(po::command_line_parser(argc, argv)
                  .options(with_rest)
                  .style(style)
                  .positional(positional)
                  .extra_style_parser(rest_after_command)
                  .run(),
              into);
    po::notify(into);
  } catch (const po::error& e) {
    throw usage_error(describe(e, global));
  }
  invocation out;
  if (into.count("command-and-arguments")) {
    out.args = into["command-and-arguments"].as<std::vector<std::string>>();
    out.command = out.args.front();
    out.args.erase(out.args.begin());
  }
  return out;
}

void parse(const std::vector<std::string>& args, const po::options_description& options,
           const po::positional_options_description& positional, po::variables_map& into) {
  try {
    po::store(
        po::command_line_parser(args).options(options).style(style).positional(positional).run(),
        into);
    po::notify(into);
  } catch (const po::too_many_positional_options_error&) {
    throw usage_error("too many arguments");
  } catch (const po::error& e) {
    throw usage_error(describe(e, options));
  }
}

void require_range(std::string_view flag, long long value, long long min, long long max) {
  if (value < min || value > max)
    throw usage_error(std::string(flag) + " must be from " + std::to_string(min) + " to " +
                      std::to_string(max) + " (got " + std::to_string(value) + ")");
}

counts parse_counts(int argc, const char* const* argv, std::string_view program,
                    std::string_view summary, const std::vector<count_option>& options) {
  po::options_description described(std::string(program) + " " + std::string(summary));
  described.add_options()("help,h", po::bool_switch(), "print this help");
  po::positional_options_description positional;
  for (const auto& o : options) {
    const std::string flag = std::string("--") + o.name;
    described.add_options()(
        o.name,
        po::value<long long>()
            ->default_value(o.fallback)
            ->value_name("N")
            ->notifier([flag, o](long long n) { require_range(flag, n, o.min, o.max); }),
        (std::string(o.help) + ", " + std::to_string(o.min) + "-" + std::to_string(o.max)).c_str());
    positional.add(o.name, 1);
  }
  po::variables_map given;
  try {
    parse({argv + 1, argv + argc}, described, positional, given);
  } catch (const usage_error& e) {
    return {{}, report(program, e.what())};
  }
  if (given["help"].as<bool>()) {
    std::cout << described;
    return {{}, exit_ok};
  }
  counts out;
  for (const auto& o : options)
    out.values.push_back(static_cast<std::size_t>(given[o.name].as<long long>()));
  return out;
}

std::optional<host_port> parse_host_port(std::string_view text) {
  const auto authority = boost::urls::parse_authority(text);
  if (!authority || authority->has_userinfo() || !authority->has_port()) return std::nullopt;
  const auto type = authority->host_type();
  if (type != boost::urls::host_type::name && type != boost::urls::host_type::ipv4 &&
      type != boost::urls::host_type::ipv6)
    return std::nullopt;
  const auto host = authority->encoded_host_address();
  if (host.empty() || host.find('%') != std::string_view::npos) return std::nullopt;
  const auto port = authority->port();
  unsigned n = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || n > 65535)
    return std::nullopt;
  return host_port{std::string(host), static_cast<std::uint16_t>(n)};
}

}  // namespace haven::command_line
