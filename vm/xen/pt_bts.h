// vm/xen/pt_bts.h: a vmtrace snapshot decoded straight into a .bts file.
//
// PT gives no branch count, so the file is the raw variant
// (docs/bts-format.md) with a zero flags word: bts_dump prints it, with
// symbols (`bts_dump --symbols -e vmlinux FILE`), but its records cannot be
// turned into {eip, brctr} locations (docs/xen.md).
#pragma once

#include <string>

#include "pt_decoder.h"

namespace xentt::xen {

// Decodes `buf` (decode_pt) and writes its records to `path` as they come,
// never holding them all. Returns the decode's counts. Cost: decode_pt's,
// plus one large write() per 1 MiB of records. Throws what decode_pt and
// tracefmt's BtsWriter throw (an unwritable file: system_error naming it);
// the file then holds a prefix of the records, a well-formed raw .bts.
PtDecodeStats write_pt_bts(const PtBuffer& buf, const CodeReader& read_code, const std::string& path,
                           const PtDecodeOptions& options = {});

}  // namespace xentt::xen
