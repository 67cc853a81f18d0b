// qemu_record.h (engine qemu, private): one recording: QEMU under
// -icount rr=record until the guest powers off or exits, or the recorder is
// told to stop; then the engine log's checksums.
#pragma once

#include <filesystem>

#include "vm/qemu/qemu_options.h"
#include "vm/qemu/qemu_version.h"
#include "xentt/vm/engine.h"

namespace xentt::qemu {

RecordResult record_qemu(const MachineSpec& m, const QemuOptions& o, const QemuVersion& version,
                         const std::filesystem::path& recording_dir, const RecordOptions& opts);

}  // namespace xentt::qemu
