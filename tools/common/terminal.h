// terminal.h: the user's terminal while a tool shows a guest's console:
// keys read without waiting (cbreak: signal keys keep their meaning), or
// raw (every key, Ctrl-C included, goes to the guest), the saved mode
// restored on every way out (the destructor; tool_main unwinds on errors
// and signals).
#pragma once

#include <termios.h>

#include <string>

namespace xentt::tools {

// Ctrl-], as telnet and virsh console use it.
inline constexpr char kDetachKey = 0x1d;

class Terminal {
 public:
  enum class Mode { Cbreak, Raw };
  // Takes stdin into `mode` when it is a terminal; otherwise does nothing
  // (active() false).
  explicit Terminal(Mode mode);
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  bool active() const { return active_; }
  // What was typed since the last call, without waiting ("" when nothing;
  // never blocks).
  std::string take_input();

 private:
  termios saved_{};
  bool active_ = false;
};

// Stdin and stdout are both terminals: a person is at the keyboard and
// sees the output (a test that redirects stdout is not one).
bool interactive();

}  // namespace xentt::tools
