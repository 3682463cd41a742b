#include <boost/json.hpp>
#include <haven/client/enrollment.hpp>
#include <haven/core/hex.hpp>
#include <haven/crypto/crypto.hpp>

#include "connection.hpp"

namespace haven::client {
namespace {

namespace json = boost::json;

constexpr auto enroll_timeout = std::chrono::seconds(30);

std::string text_of(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The server's refusal as an error a user can act on.
error refusal(const link::http_reply& reply, const link::server_url& url) {
  std::string message;
  json::error_code ec;
  const json::value body = json::parse(reply.body, ec);
  if (!ec && body.is_object()) message = text_of(body.get_object(), "error");
  if (message.empty()) message = "HTTP " + std::to_string(reply.status);
  message = "the server at " + url.authority() + " refused the enrollment: " + message;
  const unsigned s = reply.status;
  if (s == 429 || s >= 500) {
    if (!reply.retry_after.empty()) message += "; try again in " + reply.retry_after + " s";
    return error{errc::unavailable, message, {}};
  }
  if (s == 401 || s == 403 || s == 409 || s == 410) return error{errc::unauthorized, message, {}};
  if (s == 404 && message.find("HTTP 404") != std::string::npos)
    return error{errc::unavailable, message + " (this havend does not offer enrollment)", {}};
  return error{errc::invalid_input, message, {}};
}

// The server's answer as credentials; errc::protocol if it is not the expected JSON.
enrollment_result accepted(const link::http_reply& reply) {
  auto broken = [](const std::string& why) {
    return failure(errc::protocol, "the server's enrollment answer " + why);
  };
  json::error_code ec;
  const json::value body = json::parse(reply.body, ec);
  if (ec || !body.is_object()) throw broken("is not a JSON object");
  const json::object& o = body.get_object();
  enrollment_result r;
  r.device.device_id = text_of(o, "device_id");
  r.device.team = text_of(o, "team");
  r.device.role = text_of(o, "role");
  r.coordinator_token = text_of(o, "token");
  if (r.device.device_id.empty() || r.device.team.empty() || r.device.role.empty())
    throw broken("lacks device_id, team or role");
  auto key = from_hex(text_of(o, "pseudonym_key"));
  if (!key || key.value().size() != 32) throw broken("has no 64-hex-digit pseudonym_key");
  r.device.pseudonym_key = std::move(key.value());
  return r;
}

}  // namespace

result<enrollment_result> enroll(store& db, std::string_view server_url, std::string_view code,
                                 std::string ca_pem) {
  return capture([&] {
    link::server_url url = unwrap(link::parse_server_url(
        server_url, {"wss", "https", "ws", "http"}, "/", "wss://HOST:PORT or https://HOST:PORT"));
    unwrap(link::require_encryption(url, "the enrollment code", "wss"));
    if (unwrap(db.enrollment()))
      throw failure(errc::already_exists, "this device is enrolled already");
    if (code.empty()) throw failure(errc::invalid_input, "no enrollment code given");

    const crypto::signing_key key = crypto::generate_signing_key();
    url.target = "/api/enroll";
    const json::object request{{"code", code}, {"public_key", to_hex(key.public_key)}};
    const link::http_reply reply =
        unwrap(link::post_json(url, ca_pem, json::serialize(request), enroll_timeout));
    if (reply.status != 200) throw failure(refusal(reply, url));

    enrollment_result r = accepted(reply);
    r.device.server_url = (url.tls ? "wss://" : "ws://") + url.authority() + "/sync";
    r.device.private_key = key.private_key;
    r.device.ca_pem = std::move(ca_pem);
    if (auto kept = db.enroll(r.device); !kept)
      throw failure(kept.err().code, "the server enrolled this device as " + r.device.device_id +
                                         ", but the store did not keep it: " + kept.err().message);
    return r;
  });
}

result<std::string> pseudonym_key(store& db) {
  return capture([&] {
    auto enrolled = unwrap(db.enrollment());
    if (!enrolled || enrolled->pseudonym_key.empty())
      throw failure(errc::not_found, "this device has no pseudonym key yet: enroll it first");
    return std::move(enrolled->pseudonym_key);
  });
}

}  // namespace haven::client
