#include "expr_lexer.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>

#include "xentt/base/error.h"

namespace xentt::vmi::detail {

std::vector<Token> lex(std::string_view s) {
  std::vector<Token> out;
  std::size_t i = 0;
  auto bad = [&](std::size_t at, const std::string& what) {
    return bad_input(fmt::format("expression '{}', column {}: {}", excerpt(s), at + 1, what));
  };
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    Token t;
    t.column = i + 1;
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t j = i;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      t.kind = Tok::Ident;
      t.text = s.substr(i, j - i);
      i = j;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      std::size_t j = i;
      while (j < s.size() && std::isalnum(static_cast<unsigned char>(s[j]))) ++j;
      std::string_view digits = s.substr(i, j - i);
      int base = 10;
      if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
        base = 16;
        digits.remove_prefix(2);
      }
      // C's integer suffixes (UL, ull, ...) say nothing we need.
      while (!digits.empty() && (digits.back() == 'u' || digits.back() == 'U' || digits.back() == 'l' || digits.back() == 'L'))
        digits.remove_suffix(1);
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), t.number, base);
      if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
        throw bad(i, fmt::format("'{}' is not a number (decimal or 0x hex, at most 64 bits)", s.substr(i, j - i)));
      t.kind = Tok::Number;
      t.text = s.substr(i, j - i);
      i = j;
    } else if (s.substr(i, 2) == "->") {
      t.kind = Tok::Punct;
      t.text = "->";
      i += 2;
    } else if (std::string_view(".[]()*&+-").find(c) != std::string_view::npos) {
      t.kind = Tok::Punct;
      t.text = std::string(1, c);
      ++i;
    } else {
      throw bad(i, fmt::format("unexpected '{}' (expressions use names, numbers, . -> [] * & + - () and casts)", c));
    }
    out.push_back(std::move(t));
  }
  Token end;
  end.column = s.size() + 1;
  out.push_back(end);
  return out;
}

}  // namespace xentt::vmi::detail
