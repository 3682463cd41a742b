#pragma once
// Private to the schema component: what schema.cpp and tally.cpp share.

#include <boost/json/value.hpp>
#include <haven/schema/schema.hpp>
#include <haven/schema/tally.hpp>
#include <string_view>
#include <vector>

namespace haven::detail {

// A code: 1-64 characters of [A-Za-z0-9_-].
bool is_code(std::string_view s);

// Parses the schema's "tallies" array and checks it against the record
// types. Throws failure(errc::schema) with a message that names the tally and
// what is wrong with it.
std::vector<tally_def> parse_tallies(const boost::json::value& tallies,
                                     const std::vector<record_type>& types);

}  // namespace haven::detail
