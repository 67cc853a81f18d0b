// trace_sink.h: moves full record batches off the vCPU thread. The vCPU
// hands over a vector (a pointer swap); a writer thread encodes, compresses
// and writes frames through xtl::LogWriter, so the guest never waits on
// zstd or the disk unless the queue is full (then it waits: nothing is lost).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "xentt/tracefmt/trace_log.h"

namespace xentt::bt {

class TraceSink {
 public:
  // Opens (truncates) the log and starts the writer thread. Throws xentt::Error.
  TraceSink(const std::string& path, const std::string& header_json);
  ~TraceSink();  // closes the log (index + trailer)

  // Queues a batch; returns an empty vector with the capacity of one the
  // writer has finished with (a fresh one only while the pool fills), so
  // the vCPU does not fault in 2.6 MB of new pages per batch.
  std::vector<xtl::Branch> submit(std::uint16_t vcpu, std::vector<xtl::Branch>&& batch);
  void marker(std::uint16_t vcpu, const std::string& json);
  // Returns once everything submitted is written; the writer's first error
  // (empty when none).
  std::string flush();
  std::uint64_t records() const { return records_; }

 private:
  struct Item {
    std::uint16_t vcpu;
    std::vector<xtl::Branch> batch;
    std::string marker;  // non-empty: a marker frame
  };
  void run();

  xtl::LogWriter writer_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  std::vector<std::vector<xtl::Branch>> free_;  // written batches, cleared, capacity kept
  bool busy_ = false, stop_ = false;
  std::string error_;
  std::uint64_t records_ = 0;
  std::thread thread_;
};

}  // namespace xentt::bt
