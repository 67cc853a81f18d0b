#include "xentt/base/version.h"

namespace bts {
const char* version() noexcept { return "0.1.0"; }
}  // namespace bts
