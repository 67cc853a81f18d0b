#include "tool_main.h"

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "xentt/base/error.h"
#include "xentt/base/interrupt.h"

namespace xentt {

int tool_main(int argc, char** argv, const char* name, const char* description,
              const std::function<void(CLI::App&)>& setup, const std::function<int()>& body) {
  // A closed pipe (`bts_dump ... | head`) must end us quietly, with the
  // write error reported by the printer, not by a signal.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{description, name};
  app.set_version_flag("--version", "xentt 0.1.0");
  try {
    setup(app);
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << name << ": " << printable(e.what()) << " (try '" << name << " --help')\n";
    return 2;
  }
  try {
    return body();
  } catch (const Error& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return e.exit_status();
  } catch (const Interrupted& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << name << ": out of memory\n";
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    // The file system refused (read-only, not a directory, no space): the
    // environment, not a bug. "cannot create directories: Read-only file system [/x]".
    std::string what = e.what();
    if (what.starts_with("filesystem error: ")) what.erase(0, 18);
    std::cerr << name << ": " << printable(what) << "\n";
    return 1;
  } catch (const std::system_error& e) {
    // A reader that stopped early (`tt_vmi ... | head`): it has what it
    // wanted; nothing went wrong here. Quiet, status 0, as bts_dump.
    if (e.code() == std::errc::broken_pipe) return 0;
    std::cerr << name << ": " << printable(e.what()) << "\n";
    return 1;
  } catch (const std::exception& e) {
    // Not a user error: a bug or an unexpected library failure. Still one line.
    std::cerr << name << ": internal error: " << printable(e.what()) << "\n";
    return 1;
  }
}

}  // namespace xentt
