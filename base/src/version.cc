#include "xentt/base/version.h"

namespace xentt {
const char* version() noexcept { return "0.1.0"; }
}  // namespace xentt
