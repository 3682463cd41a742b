// haven: the command-line shell over the Haven client core.
#include <unistd.h>

#include <boost/program_options.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <haven/client/enrollment.hpp>
#include <haven/client/pseudonym.hpp>
#include <haven/client/record_json.hpp>
#include <haven/client/store.hpp>
#include <haven/client/sync_client.hpp>
#include <haven/core/command_line.hpp>
#include <haven/core/terminal_text.hpp>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace haven;
using client::store;

namespace cl = command_line;
namespace po = boost::program_options;
using cl::exit_failed, cl::exit_ok, cl::exit_usage;

// A usage mistake: printed with the command's help hint, exit code 2.
using cl::usage_error;

struct global_options {
  std::string db;
  std::string schema_file;
};

// One option of a command, declared once: its help and its parser come from it.
struct flag {
  const char* name;
  const char* value_name;  // nullptr: a switch that takes no value
  const char* description;
  const char* default_value = nullptr;
};

// The arguments of one command as its options parsed them: flags (--name
// value or --name) and the rest.
class arguments {
 public:
  arguments(const po::variables_map& parsed, const std::vector<flag>& flags) {
    for (const auto& f : flags) {
      if (!parsed.count(f.name)) continue;
      if (!f.value_name) {
        if (parsed[f.name].as<bool>()) flags_[f.name] = "";
      } else {
        flags_[f.name] = parsed[f.name].as<std::string>();
      }
    }
    if (parsed.count("arguments")) positional_ = parsed["arguments"].as<std::vector<std::string>>();
  }
  bool has(const std::string& flag) const { return flags_.count(flag) != 0; }
  std::optional<std::string> get(const std::string& flag) const {
    auto it = flags_.find(flag);
    return it == flags_.end() ? std::nullopt : std::optional(it->second);
  }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> flags_;
  std::vector<std::string> positional_;
};

struct command {
  const char* usage;
  const char* help;
  std::vector<flag> flags;
  std::function<int(const global_options&, const arguments&)> run;
};

// The options of a command, from its flags, with --help.
po::options_description options_of(const command& c) {
  po::options_description o("Options");
  for (const auto& f : c.flags) {
    if (!f.value_name) {
      o.add_options()(f.name, po::bool_switch(), f.description);
      continue;
    }
    auto* v = po::value<std::string>()->value_name(f.value_name);
    if (f.default_value) v->default_value(f.default_value);
    o.add_options()(f.name, v, f.description);
  }
  o.add_options()("help,h", po::bool_switch(), "print this help");
  return o;
}

// An error as error::describe() gives it, with what came from a store, a
// file or a server escaped (see printable) so that a terminal shows it as text.
std::string describe(const error& e) {
  std::string out = printable(e.message);
  for (const auto& issue : e.issues)
    out += "\n  " + (issue.field.empty() ? "" : printable(issue.field) + ": ") +
           printable(issue.message);
  return out;
}

int fail(const error& e) {
  std::cerr << "haven: " << describe(e) << "\n";
  return exit_failed;
}

std::shared_ptr<const schema> load_schema(const global_options& g) {
  if (g.schema_file.empty()) return schema::builtin();
  return unwrap(schema::load(g.schema_file));
}

store::options store_options(const global_options& g) {
  store::options o;
  o.record_schema = load_schema(g);
  return o;
}

std::unique_ptr<store> open_store(const global_options& g) {
  if (g.db.empty()) throw usage_error{"no store given: pass --db PATH (or set HAVEN_DB)"};
  return unwrap(store::open(g.db, store_options(g)));
}

// The record `text` names: its id, or a unique prefix of 4 or more hex characters.
sync::record_id resolve_id(store& db, const std::string& text) {
  auto id = db.resolve_id(text);
  if (!id && id.err().code == errc::invalid_input) throw usage_error(id.err().message);
  return unwrap(std::move(id));
}

// "field=value" pairs for add.
std::vector<std::pair<std::string, std::string>> assignments(const std::vector<std::string>& args,
                                                             std::size_t from) {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = from; i < args.size(); ++i) {
    const auto eq = args[i].find('=');
    if (eq == std::string::npos || eq == 0)
      throw usage_error{"\"" + args[i] + "\" is not field=value"};
    out.emplace_back(args[i].substr(0, eq), args[i].substr(eq + 1));
  }
  return out;
}

std::string describe_value(const value& v) {
  return is_null(v) ? "-" : printable(to_text(v));
}

void print_record(const client::record& r, const schema& s) {
  std::cout << "id       " << r.id.hex() << "\n"
            << "type     " << printable(r.type) << "\n"
            << "team     " << printable(r.team) << "\n"
            << "state    "
            << (r.deleted   ? "deleted"
                : r.pending ? "pending (not yet synced)"
                            : "synced")
            << "\n";
  if (r.deleted) return;
  std::size_t width = 8;
  for (const auto& [key, v] : r.fields) width = std::max(width, printable(key).size() + 1);
  auto line = [&](const std::string& raw_key, const std::string& text) {
    const std::string key = printable(raw_key);
    std::cout << key << std::string(width - std::min(width, key.size()), ' ') << text << "\n";
  };
  // Schema order first, then any fields of a newer schema.
  if (const record_type* t = s.type(r.type)) {
    for (const auto& f : t->fields)
      if (auto it = r.fields.find(f.key); it != r.fields.end())
        line(f.key, describe_value(it->second));
    for (const auto& [key, v] : r.fields)
      if (!t->field(key)) line(key, describe_value(v) + "  (field of a newer schema)");
  } else {
    for (const auto& [key, v] : r.fields) line(key, describe_value(v));
  }
  for (const auto& [key, n] : r.derived) line(key, std::to_string(n) + "  (derived)");
}

int cmd_init(const global_options& g, const arguments& a) {
  if (g.db.empty()) throw usage_error{"no store given: pass --db PATH"};
  const auto team = a.get("team");
  if (!team) throw usage_error{"init needs --team TEAM: the team new records belong to"};
  if (!a.positional().empty()) throw usage_error{"init takes no arguments besides --team"};
  auto s = store::create(g.db, *team, store_options(g));
  if (!s) return fail(s.err());
  std::cout << "created store " << g.db << " (team " << *team << ", node " << s.value()->node()
            << ")\n";
  return exit_ok;
}

int cmd_add(const global_options& g, const arguments& a) {
  const auto& args = a.positional();
  if (args.empty()) throw usage_error{"add needs a record type"};
  auto db = open_store(g);
  client::record_input in{args[0], a.get("team").value_or(""), assignments(args, 1)};
  auto id = db->add(in);
  if (!id) return fail(id.err());
  if (a.has("quiet"))
    std::cout << id->hex() << "\n";
  else
    std::cout << "recorded " << printable(args[0]) << " " << id->hex() << "\n";
  return exit_ok;
}

int cmd_edit(const global_options& g, const arguments& a) {
  const auto& args = a.positional();
  if (args.size() < 2) throw usage_error{"edit needs a record id and at least one field=value"};
  std::vector<client::field_edit> edits;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const auto eq = args[i].find('=');
    if (eq == std::string::npos || eq == 0)
      throw usage_error{"\"" + args[i] + "\" is not field=value, field+=code or field-=code"};
    client::field_edit e{args[i].substr(0, eq), client::field_edit::op::set,
                         args[i].substr(eq + 1)};
    if (e.field.back() == '+' || e.field.back() == '-') {
      e.action =
          e.field.back() == '+' ? client::field_edit::op::add : client::field_edit::op::remove;
      e.field.pop_back();
    }
    edits.push_back(std::move(e));
  }
  auto db = open_store(g);
  const auto id = resolve_id(*db, args[0]);
  if (auto r = db->edit(id, edits); !r) return fail(r.err());
  if (!a.has("quiet")) std::cout << "saved " << id.hex() << "\n";
  return exit_ok;
}

int cmd_delete(const global_options& g, const arguments& a) {
  if (a.positional().size() != 1) throw usage_error{"delete needs exactly one record id"};
  auto db = open_store(g);
  const auto id = resolve_id(*db, a.positional()[0]);
  if (auto r = db->remove(id); !r) return fail(r.err());
  std::cout << "deleted " << id.hex() << "\n";
  return exit_ok;
}

int cmd_list(const global_options& g, const arguments& a) {
  if (!a.positional().empty())
    throw usage_error{"list takes no arguments; use --type TYPE to filter"};
  auto db = open_store(g);
  const auto type = a.get("type");
  if (type && !db->schema().type(*type)) {
    std::string types;
    for (const auto& t : db->schema().types()) types += (types.empty() ? "" : ", ") + t.name;
    return fail(error{
        errc::invalid_input, "unknown record type \"" + *type + "\" (types: " + types + ")", {}});
  }
  auto records = db->list(type ? std::optional<std::string_view>(*type) : std::nullopt);
  if (!records) return fail(records.err());
  if (a.has("json")) {
    std::cout << client::to_json(records.value()) << "\n";
    return exit_ok;
  }
  for (const auto& r : records.value()) {
    std::string summary;
    for (const auto& [key, v] : r.fields)
      summary += (summary.empty() ? "" : " ") + key + "=" + to_text(v);
    std::cout << r.id.hex() << "  " << printable(r.type) << "  " << printable(r.team) << "  "
              << (r.pending ? "pending" : "synced ") << "  " << printable(summary) << "\n";
  }
  std::cerr << records->size() << " record" << (records->size() == 1 ? "" : "s") << "\n";
  return exit_ok;
}

int cmd_show(const global_options& g, const arguments& a) {
  if (a.positional().size() != 1) throw usage_error{"show needs exactly one record id"};
  auto db = open_store(g);
  const auto id = resolve_id(*db, a.positional()[0]);
  auto r = db->get(id);
  if (!r) return fail(r.err());
  if (!r.value())
    return fail(error{errc::not_found, "no record " + id.hex() + " in this store", {}});
  if (a.has("json"))
    std::cout << client::to_json(*r.value()) << "\n";
  else
    print_record(*r.value(), db->schema());
  return exit_ok;
}

int cmd_import(const global_options& g, const arguments& a) {
  if (a.positional().size() != 1)
    throw usage_error{"import needs one file of JSON lines (or - for standard input)"};
  const std::string& file = a.positional()[0];
  std::ifstream in;
  if (file != "-") {
    // Only a file has an end: a directory holds no lines, and a device or a
    // pipe (/dev/zero, /dev/stdin) may never end. Standard input is "-".
    std::error_code ec;
    const auto st = std::filesystem::status(file, ec);
    if (!std::filesystem::exists(st))
      return fail(error{errc::not_found,
                        "cannot read " + file + ": there is no such file; nothing was imported",
                        {}});
    if (std::filesystem::is_directory(st))
      return fail(error{errc::invalid_input,
                        file + " is a directory, not a file of JSON lines: give the file to "
                               "import; nothing was imported",
                        {}});
    if (!std::filesystem::is_regular_file(st))
      return fail(error{errc::invalid_input,
                        file + " is not a regular file (a device, a pipe or a socket): give a file "
                               "of JSON lines, or - "
                               "to read standard input; nothing was imported",
                        {}});
    in.open(file, std::ios::binary);
    if (!in)
      return fail(error{errc::not_found,
                        "cannot read " + file + " (check its permissions); nothing was imported",
                        {}});
  }
  auto db = open_store(g);
  auto ids = client::import_jsonl(*db, file == "-" ? std::cin : in);
  if (!ids) return fail(ids.err());
  std::cout << "imported " << ids->size() << " record" << (ids->size() == 1 ? "" : "s") << "\n";
  return exit_ok;
}

volatile std::sig_atomic_t stop_requested = 0;

std::string plural(std::size_t n, std::string_view word) {
  const bool sibilant = word.ends_with("ch") || word.ends_with("s");
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : sibilant ? "es" : "s");
}

// The contents of a PEM file given with --ca.
std::string read_ca(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw failure(errc::not_found, "cannot read the certificate file " + file);
  std::stringstream pem;
  pem << in.rdbuf();
  return pem.str();
}

int cmd_enroll(const global_options& g, const arguments& a) {
  if (!a.positional().empty())
    throw usage_error{"enroll takes no arguments besides --server, --code and --ca"};
  const auto url = a.get("server");
  const auto code = a.get("code");
  if (!url || !code) throw usage_error{"enroll needs --server wss://HOST:PORT and --code CODE"};
  if (g.db.empty()) throw usage_error{"no store given: pass --db PATH (or set HAVEN_DB)"};
  const std::string ca = a.has("ca") ? read_ca(*a.get("ca")) : "";
  // A new store's team is the enrollment's; until then it is a placeholder.
  const bool created = !std::filesystem::exists(g.db);
  auto db = created ? unwrap(store::create(g.db, "unenrolled", store_options(g))) : open_store(g);
  auto r = client::enroll(*db, *url, *code, ca);
  if (!r) {
    if (created) {
      db.reset();
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(g.db + suffix);
    }
    return fail(error{r.err().code, "enrollment failed: " + r.err().message, r.err().issues});
  }
  const auto& d = r->device;
  std::cout << "enrolled as device " << printable(d.device_id) << " in team " << printable(d.team)
            << " (" << printable(d.role) << "); syncs with " << printable(d.server_url) << "\n";
  if (!r->coordinator_token.empty())
    std::cout << "coordinator token (shown only now; keep it safe): "
              << printable(r->coordinator_token) << "\n";
  return exit_ok;
}

int cmd_sync(const global_options& g, const arguments& a) {
  if (!a.positional().empty())
    throw usage_error{
        "sync takes no arguments besides --server, --ca, --trust-new-server and --watch"};
  auto db = open_store(g);
  const auto ca_file = a.get("ca");
  client::sync_options o = unwrap(client::sync_options_for(
      *db, a.get("server"), ca_file ? std::optional(read_ca(*ca_file)) : std::nullopt,
      a.has("trust-new-server")));
  // A wiped store has no server any more; sync_now says why it cannot sync.
  if (o.server_url.empty() && !unwrap(db->status()).wiped)
    throw usage_error{
        "sync needs --server wss://HOST:PORT/sync (or enroll the device: haven enroll)"};
  o.on_event = [](std::string_view e) { std::cerr << "haven sync: " << printable(e) << "\n"; };
  o.on_progress = [](const sync::sync_progress& p) {
    std::cerr << "  up " << plural(p.batches_up, "batch") << " / " << plural(p.changes_up, "change")
              << ", down " << plural(p.batches_down, "batch") << " / "
              << plural(p.changes_down, "change") << "\n";
  };
  if (a.has("watch")) {
    std::signal(SIGINT, [](int) { stop_requested = 1; });
    std::signal(SIGTERM, [](int) { stop_requested = 1; });
    o.should_stop = [] { return stop_requested != 0; };
  }
  auto r = a.has("watch") ? client::sync_watch(*db, o) : client::sync_now(*db, o);
  if (!r) return fail(error{r.err().code, "sync failed: " + r.err().message, r.err().issues});
  const auto& p = r->progress;
  if (!r->wiped || r->wiped->reason != sync::standing::revoked)
    std::cout << "synced: pushed " << plural(p.changes_up, "change") << " in "
              << plural(p.batches_up, "batch") << ", pulled " << plural(p.changes_down, "change")
              << " in " << plural(p.batches_down, "batch") << "; " << r->pending_after
              << " pending\n";
  if (r->wiped) {
    std::cout << (r->wiped->reason == sync::standing::retired
                      ? "this device was retired: everything it recorded reached the server, and "
                        "its local store "
                        "(records, outbox, keys) has been erased\n"
                      : "this device was revoked: the server refused it, and its local store "
                        "(records, outbox, "
                        "keys) has been erased; changes it had not synced are lost\n");
    return r->wiped->reason == sync::standing::retired ? exit_ok : exit_failed;
  }
  return exit_ok;
}

std::string format_time(std::int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm local{};
  localtime_r(&t, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &local);
  return buf;
}

int cmd_status(const global_options& g, const arguments& a) {
  if (!a.positional().empty()) throw usage_error{"status takes no arguments"};
  auto db = open_store(g);
  auto s = db->status();
  if (!s) return fail(s.err());
  if (a.has("json")) {
    std::cout << client::to_json(s.value()) << "\n";
    return exit_ok;
  }
  std::cout << "store           " << printable(g.db) << "\n"
            << "node            " << s->node << "\n";
  if (s->wiped) {  // the records, cursors and keys are gone: only this is left to say
    std::cout << "records         " << s->records << "\n"
              << "device          not enrolled\n"
              << "erased          " << format_time(s->wiped->at_ms)
              << ", on the server's order: the device was " << sync::to_string(s->wiped->reason)
              << "; enroll it again (haven enroll) to record\n";
    return exit_ok;
  }
  std::cout << "default team    " << printable(s->default_team) << "\n"
            << "schema version  " << s->schema_version << "\n"
            << "records         " << s->records << "\n"
            << "pending         " << s->pending_cells << " changes in " << s->pending_records
            << " records, not yet acknowledged by the server\n"
            << "pushed up to    " << s->acked_seq << " of " << s->local_seq << " local changes\n"
            << "pulled up to    server position " << s->pulled_seq << "\n"
            << "last sync       " << (s->last_sync_ms ? format_time(*s->last_sync_ms) : "never")
            << "\n"
            << "device          "
            << (s->device_id ? printable(*s->device_id) + " (enrolled)" : "not enrolled") << "\n";
  return exit_ok;
}

// The four attributes of person-code, from standard input only: at a terminal
// a prompt on stderr for each, otherwise exactly four lines (blank lines may follow).
client::person_attributes read_person() {
  using client::person_attributes;
  const std::pair<const char*, std::string person_attributes::*> items[] = {
      {"given name", &person_attributes::given_name},
      {"family name", &person_attributes::family_name},
      {"birth date (YYYY-MM-DD, or YYYY-MM or YYYY if that is all that is known)",
       &person_attributes::birth_date},
      {"nationality (ISO 3166-1 alpha-2 code, XX if unknown or stateless)",
       &person_attributes::nationality},
  };
  const bool terminal = isatty(STDIN_FILENO) == 1;
  person_attributes person;
  std::size_t lines = 0;
  for (const auto& [prompt, member] : items) {
    std::string& into = person.*member;
    into.reserve(256);  // no reallocation leaves an unwiped copy of a short name behind
    if (terminal) std::cerr << prompt << ": " << std::flush;
    if (!std::getline(std::cin, into)) break;
    ++lines;
  }
  if (lines < std::size(items))
    throw failure(errc::invalid_input,
                  "person-code reads four lines from standard input: given name, family name, "
                  "birth date, nationality (got " +
                      std::to_string(lines) + ")");
  if (!terminal) {
    std::string rest;
    while (std::getline(std::cin, rest))
      if (rest.find_first_not_of(" \t\r") != std::string::npos)
        throw failure(errc::invalid_input,
                      "person-code reads exactly four lines from standard input: given name, "
                      "family name, birth date, nationality; more followed");
  }
  return person;
}

int cmd_person_code(const global_options& g, const arguments& a) {
  if (!a.positional().empty())
    throw usage_error{
        "person-code takes no arguments: a name on the command line stays in the shell's history "
        "and "
        "is visible to every user of this machine (ps); type the attributes at the prompts or "
        "give them as four lines on standard input"};
  auto db = open_store(g);
  auto key = client::pseudonym_key(*db);
  if (!key && key.err().code == errc::not_found)
    return fail(
        error{errc::not_found, key.err().message + " (haven enroll --server URL --code CODE)", {}});
  if (!key) return fail(key.err());
  const client::person_attributes person = read_person();
  auto code = client::person_code(key.value(), person);
  if (!code) return fail(code.err());
  std::cout << code.value() << "\n";
  return exit_ok;
}

int cmd_card_codes(const global_options&, const arguments& a) {
  if (!a.positional().empty()) throw usage_error{"card-codes takes no arguments"};
  const std::string count_text = *a.get("count");
  std::size_t count = 0;
  const auto [end, ec] =
      std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
  if (ec != std::errc{} || end != count_text.data() + count_text.size() || count < 1 ||
      count > 10000)
    throw usage_error{"--count must be a whole number from 1 to 10000 (got \"" +
                      printable(count_text) + "\")"};
  for (std::size_t i = 0; i < count; ++i) std::cout << client::card_code() << "\n";
  return exit_ok;
}

const std::map<std::string, command>& commands() {
  static const std::map<std::string, command> table{
      {"init",
       {"haven --db PATH init --team TEAM",
        "Creates a new, empty store at PATH. New records belong to TEAM unless add says --team.\n"
        "TEAM is 1-32 characters of a-z, 0-9 and -. An existing store is never overwritten.",
        {{"team", "TEAM", "the team new records belong to"}},
        cmd_init}},
      {"add",
       {"haven --db PATH add TYPE field=value ... [--team TEAM] [--quiet]",
        "Records a new TYPE record and prints \"recorded TYPE ID\". Values are codes, dates "
        "(YYYY-MM-DD), whole numbers,\n"
        "true/false, or for set fields comma-separated codes (services=food,escort).\n"
        "Nothing is saved if any field is wrong; each problem is reported with its field.\n"
        "Types and fields: haven fields [TYPE].",
        {{"team", "TEAM", "the record's team (default: the store's)"},
         {"quiet", nullptr, "print only the new record's id (for scripts)"}},
        cmd_add}},
      {"edit",
       {"haven --db PATH edit ID field=value ... | field+=code | field-=code | field= [--quiet]",
        "Changes fields of a record and prints \"saved ID\". field= clears a field; for set "
        "fields,\n"
        "field+=code adds and field-=code removes elements (field=a,b replaces the whole set). All "
        "or\n"
        "nothing. ID is the record's id or its first 4 or more characters, if no other id begins "
        "so.",
        {{"quiet", nullptr, "print nothing on success"}},
        cmd_edit}},
      {"delete",
       {"haven --db PATH delete ID",
        "Deletes a record. Its values are erased from this device, and from every device and the\n"
        "server once synced. A deletion cannot be undone. ID may be a unique prefix (4+ "
        "characters).",
        {},
        cmd_delete}},
      {"list",
       {"haven --db PATH list [--type TYPE] [--json]",
        "Lists live records, oldest first, each marked pending (not yet acknowledged by the "
        "server)\n"
        "or synced.",
        {{"type", "TYPE", "only records of this type"}, {"json", nullptr, "print JSON"}},
        cmd_list}},
      {"show",
       {"haven --db PATH show ID [--json]",
        "Shows one record with all its fields. ID may be a unique prefix (4+ characters).",
        {{"json", nullptr, "print JSON"}},
        cmd_show}},
      {"import",
       {"haven --db PATH import FILE.jsonl",
        "Imports records from JSON lines, one {\"type\": ..., \"team\": ..., \"fields\": {...}} "
        "per line\n"
        "(FILE - reads standard input). All lines or none: every bad line is reported with its "
        "number,\n"
        "and a key given twice in a line is an error. FILE must be a regular file (not a "
        "directory,\n"
        "device or pipe); a line may hold at most 64 KiB, an import at most 64 MiB and 100000 "
        "records.",
        {},
        cmd_import}},
      {"status",
       {"haven --db PATH status [--json]",
        "Shows the node id, default team, record count, pending changes and sync cursors.",
        {{"json", nullptr, "print JSON"}},
        cmd_status}},
      {"sync",
       {"haven --db PATH sync [--server wss://HOST:PORT/sync] [--ca FILE] [--trust-new-server] "
        "[--watch]",
        "Pushes the changes recorded here, then pulls the team's changes until caught up, "
        "printing\n"
        "progress and a one-line summary. With --watch it stays connected, applies live changes,\n"
        "pushes new records as they are written, and reconnects with back-off when the server "
        "goes\n"
        "away (Ctrl-C stops). A failed sync loses nothing: sync again later.\n"
        "An enrolled device syncs with the server and pinned certificate it was enrolled with.\n"
        "When that server moves, --server NEW_URL follows it if the device pinned a certificate "
        "at\n"
        "enrollment (--ca) and the new wss:// address proves itself with that same certificate; "
        "--ca\n"
        "is then refused (a new certificate proves nothing). Without a pin, or to a ws:// "
        "address,\n"
        "nothing can prove the new address is your server: --server NEW_URL is refused unless you\n"
        "add --trust-new-server, on your coordinator's word that the server moved there. The new\n"
        "address is kept for later syncs once a sync with it has succeeded.\n"
        "wss:// checks the server's certificate against the system's trusted authorities, or only\n"
        "against the PEM certificate pinned at enrollment or given in --ca FILE (e.g. one from\n"
        "havend dev-cert); ws:// (unencrypted) is refused for any host but this computer "
        "(127.0.0.1,\n"
        "::1, localhost).",
        {{"server", "URL", "the server, if not the enrolled one: wss://HOST:PORT/sync"},
         {"ca", "FILE", "trust only this PEM certificate"},
         {"trust-new-server", nullptr,
          "follow --server to a new address on your coordinator's word"},
         {"watch", nullptr, "stay connected and sync as changes happen (Ctrl-C stops)"}},
        cmd_sync}},
      {"enroll",
       {"haven --db PATH enroll --server wss://HOST:PORT --code CODE [--ca FILE]",
        "Enrolls this device with the server using the one-time CODE a coordinator gave you\n"
        "(creating the store if there is none): the device gets its id, team and keys, and later\n"
        "syncs need no --server. --ca FILE pins the server's certificate (PEM) for this and every\n"
        "later sync. Prints the device id and team; for a coordinator, also a token shown only "
        "once.",
        {{"server", "URL", "the server: wss://HOST:PORT (or https://)"},
         {"code", "CODE", "the one-time enrollment code"},
         {"ca", "FILE", "pin the server's certificate (PEM)"}},
        cmd_enroll}},
      {"person-code",
       {"haven --db PATH person-code   (the attributes come from standard input, never from "
        "arguments)",
        "Prints the person code (pseudonym) for a record's person field: HMAC-SHA-256 of the "
        "person's\n"
        "given name, family name, birth date and nationality with the team's pseudonym key, which "
        "this\n"
        "device received at enrollment. At a terminal it asks for each; otherwise it reads them as "
        "four\n"
        "lines from standard input, in that order. They are never taken as arguments (shell "
        "history, ps)\n"
        "and never stored: only the code is, by add. Case, accents, hyphens, apostrophes and "
        "spacing do\n"
        "not change the code; other spellings or scripts do (Mueller is not Müller). A birth date "
        "may be\n"
        "YYYY-MM or YYYY when only that is known, but gives another code than the full date: use "
        "the same\n"
        "precision for a person every time. Nationality: ISO 3166-1 alpha-2, XX if unknown or "
        "stateless.\n"
        "The code hides the attributes from whoever lacks the key; anyone with the team's key (any "
        "of its\n"
        "devices) can test a guessed name and birth date against a code.",
        {},
        cmd_person_code}},
      {"card-codes",
       {"haven card-codes [--count N]",
        "Prints N (default 10, at most 10000) new person codes for printed cards, one per line:\n"
        "K-XXXX-XXXX-XXXC, random, with the check character as the last one (a mistyped character\n"
        "is refused when the code is typed into a person field). Give each card to one person and\n"
        "type its code at every contact with them, instead of deriving one with person-code. "
        "Needs\n"
        "no store: any device or computer can print cards.",
        {{"count", "N", "how many codes, 1-10000", "10"}},
        cmd_card_codes}},
      {"fields",
       {"haven fields [TYPE]",
        "Lists the record types, or the fields of TYPE with their kinds and codes.",
        {},
        nullptr}},
  };
  return table;
}

const char* kind_name(field_kind k) {
  switch (k) {
    case field_kind::date:
      return "date YYYY-MM-DD";
    case field_kind::integer:
      return "whole number";
    case field_kind::code:
      return "one of";
    case field_kind::code_set:
      return "set of";
    case field_kind::boolean:
      return "true/false";
    case field_kind::country:
      return "country (ISO 3166-1 alpha-2, XX = unknown/stateless)";
    case field_kind::pseudonym:
      return "person code (from person-code or a card, e.g. P-46PN-8HHA-AAKG-C9YS)";
  }
  return "";
}

int cmd_fields(const global_options& g, const arguments& a) {
  const auto s = load_schema(g);
  if (a.positional().empty()) {
    for (const auto& t : s->types())
      std::cout << printable(t.name) << "  " << printable(t.title) << "\n";
    return exit_ok;
  }
  const record_type* t = s->type(a.positional()[0]);
  if (!t)
    throw usage_error{"unknown record type \"" + a.positional()[0] + "\"; haven fields lists them"};
  for (const auto& f : t->fields) {
    std::cout << printable(f.key) << (f.required ? " (required)" : "") << ": " << kind_name(f.kind);
    if (f.kind == field_kind::code || f.kind == field_kind::code_set) {
      std::string codes;
      for (const auto& c : f.codes) codes += (codes.empty() ? " " : ", ") + c;
      std::cout << printable(codes);
    }
    if (f.min) std::cout << ", at least " << *f.min;
    if (f.max) std::cout << ", at most " << *f.max;
    if (!is_null(f.default_value)) std::cout << ", default " << printable(to_text(f.default_value));
    std::cout << "\n";
  }
  return exit_ok;
}

po::options_description program_options() {
  po::options_description o("Options");
  o.add_options()("db", po::value<std::string>()->value_name("PATH"),
                  "the store (default: $HAVEN_DB)")(
      "schema", po::value<std::string>()->value_name("FILE"),
      "a schema file instead of the built-in one")("help,h", po::bool_switch(), "print this help")(
      "version", po::bool_switch(), "print haven's version");
  return o;
}

void print_help() {
  std::cout << "haven - record anonymised contacts offline\n\n"
               "usage: haven [--db PATH] [--schema FILE] COMMAND [ARGS]\n\ncommands:\n";
  for (const auto& [name, c] : commands()) std::cout << "  " << c.usage << "\n";
  std::cout << "\n" << program_options() << "\nhaven COMMAND --help explains a command.\n";
}

int run(int argc, char** argv) {
  global_options g;
  po::variables_map parsed;
  cl::invocation invocation;
  try {
    invocation = cl::parse_global(argc, argv, program_options(), parsed);
  } catch (const usage_error& e) {
    return cl::report("haven", e.what());
  }
  if (parsed["help"].as<bool>()) {
    print_help();
    return exit_ok;
  }
  if (parsed["version"].as<bool>()) {
    std::cout << "haven " << cl::version() << " (schema " << schema::builtin()->version() << ")\n";
    return exit_ok;
  }
  if (parsed.count("db"))
    g.db = parsed["db"].as<std::string>();
  else if (const char* env = std::getenv("HAVEN_DB"))
    g.db = env;
  if (parsed.count("schema")) g.schema_file = parsed["schema"].as<std::string>();
  if (invocation.command.empty()) {
    print_help();
    return exit_usage;
  }
  std::vector<std::string> rest = std::move(invocation.args);
  std::string name = invocation.command;
  if (name == "help") {
    if (rest.empty()) return print_help(), exit_ok;
    name = rest.front();
    rest = {"--help"};
  }
  const auto it = commands().find(name);
  if (it == commands().end())
    return cl::report("haven", "unknown command \"" + printable(name) + "\"");
  const command& c = it->second;
  const std::string program = "haven " + it->first;
  const po::options_description visible = options_of(c);
  if (std::find(rest.begin(), rest.end(), "--help") != rest.end() ||
      std::find(rest.begin(), rest.end(), "-h") != rest.end()) {
    std::cout << "usage: " << c.usage << "\n\n" << c.help << "\n";
    if (!c.flags.empty()) std::cout << "\n" << visible;
    return exit_ok;
  }
  try {
    po::options_description all(visible);
    all.add_options()("arguments", po::value<std::vector<std::string>>());
    po::positional_options_description positional;
    positional.add("arguments", -1);
    po::variables_map own;
    cl::parse(rest, all, positional, own);
    const arguments parsed_arguments(own, c.flags);
    return c.run ? c.run(g, parsed_arguments) : cmd_fields(g, parsed_arguments);
  } catch (const usage_error& e) {
    return cl::report(program, e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const usage_error& e) {
    return cl::report("haven", e.what());
  } catch (const failure& f) {
    return fail(f.err());
  } catch (const std::exception& e) {
    std::cerr << "haven: internal error: " << printable(e.what()) << "\n";
    return exit_failed;
  }
}
