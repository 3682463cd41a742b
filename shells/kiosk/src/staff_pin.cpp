#include "staff_pin.hpp"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <haven/core/hex.hpp>
#include <haven/crypto/crypto.hpp>
#include <sstream>

namespace haven::kiosk {
namespace {

// scrypt with N = 2^15, r = 8, p = 1 (32 MiB, about 0.1 s a guess).
constexpr std::uint64_t scrypt_n = 1u << 15, scrypt_r = 8, scrypt_p = 1;

std::string scrypt(std::string_view pin, std::string_view salt, std::uint64_t n, std::uint64_t r,
                   std::uint64_t p) {
  std::string out(32, '\0');
  if (EVP_PBE_scrypt(pin.data(), pin.size(), reinterpret_cast<const unsigned char*>(salt.data()),
                     salt.size(), n, r, p, 64ull << 20,
                     reinterpret_cast<unsigned char*>(out.data()), out.size()) != 1)
    throw failure(errc::internal, "scrypt failed");
  return out;
}

}  // namespace

staff_pin::staff_pin(std::filesystem::path file) : file_(std::move(file)) {}

bool staff_pin::is_set() const {
  std::error_code ec;
  return std::filesystem::exists(file_, ec);
}

result<void> staff_pin::choose(std::string_view pin) {
  return capture([&] {
    if (pin.size() < 4 || pin.size() > 12 ||
        !std::all_of(pin.begin(), pin.end(), [](char c) { return c >= '0' && c <= '9'; }))
      throw failure(errc::invalid_input, "the staff PIN must be 4 to 12 digits");
    const std::string salt = crypto::random_bytes(16);
    const boost::json::object kept{
        {"kdf", "scrypt"},      {"n", scrypt_n},
        {"r", scrypt_r},        {"p", scrypt_p},
        {"salt", to_hex(salt)}, {"hash", to_hex(scrypt(pin, salt, scrypt_n, scrypt_r, scrypt_p))}};
    const auto temporary = file_.string() + ".new";
    {
      std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
      out << boost::json::serialize(kept);
      if (!out.flush())
        throw failure(errc::store, "cannot write the PIN file " + temporary +
                                       ": check the folder's permissions and free space");
    }
    ::chmod(temporary.c_str(), 0600);
    std::filesystem::rename(temporary, file_);
    failures_ = 0;
  });
}

void staff_pin::forget() {
  std::error_code ec;
  std::filesystem::remove(file_, ec);
  failures_ = 0;
}

result<void> staff_pin::verify(std::string_view pin, clock::time_point now) {
  return capture([&] {
    if (now < next_attempt_) {
      const auto wait = std::chrono::ceil<std::chrono::seconds>(next_attempt_ - now).count();
      throw failure(errc::unavailable,
                    "too many wrong PINs: wait " + std::to_string(wait) + " s before trying again");
    }
    std::ifstream in(file_, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) throw failure(errc::not_found, "no staff PIN has been chosen on this device");
    const auto kept = boost::json::parse(text.str()).as_object();
    const std::string salt = unwrap(from_hex(kept.at("salt").as_string()));
    const std::string expected = unwrap(from_hex(kept.at("hash").as_string()));
    const std::string given =
        scrypt(pin, salt, kept.at("n").to_number<std::uint64_t>(),
               kept.at("r").to_number<std::uint64_t>(), kept.at("p").to_number<std::uint64_t>());
    if (crypto::equal(given, expected)) {
      failures_ = 0;
      return;
    }
    ++failures_;
    if (failures_ >= 3) {
      const auto delay = std::min(std::chrono::seconds(5) * (1 << std::min(failures_ - 3, 6)),
                                  std::chrono::seconds(300));
      next_attempt_ = now + delay;
    }
    throw failure(errc::unauthorized, "wrong PIN");
  });
}

}  // namespace haven::kiosk
