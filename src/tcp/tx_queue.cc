#include "tcp/tx_queue.h"

#include <sys/socket.h>

#include <cerrno>

namespace nvmeof::tcp {

TxItem* TxQueue::NewItem() {
  TxItem* item = pool_.Get();
  item->header_len = 0;
  item->data_iov_count = 0;
  item->data_len = 0;
  item->ddgst_len = 0;
  item->sent = 0;
  item->capsule = nullptr;
  item->command_data = false;
  return item;
}

void TxQueue::Recycle(TxItem* item) {
  item->done.Reset();
  item->capsule = nullptr;
  pool_.Put(item);
}

size_t TxQueue::Gather(iovec* iov, size_t* bytes) const {
  size_t n = 0;
  *bytes = 0;
  for (const TxItem* item = queue_.front(); item != nullptr;
       item = IntrusiveFifo<TxItem>::NextOf(item)) {
    // An item goes in whole or not at all (but the first, which may be
    // partly sent already), so that the iovec array never ends mid-item
    // with a piece that could not be described.
    if (n + 2 + item->data_iov_count > kMaxIov) break;
    uint32_t skip = item->sent;
    auto add = [&](const void* p, size_t len) {
      if (len == 0) return;
      if (skip >= len) {
        skip -= static_cast<uint32_t>(len);
        return;
      }
      iov[n].iov_base =
          const_cast<uint8_t*>(static_cast<const uint8_t*>(p)) + skip;
      iov[n].iov_len = len - skip;
      *bytes += len - skip;
      skip = 0;
      ++n;
    };
    add(item->header, item->header_len);
    for (uint32_t i = 0; i < item->data_iov_count; ++i) {
      add(item->data[i].iov_base, item->data[i].iov_len);
    }
    add(item->ddgst, item->ddgst_len);
  }
  return n;
}

Status SendmsgError(int err) { return ErrnoError(err, "sendmsg"); }

}  // namespace nvmeof::tcp
