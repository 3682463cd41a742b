#include "local_guard.hpp"

#include <haven/core/hex.hpp>
#include <haven/crypto/crypto.hpp>

namespace haven::kiosk {

local_guard::local_guard(std::string authority)
    : authority_(std::move(authority)),
      localhost_authority_("localhost" + authority_.substr(authority_.rfind(':'))),
      origin_("http://" + authority_),
      secret_(to_hex(crypto::random_bytes(32))) {}

std::optional<std::string> local_guard::refuse_page(std::string_view host,
                                                    std::string_view origin) const {
  if (host != authority_ && host != localhost_authority_)
    return "this app answers only at " + authority_ + ", not at \"" + std::string(host) +
           "\": open " + origin_ + "/";
  if (!origin.empty() && origin != origin_ && origin != "http://" + localhost_authority_)
    return "requests from another web site are refused: open " + origin_ + "/";
  return std::nullopt;
}

std::optional<std::string> local_guard::refuse_api(std::string_view host, std::string_view origin,
                                                   std::string_view secret) const {
  if (auto why = refuse_page(host, origin)) return why;
  if (!crypto::equal(secret, secret_))
    return "this request does not come from the kiosk page (no valid X-Haven-Kiosk secret): "
           "reload " +
           origin_ + "/";
  return std::nullopt;
}

}  // namespace haven::kiosk
