// expr_lexer.h: the tokens of a `print` expression.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace xentt::vmi::detail {

enum class Tok { Ident, Number, Punct, End };

struct Token {
  Tok kind = Tok::End;
  std::string text;         // the identifier or punctuator ("->", ".", "*", ...)
  std::uint64_t number = 0;  // Tok::Number
  std::size_t column = 0;    // 1-based, for messages
};

// Splits `expr` into tokens ending with one Tok::End. Throws BadInput
// naming the column of a character that starts no token or a malformed
// number.
std::vector<Token> lex(std::string_view expr);

}  // namespace xentt::vmi::detail
