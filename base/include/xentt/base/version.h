// bts/version.h: the library's version, for tools' --version and the replay log header.
#pragma once

namespace bts {
const char* version() noexcept;
}
