// tool_main.h: the boundary where library errors become exit statuses.
//
// Every program's main() is `return xentt::tool_main(argc, argv, "name", run);`
// where run() parses options with CLI11, calls the libraries and prints. Here
// a CLI11 parse error or --help, an xentt::Error, or anything unexpected turns
// into one line on stderr prefixed with the program name and exit status
// 0 (help), 1 (runtime) or 2 (usage / bad input), per DESIGN.md.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace xentt {

// Runs `body(app)` after `app.parse(argc, argv)`. `setup` declares options on
// the app before parsing; `body` does the work and returns the exit status.
int tool_main(int argc, char** argv, const char* name, const char* description,
              const std::function<void(CLI::App&)>& setup, const std::function<int()>& body);

}  // namespace xentt
