// CidTable: the host's outstanding commands by CID, for the R2T, C2HData
// and CapsuleResp PDUs that name them. Open addressing with linear probing
// and backward-shift deletion in a power-of-two array sized at creation:
// no allocation after it, O(1) when the upper layer's CIDs are dense (ours
// are), correct for any CIDs.

#ifndef NVMEOF_TCP_CID_TABLE_H_
#define NVMEOF_TCP_CID_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace nvmeof::tcp {

template <typename T>
class CidTable {
 public:
  // Holds up to `capacity` entries.
  explicit CidTable(size_t capacity) {
    size_t n = 16;
    while (n < 2 * capacity) n *= 2;
    slots_.resize(n);
    mask_ = n - 1;
  }

  // False if `cid` is already present or the table is full.
  bool Insert(uint16_t cid, T* value) {
    if (size_ * 2 >= slots_.size()) return false;
    for (size_t i = cid & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].value == nullptr) {
        slots_[i] = {cid, value};
        ++size_;
        return true;
      }
      if (slots_[i].cid == cid) return false;
    }
  }

  T* Find(uint16_t cid) const {
    for (size_t i = cid & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].value == nullptr) return nullptr;
      if (slots_[i].cid == cid) return slots_[i].value;
    }
  }

  // Returns the removed value, or null.
  T* Erase(uint16_t cid) {
    size_t i = cid & mask_;
    for (;; i = (i + 1) & mask_) {
      if (slots_[i].value == nullptr) return nullptr;
      if (slots_[i].cid == cid) break;
    }
    T* removed = slots_[i].value;
    // Backward shift: an entry later in the run moves into the hole when
    // the hole lies (cyclically) between its home slot and where it is.
    size_t hole = i;
    for (size_t j = (i + 1) & mask_; slots_[j].value != nullptr;
         j = (j + 1) & mask_) {
      size_t home = slots_[j].cid & mask_;
      if (((hole - home) & mask_) < ((j - home) & mask_)) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = {};
    --size_;
    return removed;
  }

  size_t size() const { return size_; }

  template <typename Fn>
  void ForEach(Fn fn) const {
    for (const Slot& s : slots_) {
      if (s.value != nullptr) fn(s.cid, s.value);
    }
  }

  void Clear() {
    for (Slot& s : slots_) s = {};
    size_ = 0;
  }

 private:
  struct Slot {
    uint16_t cid = 0;
    T* value = nullptr;
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace nvmeof::tcp

#endif  // NVMEOF_TCP_CID_TABLE_H_
