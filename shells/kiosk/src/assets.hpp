#pragma once
// The app's files (HTML, CSS, script, icons), compiled into the program by
// embed_assets.cmake: nothing is read from disk or fetched at run time.

#include <span>
#include <string_view>

namespace haven::kiosk {

struct asset {
  std::string_view path;          // "/app.js"; "/index.html" is also served at "/"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;
};

// Every asset, sorted by path.
std::span<const asset> assets();

}  // namespace haven::kiosk
