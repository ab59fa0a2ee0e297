// TxQueue: what a TCP queue pair has to send, gathered into one sendmsg.
//
// Each TxItem is one PDU: its header bytes (header, header digest and
// padding, copied into the item: at most a few hundred bytes), its data as
// iovecs pointing at the caller's memory (never copied), and its data
// digest. Flush() sends as many items as the socket takes with one sendmsg
// per batch of up to kMaxIov iovecs; a short send leaves the rest for the
// next EPOLLOUT. When an item is wholly sent its completion runs: a
// capsule reference is dropped and a callback is posted.
//
// Items come from a pool that grows in chunks and is recycled: in steady
// state queueing a PDU allocates nothing.

#ifndef NVMEOF_TCP_TX_QUEUE_H_
#define NVMEOF_TCP_TX_QUEUE_H_

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "nvmeof/intrusive_fifo.h"
#include "nvmeof/pool.h"
#include "nvmeof/mem_desc.h"
#include "nvmeof/status.h"
#include "nvmeof/transport.h"
#include "tcp/byte_stream.h"

namespace nvmeof::tcp {


struct TxItem {
  // Header + header digest + padding up to PDO (PDA 31: 128 bytes).
  static constexpr size_t kMaxHeader = 128 + 4 + 128;
  static constexpr size_t kMaxDataIov = 16;

  uint8_t header[kMaxHeader];
  uint32_t header_len = 0;
  iovec data[kMaxDataIov];
  uint32_t data_iov_count = 0;
  uint32_t data_len = 0;
  uint8_t ddgst[4];
  uint32_t ddgst_len = 0;
  uint32_t sent = 0;  // bytes of header + data + digest already sent

  // Completion, when the item is wholly sent (or dropped).
  Capsule* capsule = nullptr;     // one transport reference, dropped
  DataCallback done;              // posted with OK (or the drop status)
  bool command_data = false;      // counts toward the host command's data

  TxItem* next = nullptr;

  uint32_t total() const { return header_len + data_len + ddgst_len; }
};

class TxQueue {
 public:
  TxQueue() = default;
  TxQueue(const TxQueue&) = delete;
  TxQueue& operator=(const TxQueue&) = delete;

  // A blank item from the pool; hand it back with Push() or Recycle().
  TxItem* NewItem();
  void Recycle(TxItem* item);
  // Queues `item` after the others.
  void Push(TxItem* item) { queue_.Push(item); }
  bool empty() const { return queue_.empty(); }

  enum class FlushResult { kDone, kBlocked, kError };
  // Sends what the stream takes. Calls complete(item) for each item wholly
  // sent, in order; the callee owns it from then on (recycles it). On
  // kError, `error` says why (the connection is broken).
  template <typename Complete>
  FlushResult Flush(ByteStream& stream, Complete&& complete, Status* error);

  // Removes every queued item, calling drop(item) on each, in order.
  template <typename Drop>
  void DropAll(Drop&& drop) {
    while (!queue_.empty()) drop(queue_.Pop());
  }

 private:
  static constexpr size_t kMaxIov = 256;
  // Fills iov from the queued items; returns the count and the bytes.
  size_t Gather(iovec* iov, size_t* bytes) const;

  IntrusiveFifo<TxItem> queue_;
  Pool<TxItem> pool_{0, 8};  // small for an idle connection, doubling
};

// ---- implementation of the template ----

Status SendmsgError(int err);

template <typename Complete>
TxQueue::FlushResult TxQueue::Flush(ByteStream& stream, Complete&& complete,
                                    Status* error) {
  iovec iov[kMaxIov];
  // A stream may hold output of its own (TLS records it could not send
  // yet): an empty Write flushes it.
  while (!queue_.empty() || stream.HasPendingOutput()) {
    size_t bytes = 0;
    size_t n = Gather(iov, &bytes);
    ssize_t sent = stream.Write(iov, n);
    if (sent < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return FlushResult::kBlocked;
      if (err == EINTR) continue;
      *error = SendmsgError(err);
      return FlushResult::kError;
    }
    size_t left = static_cast<size_t>(sent);
    while (!queue_.empty() && left > 0) {
      TxItem* item = queue_.front();
      uint32_t remaining = item->total() - item->sent;
      if (left < remaining) {
        item->sent += static_cast<uint32_t>(left);
        left = 0;
        break;
      }
      left -= remaining;
      complete(queue_.Pop());
    }
    if (static_cast<size_t>(sent) < bytes) return FlushResult::kBlocked;
    if (n == 0) {
      return stream.HasPendingOutput() ? FlushResult::kBlocked
                                       : FlushResult::kDone;
    }
  }
  return FlushResult::kDone;
}

}  // namespace nvmeof::tcp

#endif  // NVMEOF_TCP_TX_QUEUE_H_
