#include "trace_sink.h"

#include "xentt/base/error.h"

namespace xentt::bt {

// Queue depth bound: 64 batches of 64K records is ~130 MB of host memory
// before the vCPU waits for the writer.
static constexpr std::size_t kMaxQueued = 64;

TraceSink::TraceSink(const std::string& path, const std::string& header_json)
    : writer_(path, header_json), thread_([this] { run(); }) {}

TraceSink::~TraceSink() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  try {
    writer_.close();
  } catch (const std::exception&) {
  }
}

std::vector<xtl::Branch> TraceSink::submit(std::uint16_t vcpu, std::vector<xtl::Branch>&& batch) {
  std::vector<xtl::Branch> next;
  if (batch.empty()) return next;
  std::size_t capacity = batch.capacity();
  {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [this] { return queue_.size() < kMaxQueued; });
    records_ += batch.size();
    queue_.push_back({vcpu, std::move(batch), {}});
    if (!free_.empty()) {
      next = std::move(free_.back());
      free_.pop_back();
    }
  }
  cv_.notify_all();
  if (next.capacity() < capacity) next.reserve(capacity);
  return next;
}

void TraceSink::marker(std::uint16_t vcpu, const std::string& json) {
  std::lock_guard lk(mu_);
  queue_.push_back({vcpu, {}, json});
  cv_.notify_all();
}

std::string TraceSink::flush() {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [this] { return queue_.empty() && !busy_; });
  if (error_.empty()) {
    try {
      writer_.flush();
    } catch (const std::exception& e) {
      error_ = e.what();
    }
  }
  return error_;
}

void TraceSink::run() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and drained
    Item it = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    cv_.notify_all();
    lk.unlock();
    try {
      if (it.marker.empty())
        writer_.add_branches(it.vcpu, it.batch);
      else
        writer_.add_marker(it.vcpu, it.marker);
    } catch (const std::exception& e) {
      lk.lock();
      if (error_.empty()) error_ = e.what();
      lk.unlock();
    }
    lk.lock();
    if (!it.batch.empty() && free_.size() < 4) {
      it.batch.clear();
      free_.push_back(std::move(it.batch));
    }
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace xentt::bt
