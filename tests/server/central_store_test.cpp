// What only the SQLite central store does: it refuses a file that is not
// havend's store and stamps its own. The contracts every backend keeps are
// in the conformance suite (store_conformance.hpp).

#include <catch2/catch.hpp>
#include <haven/server/access_registry.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <haven/sqlite/store_identity.hpp>
#include <string>

#include "central_fixture.hpp"

namespace haven::test {

using Catch::Matchers::Contains;

TEST_CASE("open_sqlite_store refuses a file that is not a havend store",
          "[server][central_store]") {
  temp_dir dir;
  const std::string other = dir.file("device.db");
  {
    sqlite::database db(other, sqlite::database::mode::create);
    db.exec(
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value ANY); INSERT INTO meta VALUES ('role', "
        "'device');");
  }
  try {
    server::open_sqlite_store(other, shipped_schema());
    FAIL("a device store was opened as a central store");
  } catch (const failure& e) {
    CHECK(e.err().code == errc::store);
    CHECK_THAT(e.err().message, Contains("not havend's central store; nothing was changed"));
  }
}

TEST_CASE("open_sqlite_store stamps a new store as havend's and refuses one stamped as a device's",
          "[server][central_store][stores]") {
  temp_dir dir;
  const std::string central = dir.file("central.db");
  server::open_sqlite_store(central, shipped_schema());
  {
    sqlite::database db(central, sqlite::database::mode::open_existing);
    sqlite::statement id(db, "PRAGMA application_id");
    REQUIRE(id.step());
    CHECK(id.integer(0) == sqlite::central_application_id);
  }
  const std::string device = dir.file("device.db");
  {
    sqlite::database db(device, sqlite::database::mode::create);
    db.exec("PRAGMA application_id = " + std::to_string(sqlite::device_application_id) +
            "; CREATE TABLE meta(key TEXT PRIMARY KEY, value ANY)");
  }
  for (int attempt = 0; attempt < 2; ++attempt) {  // the central store, then the registry
    try {
      if (attempt == 0)
        server::open_sqlite_store(device, shipped_schema());
      else
        server::open_sqlite_registry(device);
      FAIL("a device store was opened as the central store");
    } catch (const failure& e) {
      CHECK(e.err().code == errc::store);
      CHECK_THAT(e.err().message,
                 Contains("is a device store of haven, not havend's central store"));
    }
  }
}

}  // namespace haven::test
