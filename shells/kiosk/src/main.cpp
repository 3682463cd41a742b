// haven-kiosk: the touch app for outreach workers and on-call staff, served
// on a loopback address from a device store, syncing in the background.
#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <haven/client/store.hpp>
#include <haven/core/command_line.hpp>
#include <haven/core/terminal_text.hpp>
#include <iostream>
#include <sstream>

#include "http_listener.hpp"
#include "local_api.hpp"
#include "record_index.hpp"
#include "staff_pin.hpp"
#include "sync_loop.hpp"

namespace {

using namespace haven;
namespace cl = command_line;
namespace po = boost::program_options;

po::options_description program_options() {
  po::options_description o("Options");
  o.add_options()("db", po::value<std::string>()->value_name("PATH"),
                  "the device store (created if there is none; one enrolled by haven enroll works "
                  "too)")(
      "listen",
      po::value<std::string>()->value_name("127.0.0.1:PORT")->default_value("127.0.0.1:8731"),
      "where the app is served: a loopback address only; port 0 picks a free one")(
      "server", po::value<std::string>()->value_name("URL")->default_value(""),
      "the server offered at enrollment: https://HOST:PORT")(
      "ca", po::value<std::string>()->value_name("FILE"),
      "pin this PEM certificate for the server at enrollment")(
      "idle-lock", po::value<long long>()->value_name("SECONDS")->default_value(180),
      "lock the app after this long without use (30-3600)")(
      "help,h", po::bool_switch(), "print this help")("version", po::bool_switch(),
                                                      "print the version");
  return o;
}

std::string read_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw failure(errc::not_found, "cannot read the certificate file " + file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int run(int argc, char** argv) {
  po::variables_map o;
  const auto options = program_options();
  const auto invocation = cl::parse_global(argc, argv, options, o);
  if (o["help"].as<bool>()) {
    std::cout
        << "haven-kiosk - the Haven app for a shared tablet or laptop\n\n"
           "usage: haven-kiosk --db PATH [--listen 127.0.0.1:PORT] [--server URL] [--ca FILE]\n\n"
           "Serves the app to this device's browser only (open the URL it prints first,\n"
           "or run shells/kiosk/haven-kiosk-launch), and syncs in the background whenever\n"
           "the server is reachable. Nothing is fetched from the network.\n\n"
        << options;
    return cl::exit_ok;
  }
  if (o["version"].as<bool>()) {
    std::cout << "haven-kiosk " << cl::version() << "\n";
    return cl::exit_ok;
  }
  if (!invocation.command.empty())
    throw cl::usage_error("haven-kiosk takes no arguments besides its options (got \"" +
                          printable(invocation.command) + "\")");
  if (!o.count("db")) throw cl::usage_error("give the device store with --db PATH");
  const std::string db_path = o["db"].as<std::string>();
  const auto listen = cl::parse_host_port(o["listen"].as<std::string>());
  if (!listen)
    throw cl::usage_error("--listen takes 127.0.0.1:PORT (got \"" +
                          printable(o["listen"].as<std::string>()) + "\")");
  cl::require_range("--idle-lock", o["idle-lock"].as<long long>(), 30, 3600);

  // A new store's team is the enrollment's; until then it is a placeholder (as haven enroll).
  auto db = std::filesystem::exists(db_path) ? unwrap(client::store::open(db_path))
                                             : unwrap(client::store::create(db_path, "unenrolled"));
  kiosk::staff_pin pin(db_path + ".kiosk-pin");
  kiosk::record_index index(*db);
  kiosk::sync_loop sync(db_path, {}, [&index] { index.note_remote_changes(); });
  kiosk::api_settings settings;
  settings.idle_lock = std::chrono::seconds(o["idle-lock"].as<long long>());
  settings.default_server = o["server"].as<std::string>();
  if (o.count("ca")) settings.ca_pem = read_file(o["ca"].as<std::string>());
  kiosk::local_api api(*db, index, pin, sync, settings);
  auto listener = unwrap(kiosk::http_listener::bind(listen->host, listen->port, api));
  std::cout << "http://" << listener->authority() << "/" << std::endl;
  listener->run();
  return cl::exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const cl::usage_error& e) {
    return cl::report("haven-kiosk", e.what());
  } catch (const failure& f) {
    std::cerr << "haven-kiosk: " << printable(f.err().describe()) << "\n";
    return cl::exit_failed;
  } catch (const std::exception& e) {
    std::cerr << "haven-kiosk: internal error: " << printable(e.what()) << "\n";
    return cl::exit_failed;
  }
}
