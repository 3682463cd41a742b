#pragma once
// Private to the schema component: the parts of the schema parser that
// schema.cpp, tally.cpp and labels.cpp share.

#include <boost/json/value.hpp>
#include <haven/schema/labels.hpp>
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

// Resolves the schema's "labels" object (nullptr: none) for every language,
// checking that each key names a part of these types and tallies. Throws
// failure(errc::schema) naming the language and key that is wrong.
labels parse_labels(const boost::json::value* labels, const std::vector<record_type>& types,
                    const std::vector<tally_def>& tallies);

}  // namespace haven::detail
