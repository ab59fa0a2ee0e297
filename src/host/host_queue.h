// HostQueue: the host's side of one queue pair. Commands get a slot (its
// index is the CID), complete when both the response and the data
// callback have arrived (in either order), and fail together when the
// connection does. A command that outlives its deadline fails the queue
// (NVMe/TCP cannot abort one command): then every command fails with
// kDeadlineExceeded and the connection closes.

#ifndef NVMEOF_HOST_HOST_QUEUE_H_
#define NVMEOF_HOST_HOST_QUEUE_H_

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "nvmeof/host.h"
#include "nvmeof/intrusive_fifo.h"
#include "nvmeof/transport.h"

namespace nvmeof::host {

class HostQueue {
 public:
  // A command slot's life (its index is the CID); SetState() is the one
  // place that changes it and checks the step in debug builds:
  //   kFree -> kAwaitingBoth       submitted with data to move
  //   kFree -> kAwaitingResponse   submitted without data
  //   kAwaitingBoth -> kAwaitingResponse | kAwaitingData   one of them came
  //   kAwaitingResponse | kAwaitingData -> kFree          complete
  //   any -> kFree                 failed with the queue, or never sent
  enum class SlotState : uint8_t {
    kFree,
    kAwaitingBoth,      // neither the response nor the data callback yet
    kAwaitingResponse,  // the data moved (or there was none)
    kAwaitingData,      // the response came; the data callback is due
  };

  // Connects a queue pair for `params.qid`; runs the loop until done.
  static Result<std::unique_ptr<HostQueue>> Connect(
      EventLoop& loop, const TransportAddress& address,
      const HostQueuePairParams& params, std::chrono::milliseconds timeout,
      std::chrono::milliseconds command_timeout,
      std::function<void(Status)> on_failed);
  ~HostQueue();

  uint16_t qid() const { return qid_; }
  bool failed() const { return failed_; }
  size_t in_flight() const { return in_flight_; }

  // See Association::SubmitAdmin. `sqe.cid` is replaced.
  void Submit(const Sqe& sqe, const MemDesc& data, bool to_controller,
              CompletionCallback done);
  // Closes the connection: every outstanding command fails with `why`.
  // Runs the loop until the queue pair has closed.
  void Close(const Status& why);

 private:
  struct Slot {
    SlotState state = SlotState::kFree;
    void SetState(SlotState next);
    bool busy() const { return state != SlotState::kFree; }
    CapsulePtr cmd;
    CompletionCallback done;
    Cqe cqe{};
    Status data_status;
    EventLoop::Clock::time_point deadline;
    Slot* next = nullptr;  // free list
  };
  HostQueue(EventLoop* loop, uint16_t qid, uint16_t size,
            std::chrono::milliseconds command_timeout,
            std::function<void(Status)> on_failed);
  void OnResponse(CapsulePtr rsp);
  void OnData(Slot* s, Status status);
  void Finish(Slot* s, Completion c);
  void Fail(const Status& why);
  void CheckDeadlines();
  void FailLater(CompletionCallback done, const Status& why);

  EventLoop* const loop_;
  const uint16_t qid_;
  std::unique_ptr<QueuePair> qp_;
  std::unique_ptr<Slot[]> slots_;
  const uint16_t size_;
  IntrusiveFifo<Slot> free_;
  size_t in_flight_ = 0;
  bool failed_ = false;
  bool closed_ = false;
  Status failure_;
  const std::chrono::milliseconds command_timeout_;
  EventLoop::TimerId deadline_timer_ = 0;
  std::function<void(Status)> on_failed_;
};

}  // namespace nvmeof::host

#endif  // NVMEOF_HOST_HOST_QUEUE_H_
