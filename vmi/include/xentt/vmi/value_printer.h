// xentt/vmi/value_printer.h: a Value as gdb's `print` shows it, and as JSON
// for `--json`. Printers only format: the bytes come from one read of the
// whole object (a task_struct: one ~10 KB read), plus one read per string a
// `char *` points to.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "xentt/vmi/typed_value.h"

namespace xentt::vmi {

struct PrintOptions {
  std::size_t max_elements = 200;  // array elements and string characters (gdb's `print elements`)
  std::size_t repeat_threshold = 10;  // runs longer than this print as `<repeats N times>`
};

// gdb's notation: `42`, `(struct list_head *) 0xffff888000000000`,
// `"swapper/0\000\000"`, `{next = 0x..., prev = 0x...}`, `{1, 2, 3}`,
// `TASK_RUNNING` (an enum), `true`, `115 's'` (a char). Throws BadInput
// when the object itself cannot be read (naming its expression); a string
// a pointer points to that cannot be read prints as
// `<error: Cannot access memory at address 0x...>`, as gdb does.
std::string format_value(const EvalContext& cx, const Value& v, const PrintOptions& opt = {});

// {"expr": "...", "type": "struct list_head *", "address": "0x..." | null,
//  "value": V} where V is: a number (integers, chars, floats), true/false,
// a string "0x..." (pointers), the enumerator's name (else a number), a
// string (char arrays, up to the first NUL, other bytes as \xNN), an
// array, or an object of members (anonymous members' fields merged in).
nlohmann::json value_json(const EvalContext& cx, const Value& v, const PrintOptions& opt = {});

}  // namespace xentt::vmi
