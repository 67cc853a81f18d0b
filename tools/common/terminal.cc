#include "terminal.h"

#include <unistd.h>

namespace xentt::tools {

Terminal::Terminal(Mode mode) {
  if (!::isatty(0) || ::tcgetattr(0, &saved_) != 0) return;
  termios t = saved_;
  if (mode == Mode::Raw) {
    ::cfmakeraw(&t);
  } else {
    t.c_lflag &= ~tcflag_t(ICANON | ECHO);
  }
  // Reads return at once with what is there (take_input never blocks).
  t.c_cc[VMIN] = 0;
  t.c_cc[VTIME] = 0;
  active_ = ::tcsetattr(0, TCSANOW, &t) == 0;
}

Terminal::~Terminal() {
  if (active_) ::tcsetattr(0, TCSANOW, &saved_);
}

std::string Terminal::take_input() {
  std::string in;
  if (!active_) return in;
  char buf[256];
  for (ssize_t n; (n = ::read(0, buf, sizeof buf)) > 0;) in.append(buf, static_cast<size_t>(n));
  return in;
}

bool interactive() { return ::isatty(0) && ::isatty(1); }

}  // namespace xentt::tools
