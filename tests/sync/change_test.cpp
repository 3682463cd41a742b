// Record ids, cell keys of set elements, and folding cells into fields.

#include <catch2/catch.hpp>
#include <haven/schema/schema.hpp>
#include <haven/sync/validate.hpp>
#include <set>
#include <string>

#include "test_cells.hpp"

using namespace haven;
using namespace haven::sync;
using namespace haven::test;

TEST_CASE("random record ids differ", "[sync][record_id]") {
  std::set<record_id> seen;
  for (int i = 0; i < 2000; ++i) seen.insert(record_id::random());
  CHECK(seen.size() == 2000);
  CHECK(record_id::random() != record_id{});
}

TEST_CASE("record ids round-trip through 32 lowercase hex characters", "[sync][record_id]") {
  for (int i = 0; i < 100; ++i) {
    const record_id id = record_id::random();
    const std::string hex = id.hex();
    CAPTURE(hex);
    REQUIRE(hex.size() == 32);
    CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(record_id::parse(hex) == id);
  }
  record_id known;
  for (std::size_t i = 0; i < known.bytes.size(); ++i)
    known.bytes[i] = static_cast<std::uint8_t>(0x10 * i + 0x0f - i);
  CHECK(known.hex() == "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
  CHECK(record_id{}.hex() == std::string(32, '0'));
  CHECK(record_id::parse("0F1E2D3C4B5A69788796A5B4C3D2E1F0") == known);  // upper case accepted
}

TEST_CASE("record_id::parse refuses anything but 32 hex characters", "[sync][record_id]") {
  const std::string good = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
  REQUIRE(record_id::parse(good).has_value());
  for (const std::string& bad :
       {std::string(), good.substr(0, 31), good + "0", good.substr(0, 31) + "g",
        "x" + good.substr(1), " " + good.substr(1), good.substr(0, 31) + "\n",
        good.substr(0, 16) + "-" + good.substr(17), std::string(32, 'z'),
        good.substr(0, 30) + std::string(2, '\0')}) {
    CAPTURE(bad);
    CHECK_FALSE(record_id::parse(bad).has_value());
  }
}

TEST_CASE("set elements are cells keyed field.code", "[sync][change]") {
  CHECK(element_key("services", "food") == "services.food");
  const auto split = split_element_key("services.legal-information");
  REQUIRE(split.has_value());
  CHECK(split->first == "services");
  CHECK(split->second == "legal-information");
  CHECK_FALSE(split_element_key("site").has_value());
  CHECK_FALSE(split_element_key(deleted_key).has_value());
}

TEST_CASE("fields_from_cells folds element cells into sets", "[sync][change]") {
  const stamp s = at(1000, 0, 1);
  const field_map fields = fields_from_cells({
      make_cell("site", std::string("vic"), s),
      make_cell("participants", std::int64_t{12}, s),
      make_cell("date", from_civil(2025, 3, 1), s),
      make_cell("services.food", true, s),
      make_cell("services.escort", true, s),
      make_cell("services.legal-information", false, s),
      make_cell("topics.thb", true, s),
      make_cell("referral", value{}, s),
      deletion(s),
  });
  CHECK(fields.at("site") == value{std::string("vic")});
  CHECK(fields.at("participants") == value{std::int64_t{12}});
  CHECK(fields.at("date") == value{from_civil(2025, 3, 1)});
  CHECK(fields.at("services") == value{code_set{"escort", "food"}});
  CHECK(fields.at("topics") == value{code_set{"thb"}});
  CHECK_FALSE(fields.count("referral"));
  CHECK_FALSE(fields.count(std::string(deleted_key)));
  CHECK_FALSE(fields.count("services.food"));
  CHECK(fields.size() == 5);

  // A set whose elements are all removed holds nothing.
  const field_map removed = fields_from_cells({make_cell("services.food", false, s)});
  const auto it = removed.find("services");
  CHECK((it == removed.end() || it->second == value{code_set{}}));
  CHECK(fields_from_cells({}).empty());
}

namespace haven::sync {
namespace {

TEST_CASE("a device keeps a newer schema's set element only when the element is code-like",
          "[sync][validate]") {
  const auto s = schema::builtin();
  auto issues_of = [&](const std::string& key) {
    const record_change change{record_id{}, "pats_session", "outreach", {{key, value{true}, {}}}};
    return check_change(*s, change, std::nullopt, unknown_fields::keep_inert_values).size();
  };
  CHECK(issues_of("exploitation.forced-labour") == 0);  // an unknown set, a code-like element
  CHECK(issues_of("topics.new-topic") == 0);            // a known set, a newer code
  CHECK(issues_of("exploitation.") == 1);               // no element
  CHECK(issues_of("exploitation.a.b") == 1);            // an element that is no code
  CHECK(issues_of("topics.") == 1);
  CHECK(issues_of("topics.x.y") == 1);
}

}  // namespace
}  // namespace haven::sync
