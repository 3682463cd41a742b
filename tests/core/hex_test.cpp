#include <catch2/catch.hpp>
#include <haven/core/hex.hpp>

namespace haven {
namespace {

TEST_CASE("hex spells every byte in two lower-case digits and reads either case back",
          "[core][hex]") {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const std::string hex = to_hex(all);
  CHECK(hex.size() == 512);
  CHECK(hex.substr(0, 6) == "000102");
  CHECK(hex.substr(508) == "feff");
  CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
  REQUIRE(from_hex(hex).ok());
  CHECK(from_hex(hex).value() == all);
  CHECK(from_hex("DEADbeef").value() == "\xde\xad\xbe\xef");
  CHECK(from_hex("").value().empty());
}

TEST_CASE("hex refuses an odd length and a character that is not a digit", "[core][hex]") {
  CHECK(from_hex("abc").err().code == errc::invalid_input);
  CHECK(from_hex("0g").err().code == errc::invalid_input);
  CHECK(from_hex("0g").err().message.find("not hex") != std::string::npos);
}

}  // namespace
}  // namespace haven
