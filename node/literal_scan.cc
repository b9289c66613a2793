#include "node/literal_scan.h"

#include <bit>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace goalkeeper::node {
namespace {

// How common a byte is in log text (higher: more common), a rough guess.
int Commonness(char c) {
  if (c == ' ') return 100;
  if (c >= 'a' && c <= 'z') {
    return absl::string_view("etaoinsrhldcu").find(c) != absl::string_view::npos ? 50 : 20;
  }
  if (c >= '0' && c <= '9') return 40;
  if (absl::string_view(".:=-/[]()_,").find(c) != absl::string_view::npos) return 30;
  if (c >= 'A' && c <= 'Z') return 5;
  return 3;
}

}  // namespace

LiteralScanner::LiteralScanner(absl::string_view literal, Width width)
    : literal_(literal), width_(width) {
  for (size_t i = 1; i < literal_.size(); ++i) {
    if (Commonness(literal_[i]) < Commonness(literal_[rare1_])) rare1_ = i;
  }
  rare2_ = rare1_;
  for (size_t i = 0; i < literal_.size(); ++i) {
    if (i == rare1_) continue;
    const bool better = rare2_ == rare1_ || Commonness(literal_[i]) < Commonness(literal_[rare2_]);
    // A byte other than rare1's rules out more candidates than a repeat.
    if (better && literal_[i] != literal_[rare1_]) rare2_ = i;
  }
  if (rare2_ == rare1_ && literal_.size() > 1) rare2_ = rare1_ == 0 ? 1 : 0;
}

namespace {

#if defined(__x86_64__)
// The vector loop for one register width. Block i tests the start positions
// i..i+W-1: it reads up to p[i + rare + W - 1] (rare <= n - 1), so it runs
// while i + n + W - 1 <= size. Newlines are summed per byte lane (at most
// 255 blocks, then folded into `nl`) so no popcount runs per block.
#define GK_SCAN_LOOP(W, VEC, LOADU, SET1, CMPEQ, AND, SUB, MOVEMASK, ZERO, SAD, FOLD)       \
  {                                                                                         \
    const VEC want1 = SET1(literal[rare1]);                                                 \
    const VEC want2 = SET1(literal[rare2]);                                                 \
    const VEC newline = SET1('\n');                                                         \
    VEC acc = ZERO();                                                                       \
    int lanes = 0;                                                                          \
    for (; i + n + (W)-1 <= size; i += (W)) {                                               \
      const VEC block = LOADU(reinterpret_cast<const VEC*>(p + i));                         \
      const VEC b1 = LOADU(reinterpret_cast<const VEC*>(p + i + rare1));                    \
      const VEC b2 = LOADU(reinterpret_cast<const VEC*>(p + i + rare2));                    \
      const VEC nls = CMPEQ(block, newline);                                                \
      auto mask = static_cast<uint32_t>(MOVEMASK(AND(CMPEQ(b1, want1), CMPEQ(b2, want2)))); \
      while (mask != 0) {                                                                   \
        const int bit = std::countr_zero(mask);                                             \
        if (std::memcmp(p + i + static_cast<size_t>(bit), literal.data(), n) == 0) {        \
          const auto below = static_cast<uint32_t>(MOVEMASK(nls)) &                         \
                             static_cast<uint32_t>((uint64_t{1} << bit) - 1);               \
          nl += FOLD(SAD(acc, ZERO())) + static_cast<uint64_t>(std::popcount(below));       \
          *found = i + static_cast<size_t>(bit);                                            \
          return nl;                                                                        \
        }                                                                                   \
        mask &= mask - 1;                                                                   \
      }                                                                                     \
      acc = SUB(acc, nls);                                                                  \
      if (++lanes == 255) {                                                                 \
        nl += FOLD(SAD(acc, ZERO()));                                                       \
        acc = ZERO();                                                                       \
        lanes = 0;                                                                          \
      }                                                                                     \
    }                                                                                       \
    nl += FOLD(SAD(acc, ZERO()));                                                           \
  }

uint64_t Fold128(__m128i v) {
  return static_cast<uint64_t>(_mm_cvtsi128_si64(v)) +
         static_cast<uint64_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v)));
}

// SSE2: every x86-64 CPU. Returns the newlines before *found (or before i).
uint64_t ScanSse2(const char* p, size_t size, const std::string& literal, size_t rare1,
                  size_t rare2, size_t& i, size_t* found) {
  const size_t n = literal.size();
  uint64_t nl = 0;
  GK_SCAN_LOOP(16, __m128i, _mm_loadu_si128, _mm_set1_epi8, _mm_cmpeq_epi8, _mm_and_si128,
               _mm_sub_epi8, _mm_movemask_epi8, _mm_setzero_si128, _mm_sad_epu8, Fold128)
  return nl;
}

__attribute__((target("avx2"))) uint64_t Fold256(__m256i v) {
  return Fold128(_mm256_castsi256_si128(v)) + Fold128(_mm256_extracti128_si256(v, 1));
}

__attribute__((target("avx2"))) uint64_t ScanAvx2(const char* p, size_t size,
                                                  const std::string& literal, size_t rare1,
                                                  size_t rare2, size_t& i, size_t* found) {
  const size_t n = literal.size();
  uint64_t nl = 0;
  GK_SCAN_LOOP(32, __m256i, _mm256_loadu_si256, _mm256_set1_epi8, _mm256_cmpeq_epi8,
               _mm256_and_si256, _mm256_sub_epi8, _mm256_movemask_epi8, _mm256_setzero_si256,
               _mm256_sad_epu8, Fold256)
  return nl;
}
#undef GK_SCAN_LOOP

// A static initializer may run before libgcc's own CPU detection: init first.
const bool kHaveAvx2 = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0;
}();
#endif

}  // namespace

size_t LiteralScanner::Find(absl::string_view hay, uint64_t* newlines) const {
  const size_t n = literal_.size();
  const char* p = hay.data();
  const size_t size = hay.size();
  uint64_t nl = 0;
  size_t i = 0;
  if (n == 0) return 0;
#if defined(__x86_64__)
  size_t found = npos;
  if (width_ == Width::kBest && kHaveAvx2) {
    nl = ScanAvx2(p, size, literal_, rare1_, rare2_, i, &found);
  } else if (width_ != Width::kScalar) {
    nl = ScanSse2(p, size, literal_, rare1_, rare2_, i, &found);
  }
  if (found != npos) {
    *newlines += nl;
    return found;
  }
#endif
  for (; i + n <= size; ++i) {
    if (p[i] == '\n') {
      ++nl;
    } else if (p[i] == literal_[0] && std::memcmp(p + i, literal_.data(), n) == 0) {
      *newlines += nl;
      return i;
    }
  }
  for (; i < size; ++i) nl += p[i] == '\n' ? 1 : 0;
  *newlines += nl;
  return npos;
}

}  // namespace goalkeeper::node
