// The storage conformance suite (store_conformance.hpp) run against the
// embedded SQLite central store and access registry. A second backend adds a
// file like this one.

#include "store_conformance.hpp"

namespace haven::test {
namespace {

std::unique_ptr<server::access_registry> open_sqlite_registry_in(const temp_dir& dir) {
  return server::open_sqlite_registry(dir.file("central.db"));
}

}  // namespace

HAVEN_STORE_CONFORMANCE("sqlite", open_sqlite_in)
HAVEN_REGISTRY_CONFORMANCE("sqlite", open_sqlite_registry_in)

}  // namespace haven::test
