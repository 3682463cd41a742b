#pragma once
// Who may use the kiosk's local API: only the page this program served.
// A request must name this program's own address as Host (no DNS
// rebinding), come from no other Origin, and carry the per-start secret
// (which only that page holds) in the X-Haven-Kiosk header. Immutable after
// construction: thread-safe.

#include <optional>
#include <string>
#include <string_view>

namespace haven::kiosk {

class local_guard {
 public:
  // Secret: 32 random bytes as hex, drawn now. `authority` is the address
  // the program listens on, e.g. "127.0.0.1:8731".
  explicit local_guard(std::string authority);

  const std::string& secret() const { return secret_; }
  const std::string& origin() const { return origin_; }  // http://AUTHORITY

  // Why a request with these headers (empty when absent) may not see the
  // pages at all, or nullopt: another Host, or a foreign Origin.
  std::optional<std::string> refuse_page(std::string_view host, std::string_view origin) const;
  // As refuse_page, and also a missing or wrong secret: for the local API.
  std::optional<std::string> refuse_api(std::string_view host, std::string_view origin,
                                        std::string_view secret) const;

 private:
  std::string authority_, localhost_authority_, origin_, secret_;
};

}  // namespace haven::kiosk
