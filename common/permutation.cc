#include "common/permutation.h"

#include <bit>
#include <cassert>

namespace goalkeeper {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

Permutation::Permutation(uint64_t size, uint64_t seed) : size_(size) {
  assert(size > 0 && size <= kMaxSize);
  // Smallest b with 2^b >= size, at least 2, rounded up to even.
  int bits = size <= 1 ? 0 : static_cast<int>(std::bit_width(size - 1));
  if (bits < 2) bits = 2;
  if (bits % 2 != 0) ++bits;
  half_bits_ = bits / 2;
  half_mask_ = (uint64_t{1} << half_bits_) - 1;
  uint64_t k = seed;
  for (uint64_t& key : keys_) {
    k = SplitMix64(k);
    key = k;
  }
}

uint64_t Permutation::Encrypt(uint64_t x) const {
  uint64_t left = x >> half_bits_;
  uint64_t right = x & half_mask_;
  for (uint64_t key : keys_) {
    uint64_t next = left ^ (SplitMix64(right ^ key) & half_mask_);
    left = right;
    right = next;
  }
  return (left << half_bits_) | right;
}

uint64_t Permutation::Decrypt(uint64_t x) const {
  // The rounds of Encrypt undone in reverse order: (l, r) came from
  // (r ^ F(l ^ key), l).
  uint64_t left = x >> half_bits_;
  uint64_t right = x & half_mask_;
  for (auto key = keys_.rbegin(); key != keys_.rend(); ++key) {
    uint64_t prev = right ^ (SplitMix64(left ^ *key) & half_mask_);
    right = left;
    left = prev;
  }
  return (left << half_bits_) | right;
}

uint64_t Permutation::At(uint64_t index) const {
  assert(index < size_);
  // Cycle walking: the domain is < 4 * size, so this loops ~4 times at most
  // on average; it terminates because Encrypt is a bijection on the domain.
  uint64_t x = Encrypt(index);
  while (x >= size_) x = Encrypt(x);
  return x;
}

uint64_t Permutation::IndexOf(uint64_t value) const {
  assert(value < size_);
  // Walking the cycle backwards from value stops at the first element in
  // range, which is the index At() started from.
  uint64_t x = Decrypt(value);
  while (x >= size_) x = Decrypt(x);
  return x;
}

}  // namespace goalkeeper
