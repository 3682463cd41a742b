#pragma once
// Private to tally_book: writes a batch's summed change (tally::delta) to
// tally_value and tally_person.

#include <haven/sqlite/name_table.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <haven/tally/delta.hpp>

namespace haven::server {

// Writes the sum to the tables and clears it, with `labels` the connection's
// tally_label. Requires: inside a transaction. Throws failure(errc::store), also when the tables
// contradict the sum (a retraction of what was never counted), and failure(errc::invalid_input)
// when an amount would overflow.
void write_delta(sqlite::database& db, sqlite::name_table& labels, tally::delta& d);

}  // namespace haven::server
