#include "transport/completion_queue.h"

namespace nvmeof {

CompletionQueue::~CompletionQueue() { loop_->Unschedule(this); }

CompletionQueue::Node* CompletionQueue::NewNode() {
  if (free_ == nullptr) {
    constexpr size_t kChunk = 64;
    chunks_.push_back(std::make_unique<Node[]>(kChunk));
    Node* chunk = chunks_.back().get();
    for (size_t i = 0; i < kChunk; ++i) {
      chunk[i].next = free_;
      free_ = &chunk[i];
    }
  }
  Node* n = free_;
  free_ = n->next;
  n->next = nullptr;
  return n;
}

void CompletionQueue::Post(DataCallback cb, Status status) {
  Node* n = NewNode();
  n->cb = std::move(cb);
  n->status = std::move(status);
  if (tail_ == nullptr) {
    head_ = tail_ = n;
  } else {
    tail_->next = n;
    tail_ = n;
  }
  loop_->Schedule(this);
}

void CompletionQueue::Run() {
  // Only what is queued now: callbacks posted by these callbacks run in a
  // later pass (the loop drains tasks until none is queued).
  Node* n = head_;
  head_ = tail_ = nullptr;
  while (n != nullptr) {
    Node* next = n->next;
    DataCallback cb = n->cb.Take();
    Status status = std::move(n->status);
    n->next = free_;
    free_ = n;
    if (cb) cb(std::move(status));
    n = next;
  }
}

}  // namespace nvmeof
