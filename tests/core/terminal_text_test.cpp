// printable(): what a terminal would obey is shown as escapes, the rest as it is.
#include <catch2/catch.hpp>
#include <haven/core/terminal_text.hpp>

using haven::printable;

TEST_CASE("printable keeps text, accents and scripts as they are", "[schema][terminal]") {
  CHECK(printable("") == "");
  CHECK(printable("PK-7Q2M-19 site=vic") == "PK-7Q2M-19 site=vic");
  CHECK(printable("Žalec, Šmarje, Ђурђевац, 東京") == "Žalec, Šmarje, Ђурђевац, 東京");
  CHECK(printable("a\\b") == "a\\b");
}

TEST_CASE("printable escapes C0, DEL, C1 and bidi controls, and bytes that are not UTF-8",
          "[schema][terminal]") {
  CHECK(printable("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m");
  CHECK(printable("\x1b]0;title\x07") == "\\x1b]0;title\\x07");
  CHECK(printable(std::string("a\0b", 3)) == "a\\x00b");
  CHECK(printable("tab\there\r\nline") == "tab\\x09here\\x0d\\x0aline");
  CHECK(printable("del\x7f") == "del\\x7f");
  CHECK(printable("csi\xc2\x9b"
                  "2J") == "csi\\u009b2J");  // U+009B, the 8-bit CSI
  CHECK(printable("\xe2\x80\xae"
                  "txt.exe") == "\\u202etxt.exe");  // right-to-left override
  CHECK(printable("\xe2\x81\xa6"
                  "x") == "\\u2066x");                    // left-to-right isolate
  CHECK(printable("\xff\xfe") == "\\xff\\xfe");           // not UTF-8
  CHECK(printable("\xc0\xaf") == "\\xc0\\xaf");           // an overlong "/"
  CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a surrogate
  CHECK(printable("cut \xe2\x80") == "cut \\xe2\\x80");   // a sequence cut short
}
