// Error messages are one printable line, whatever they quote (issue 11: a
// NUL in a file cut the message short; raw bytes reached the terminal).
#include <catch2/catch_test_macros.hpp>
#include <string>

#include "xentt/base/error.h"

using namespace xentt;

TEST_CASE("an error's message is one printable line: control bytes and non-UTF-8 are escaped") {
  using namespace std::string_literals;
  CHECK(bad_input("a\0b"s).what() == "a\\x00b"s);
  CHECK(bad_input("line1\nline2\tx").what() == "line1\\nline2\\tx"s);
  CHECK(bad_input("\x1b[2Jclear").what() == "\\x1b[2Jclear"s);
  CHECK(bad_input("del\x7f").what() == "del\\x7f"s);
  CHECK(bad_input("bad \xff\xfe utf8").what() == "bad \\xff\\xfe utf8"s);
  CHECK(bad_input("cut \xc3").what() == "cut \\xc3"s);  // a sequence cut short
  CHECK(bad_input("über/naïve → ok").what() == "über/naïve → ok"s);  // UTF-8 stays
  std::string once = printable("x\ny\0z\xff"s);
  CHECK(printable(once) == once);  // idempotent: an Error made from another's message keeps it
  CHECK(Error(ErrorKind::Runtime, runtime_error("a\nb").what()).what() == "a\\nb"s);
}
