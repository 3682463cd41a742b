#include <haven/core/crockford.hpp>

namespace haven {

char crockford_symbol(char typed) {
  char c = typed >= 'a' && typed <= 'z' ? static_cast<char>(typed - 'a' + 'A') : typed;
  if (c == 'I' || c == 'L') c = '1';
  if (c == 'O') c = '0';
  return c != '\0' && crockford_base32.find(c) != std::string_view::npos ? c : '\0';
}

std::string crockford_groups(std::string_view random, std::size_t group) {
  std::string out;
  for (std::size_t i = 0; i < random.size(); ++i) {
    if (i && i % group == 0) out.push_back('-');
    // 256 is a multiple of 32, so the low five bits of a uniform byte are uniform.
    out.push_back(crockford_base32[static_cast<unsigned char>(random[i]) & 31u]);
  }
  return out;
}

}  // namespace haven
