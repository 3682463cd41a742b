// haven_record_add called from C++: a record from fields JSON, checked through the C++ API.

#include <haven/client/haven.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "scratch_store.hpp"

using namespace haven::test;

TEST_CASE("c_api: haven_record_add adds a record from fields JSON", "[client][c_api]") {
  temp_dir dir;
  const std::string path = dir.file("c.db").string();
  haven_error err{};
  haven_store* db = nullptr;
  REQUIRE(haven_store_create(path.c_str(), "team-a", &db, &err));

  char id[33] = "";
  const bool ok = haven_record_add(
      db, "on_call_event", nullptr,
      R"({"date": "2026-03-01", "caller": "police", "outcome": "admitted"})", id, &err);
  INFO(err.message);
  CHECK(ok);
  CHECK(std::strlen(id) == 32);
  // A bad field is named, not "missing type".
  CHECK_FALSE(haven_record_add(db, "on_call_event", nullptr, R"({"caller": "ghost"})", id, &err));
  CHECK(err.code == HAVEN_INVALID_INPUT);
  CHECK_THAT(std::string(err.message), Catch::Contains("caller"));
  haven_store_close(db);
}
