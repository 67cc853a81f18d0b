// xentt/base/version.h: the library's version, for tools' --version and the trace log header.
#pragma once

namespace xentt {
const char* version() noexcept;
}
