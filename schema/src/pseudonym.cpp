#include <haven/schema/pseudonym.hpp>

namespace haven {
namespace {

constexpr unsigned radix = 32;

int symbol_value(char c) {
  const auto at = crockford_base32.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

// Luhn mod N: from the rightmost symbol leftwards, every second one (starting
// with the rightmost when `with_check` is false) is doubled and its two base-32
// digits added. A code with its check symbol sums to 0 mod 32.
unsigned luhn_sum(std::string_view code, bool with_check) {
  unsigned sum = 0;
  bool doubled = !with_check;
  for (auto c = code.rbegin(); c != code.rend(); ++c) {
    if (*c == '-') continue;
    unsigned addend = static_cast<unsigned>(symbol_value(*c));
    if (doubled) addend = addend * 2 / radix + addend * 2 % radix;
    sum += addend;
    doubled = !doubled;
  }
  return sum % radix;
}

}  // namespace

bool valid_pseudonym(std::string_view code) {
  std::size_t symbols = 0, group = 0;
  for (char c : code) {
    if (c == '-') {
      if (group == 0) return false;  // leading or doubled hyphen
      group = 0;
    } else if (symbol_value(c) < 0 || ++group > pseudonym_max_group) {
      return false;
    } else {
      ++symbols;
    }
  }
  return group > 0 && symbols >= pseudonym_min_symbols && symbols <= pseudonym_max_symbols &&
         luhn_sum(code, true) == 0;
}

std::optional<std::string> canonical_pseudonym(std::string_view typed) {
  if (typed.size() > 2 * pseudonym_max_symbols) return std::nullopt;
  std::string code(typed);
  for (char& c : code)
    if (c != '-') c = crockford_symbol(c);
  if (!valid_pseudonym(code)) return std::nullopt;
  return code;
}

std::string with_check_symbol(std::string_view code) {
  std::string out(code);
  const unsigned sum = luhn_sum(code, false);
  out += crockford_base32[(radix - sum) % radix];
  return out;
}

}  // namespace haven
