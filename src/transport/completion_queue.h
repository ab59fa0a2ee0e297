// CompletionQueue: data callbacks waiting to run later on the loop.
//
// A transport completes a transfer by posting its callback here; the queue
// runs them in FIFO order as an EventLoop task, so that no callback ever
// runs inside the call that started its operation. Nodes are recycled: in
// steady state posting allocates nothing.

#ifndef NVMEOF_TRANSPORT_COMPLETION_QUEUE_H_
#define NVMEOF_TRANSPORT_COMPLETION_QUEUE_H_

#include <memory>
#include <vector>

#include "nvmeof/event_loop.h"
#include "nvmeof/transport.h"

namespace nvmeof {

class CompletionQueue final : public EventLoop::Task {
 public:
  explicit CompletionQueue(EventLoop* loop) : loop_(loop) {}
  // Pending callbacks are destroyed without running.
  ~CompletionQueue();
  CompletionQueue(const CompletionQueue&) = delete;
  CompletionQueue& operator=(const CompletionQueue&) = delete;

  // Runs `cb(status)` later on the loop, after what was posted before.
  void Post(DataCallback cb, Status status);
  bool empty() const { return head_ == nullptr; }

  void Run() override;

 private:
  struct Node {
    DataCallback cb;
    Status status;
    Node* next = nullptr;
  };
  Node* NewNode();

  EventLoop* const loop_;
  Node* head_ = nullptr;
  Node* tail_ = nullptr;
  Node* free_ = nullptr;
  std::vector<std::unique_ptr<Node[]>> chunks_;
};

}  // namespace nvmeof

#endif  // NVMEOF_TRANSPORT_COMPLETION_QUEUE_H_
