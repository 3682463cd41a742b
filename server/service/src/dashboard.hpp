#pragma once
#include <string_view>

namespace haven::server {
// The coordinator dashboard: one self-contained page that reads /api/tallies.
std::string_view dashboard_html();
}  // namespace haven::server
