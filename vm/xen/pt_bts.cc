// vm/xen/pt_bts.cc: decode_pt's records into tracefmt's BtsWriter (pt_bts.h).
#include "pt_bts.h"

#include "xentt/tracefmt/bts_file.h"

namespace xentt::xen {

PtDecodeStats write_pt_bts(const PtBuffer& buf, const CodeReader& read_code, const std::string& path,
                           const PtDecodeOptions& options) {
  bts::BtsWriter out(path, bts::Format::Raw);
  PtDecodeStats stats = decode_pt(
      buf, read_code, [&](std::span<const bts::Record> rs) { out.write(rs); }, options);
  out.close();
  return stats;
}

}  // namespace xentt::xen
