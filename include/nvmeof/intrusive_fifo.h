// IntrusiveFifo<T>: a first-in first-out list of T nodes linked through a
// `T* next` member of the node itself. Nothing is allocated: a node is in at
// most one list at a time, and the list never owns it.
//
// Used for every queue of pooled objects: requests waiting for a slot, PDUs
// waiting to be sent, callbacks waiting to run, free lists.

#ifndef NVMEOF_INTRUSIVE_FIFO_H_
#define NVMEOF_INTRUSIVE_FIFO_H_

#include <cassert>
#include <cstddef>

namespace nvmeof {

template <typename T, T* T::*Next = &T::next>
class IntrusiveFifo {
 public:
  IntrusiveFifo() = default;
  IntrusiveFifo(const IntrusiveFifo&) = delete;
  IntrusiveFifo& operator=(const IntrusiveFifo&) = delete;
  IntrusiveFifo(IntrusiveFifo&& o) noexcept : head_(o.head_), tail_(o.tail_) {
    o.head_ = o.tail_ = nullptr;
  }
  IntrusiveFifo& operator=(IntrusiveFifo&& o) noexcept {
    assert(empty());
    head_ = o.head_;
    tail_ = o.tail_;
    o.head_ = o.tail_ = nullptr;
    return *this;
  }

  bool empty() const { return head_ == nullptr; }
  T* front() const { return head_; }
  T* back() const { return tail_; }

  // Appends `node`. REQUIRES: node is in no list.
  void Push(T* node) {
    node->*Next = nullptr;
    if (tail_ == nullptr) {
      head_ = node;
    } else {
      tail_->*Next = node;
    }
    tail_ = node;
  }
  // Puts `node` first. REQUIRES: node is in no list.
  void PushFront(T* node) {
    node->*Next = head_;
    head_ = node;
    if (tail_ == nullptr) tail_ = node;
  }
  // Removes and returns the first node. REQUIRES: !empty().
  T* Pop() {
    assert(head_ != nullptr);
    T* node = head_;
    head_ = node->*Next;
    if (head_ == nullptr) tail_ = nullptr;
    node->*Next = nullptr;
    return node;
  }
  // The node after `node` in its list (null at the end), for walking the
  // list from front() without removing anything.
  static T* NextOf(const T* node) { return node->*Next; }
  // Moves every node of `other` to the end of this list.
  void Splice(IntrusiveFifo& other) {
    if (other.head_ == nullptr) return;
    if (tail_ == nullptr) {
      head_ = other.head_;
    } else {
      tail_->*Next = other.head_;
    }
    tail_ = other.tail_;
    other.head_ = other.tail_ = nullptr;
  }

 private:
  T* head_ = nullptr;
  T* tail_ = nullptr;
};

}  // namespace nvmeof

#endif  // NVMEOF_INTRUSIVE_FIFO_H_
