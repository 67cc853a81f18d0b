// Function slices for timelines, in two encodings of the same events:
// - perfetto: the Chrome trace event format (JSON), which Perfetto's UI and
//   chrome://tracing open: {"traceEvents": [...]} with a "B" (begin) event
//   when a function is entered and an "E" (end) event when it is left, on
//   one thread, so that calls nest as slices;
// - perfetto-proto: Perfetto's own protobuf trace (a Trace message of
//   TracePackets: one TrackDescriptor, then TrackEvents of type
//   SLICE_BEGIN/SLICE_END on its track).
// Time is the instruction count where the trace has it (trace logs), else
// the record index.
#include <fmt/format.h>

#include "writers.h"

namespace xentt::exports {
namespace {

void json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    unsigned char u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20 || u >= 0x7f) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", u);
    } else {
      out += ch;
    }
  }
  out += '"';
}

// Protobuf's wire format: varints, and keys (field << 3 | wire type).
void varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += char((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += char(v);
}
void key(std::string& out, unsigned field, unsigned wire) { varint(out, (field << 3) | wire); }
void bytes_field(std::string& out, unsigned field, std::string_view b) {
  key(out, field, 2);
  varint(out, b.size());
  out += b;
}
void varint_field(std::string& out, unsigned field, std::uint64_t v) {
  key(out, field, 0);
  varint(out, v);
}

// Field numbers of perfetto/trace/trace.proto, trace_packet.proto,
// track_event/track_event.proto and track_descriptor.proto.
constexpr unsigned kTracePacket = 1;           // Trace.packet
constexpr unsigned kTimestamp = 8;             // TracePacket.timestamp
constexpr unsigned kSequenceId = 10;           // TracePacket.trusted_packet_sequence_id
constexpr unsigned kTrackEvent = 11;           // TracePacket.track_event
constexpr unsigned kTrackDescriptor = 60;      // TracePacket.track_descriptor
constexpr unsigned kEventType = 9;             // TrackEvent.type: 1 SLICE_BEGIN, 2 SLICE_END
constexpr unsigned kEventTrackUuid = 11;       // TrackEvent.track_uuid
constexpr unsigned kEventName = 23;            // TrackEvent.name
constexpr unsigned kDescriptorUuid = 1;        // TrackDescriptor.uuid
constexpr unsigned kDescriptorName = 2;        // TrackDescriptor.name
constexpr std::uint64_t kTrack = 1, kSequence = 1;

class Slices : public CallStacks::Events {
 public:
  Slices(const Trace& t, FunctionNames& names, Buffer& b, bool proto)
      : t_(t), names_(names), b_(b), proto_(proto) {}
  void open(std::uint32_t func, const Step* at) override {
    if (proto_) {
      packet(1, &names_.name(func), time(at, false));
    } else {
      event('B', at, false);
      b_.buf += ",\"name\":";
      json_string(b_.buf, names_.name(func));
      b_.buf += "}";
    }
    b_.maybe_flush();
  }
  void close(const Step* at) override {
    if (proto_) {
      packet(2, nullptr, time(at, true));
    } else {
      event('E', at, true);
      b_.buf += "}";
    }
    b_.maybe_flush();
  }
  // The track the events are on (proto only).
  void descriptor(std::string_view name) {
    std::string d, p;
    varint_field(d, kDescriptorUuid, kTrack);
    bytes_field(d, kDescriptorName, name);
    bytes_field(p, kTrackDescriptor, d);
    varint_field(p, kSequenceId, kSequence);
    bytes_field(b_.buf, kTracePacket, p);
  }

 private:
  void packet(unsigned type, const std::string* name, std::uint64_t ts) {
    ev_.clear();
    varint_field(ev_, kEventType, type);
    varint_field(ev_, kEventTrackUuid, kTrack);
    if (name) bytes_field(ev_, kEventName, *name);
    pk_.clear();
    varint_field(pk_, kTimestamp, ts);
    bytes_field(pk_, kTrackEvent, ev_);
    varint_field(pk_, kSequenceId, kSequence);
    bytes_field(b_.buf, kTracePacket, pk_);
  }
  // A step's time; without one, the start (opening) or the end (closing).
  std::uint64_t time(const Step* at, bool end) const {
    if (t_.records.empty() || (!at && !end)) return 0;
    std::size_t i = at ? at->index : t_.records.size() - 1;
    if (!t_.icounts.empty()) return t_.icounts[i] - t_.icounts[0];
    return at ? i : i + 1;
  }
  void event(char ph, const Step* at, bool end) {
    b_.buf += first_ ? "\n" : ",\n";
    first_ = false;
    fmt::format_to(std::back_inserter(b_.buf), "{{\"ph\":\"{}\",\"ts\":{},\"pid\":1,\"tid\":1", ph, time(at, end));
  }
  const Trace& t_;
  FunctionNames& names_;
  Buffer& b_;
  bool proto_;
  bool first_ = true;
  std::string ev_, pk_;
};

}  // namespace

void write_perfetto(Context& c, bool proto) {
  Buffer b(c.out);
  Walker w(c.trace, c.code, c.report);
  FunctionNames names(c.symbols);
  CallStacks stacks(names);
  Slices slices(c.trace, names, b, proto);
  if (proto) {
    slices.descriptor(c.trace.icounts.empty() ? "vCPU 0 (time: record index)" : "vCPU 0 (time: instructions)");
    stacks.run(w, c.trace.records.size(), slices);
    b.flush();
    return;
  }
  b.buf += "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"source\":";
  json_string(b.buf, c.trace.name);
  fmt::format_to(std::back_inserter(b.buf), ",\"time\":\"{}\"}},\"traceEvents\":[",
                 c.trace.icounts.empty() ? "record index" : "instructions");
  stacks.run(w, c.trace.records.size(), slices);
  b.buf += "\n]}\n";
  b.flush();
}

}  // namespace xentt::exports
