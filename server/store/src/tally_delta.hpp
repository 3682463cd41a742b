#pragma once
// Private to tally_book: writes a batch's summed change (tally::delta) to
// tally_value and tally_person.

#include <haven/schema/schema.hpp>
#include <haven/server/tally_labels.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <haven/tally/delta.hpp>

namespace haven::server {

// Writes the sum to the tables, with `labels` the connection's tally_label
// for `names`, the numbers of the delta's cells; the schema's tallies are
// those the tables count. Requires: inside a transaction. Throws
// failure(errc::store), also when the tables contradict the sum (a
// retraction of what was never counted), and failure(errc::invalid_input)
// when an amount would overflow.
void write_delta(sqlite::database& db, tally_labels& labels, const tally::cell_names& names,
                 const schema& s, tally::delta& d);

}  // namespace haven::server
