// vmtrace's control side (vm/xen/vmtrace.h) without Xen: what a failing
// call says, from the errno Xen answers and the facts gathered after it
// (explain_vmtrace_failure is pure), and the checks made before any
// hypercall. The hypercalls themselves need a Xen host with Intel PT.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cerrno>

#include "tests/unit/unit_util.h"
#include "vm/xen/vmtrace.h"

using namespace xentt;
using Catch::Matchers::ContainsSubstring;
using xen::VmtraceFacts;
using xen::VmtraceOp;

namespace {
constexpr const char* kRequirements =
    "vmtrace needs Intel PT hardware, an HVM or PVH domain created with vmtrace_buf_kb, Xen >= 4.15";

// A host and domain where vmtrace could work: only the errno decides.
VmtraceFacts all_good() {
  VmtraceFacts f;
  f.host_has_vmtrace = true;
  f.domain_exists = true;
  f.domain_is_hvm = true;
  f.max_vcpu_id = 1;
  f.buffer_bytes = 65536;
  return f;
}
}  // namespace

TEST_CASE("vmtrace: a PV domain is named as the reason", "[pt]") {
  VmtraceFacts f = all_good();
  f.domain_is_hvm = false;
  f.buffer_bytes = 0;  // a PV domain cannot have a buffer either: PV is the reason to give
  const std::string m = xen::explain_vmtrace_failure(VmtraceOp::Enable, EINVAL, 7, 0, f);
  CHECK_THAT(m, ContainsSubstring("enabling vmtrace for domain 7 vCPU 0 failed"));
  CHECK_THAT(m, ContainsSubstring(std::string(kRequirements) + "; domain 7 is PV"));
}

TEST_CASE("vmtrace: a CPU without Intel PT is named before anything else", "[pt]") {
  VmtraceFacts f = all_good();
  f.host_has_vmtrace = false;
  f.domain_is_hvm = false;
  for (int err : {EOPNOTSUPP, ENODEV, EINVAL}) {
    const std::string m = xen::explain_vmtrace_failure(VmtraceOp::MapBuffer, err, 3, 1, f);
    CHECK_THAT(m, ContainsSubstring("this CPU has no Intel PT that Xen can use (AMD, or nested under an emulator"));
    CHECK_THAT(m, ContainsSubstring(kRequirements));
  }
}

TEST_CASE("vmtrace: a domain created without vmtrace_buf_kb", "[pt]") {
  VmtraceFacts f = all_good();
  f.buffer_bytes = 0;
  const std::string m = xen::explain_vmtrace_failure(VmtraceOp::MapBuffer, EINVAL, 4, 0, f);
  CHECK_THAT(m, ContainsSubstring("domain 4 has no trace buffer: it was created without vmtrace_buf_kb"));
  CHECK_THAT(m, ContainsSubstring("add vmtrace_buf_kb="));
}

TEST_CASE("vmtrace: permissions, missing domains and vCPUs, refused values", "[pt]") {
  CHECK_THAT(xen::explain_vmtrace_failure(VmtraceOp::OutputPosition, EPERM, 4, 0, {}),
             ContainsSubstring("not allowed: run as root in dom0"));
  CHECK_THAT(xen::explain_vmtrace_failure(VmtraceOp::Enable, ESRCH, 9, 0, {}), ContainsSubstring("there is no domain 9"));
  CHECK_THAT(xen::explain_vmtrace_failure(VmtraceOp::Enable, ENOENT, 4, 3, all_good()),
             ContainsSubstring("domain 4 has no vCPU 3 (its vCPUs are 0 to 1)"));
  CHECK_THAT(xen::explain_vmtrace_failure(VmtraceOp::Enable, EINVAL, 4, 0, all_good()),
             ContainsSubstring("already on"));
  CHECK_THAT(xen::explain_vmtrace_failure(VmtraceOp::Disable, EINVAL, 4, 0, all_good()), ContainsSubstring("not on"));
  VmtraceFacts f = all_good();
  f.option_value = 0x1;  // TraceEn alone would be accepted; say Xen refused it anyway
  CHECK_THAT(xen::explain_vmtrace_failure(VmtraceOp::SetOption, EINVAL, 4, 0, f),
             ContainsSubstring("Xen refused the value 0x1; only the MSR_RTIT_CTL bits TraceEn, OS, USR, TSCEn"));
  CHECK_THAT(xen::explain_vmtrace_failure(VmtraceOp::Enable, EOPNOTSUPP, 4, 0, all_good()),
             ContainsSubstring(kRequirements));
  // One printable line, whatever is said.
  const std::string m = xen::explain_vmtrace_failure(VmtraceOp::MapBuffer, EINVAL, 4, 0, {});
  CHECK(m.find('\n') == std::string::npos);
  CHECK_THAT(m, ContainsSubstring("mapping the vmtrace buffer for domain 4 vCPU 0 failed"));
}

TEST_CASE("vmtrace: no handles, no hypercall", "[pt]") {
  auto make = [] { xen::Vmtrace t(nullptr, nullptr, 1, 0); };
  CHECK(test::status_of(make) == 1);
  CHECK_THAT(test::message_of(make), ContainsSubstring("no libxenctrl or libxenforeignmemory handle"));
}
