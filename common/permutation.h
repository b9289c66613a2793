// A seeded pseudo-random bijection on [0, size): the probe order of a scan.
//
// A balanced Feistel network on the smallest even power of two >= size,
// with cycle walking back into range (the format-preserving encryption
// trick). At(i) needs O(1) work and no memory, so any index range
// [begin, end) is a reproducible shard that any worker can compute alone.
//
//   Permutation p(/*size=*/524288, /*seed=*/42);
//   for (uint64_t i = begin; i < end; ++i) Probe(p.At(i));
//   uint64_t i = p.IndexOf(v);   // the position of v: At(IndexOf(v)) == v
//
// Thread-safety: immutable; safe to share.
#ifndef GOALKEEPER_COMMON_PERMUTATION_H_
#define GOALKEEPER_COMMON_PERMUTATION_H_

#include <array>
#include <cstdint>

namespace goalkeeper {

class Permutation {
 public:
  // Largest supported size (2^63).
  static constexpr uint64_t kMaxSize = uint64_t{1} << 63;

  // Requires 0 < size <= kMaxSize.
  Permutation(uint64_t size, uint64_t seed);

  uint64_t size() const { return size_; }
  // The element at position index; requires index < size().
  uint64_t At(uint64_t index) const;
  // The inverse of At: the position of `value`; requires value < size().
  uint64_t IndexOf(uint64_t value) const;

 private:
  static constexpr int kRounds = 4;
  uint64_t Encrypt(uint64_t x) const;
  uint64_t Decrypt(uint64_t x) const;

  uint64_t size_;
  int half_bits_;
  uint64_t half_mask_;
  std::array<uint64_t, kRounds> keys_;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_PERMUTATION_H_
