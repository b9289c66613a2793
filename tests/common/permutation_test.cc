#include "common/permutation.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <unordered_set>
#include <vector>

#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

constexpr uint64_t kSeeds[] = {0, 1, 42, 0xdeadbeefu, UINT64_MAX};

// Returns true when At() over [0, size) hits every value in [0, size) once.
::testing::AssertionResult IsBijection(uint64_t size, uint64_t seed) {
  Permutation p(size, seed);
  if (p.size() != size) return ::testing::AssertionFailure() << "size() " << p.size();
  std::vector<bool> seen(size, false);
  for (uint64_t i = 0; i < size; ++i) {
    const uint64_t v = p.At(i);
    if (v >= size) {
      return ::testing::AssertionFailure()
             << "size " << size << " seed " << seed << ": At(" << i << ") = " << v;
    }
    if (seen[v]) {
      return ::testing::AssertionFailure()
             << "size " << size << " seed " << seed << ": " << v << " visited twice";
    }
    seen[v] = true;
  }
  return ::testing::AssertionSuccess();
}

std::vector<uint64_t> Order(uint64_t size, uint64_t seed) {
  Permutation p(size, seed);
  std::vector<uint64_t> out;
  out.reserve(size);
  for (uint64_t i = 0; i < size; ++i) out.push_back(p.At(i));
  return out;
}

TEST(PermutationTest, VisitsEveryValueOnceForSizesUpTo300) {
  for (uint64_t size = 1; size <= 300; ++size) {
    for (uint64_t seed : kSeeds) ASSERT_TRUE(IsBijection(size, seed));
  }
}

TEST(PermutationTest, VisitsEveryValueOnceForLargerSizes) {
  // Primes, powers of two, one past a power of two and odd bit widths.
  for (uint64_t size :
       {1021u, 1024u, 1025u, 4096u, 4099u, 65521u, 65536u, 65537u, 100003u, 131072u, 262147u}) {
    for (uint64_t seed : {uint64_t{7}, uint64_t{0x123456789abcdefu}}) {
      ASSERT_TRUE(IsBijection(size, seed));
    }
  }
}

TEST(PermutationTest, ReportsItsSize) {
  EXPECT_EQ(Permutation(1, 0).size(), 1u);
  EXPECT_EQ(Permutation(100003, 9).size(), 100003u);
  EXPECT_EQ(Permutation(Permutation::kMaxSize, 9).size(), Permutation::kMaxSize);
}

TEST(PermutationTest, SizeOneAlwaysGivesZero) {
  for (uint64_t seed : kSeeds) EXPECT_EQ(Permutation(1, seed).At(0), 0u);
}

TEST(PermutationTest, SameSeedGivesSameOrder) {
  for (uint64_t size : {2u, 17u, 300u, 4096u, 100003u}) {
    for (uint64_t seed : kSeeds) {
      EXPECT_EQ(Order(size, seed), Order(size, seed)) << size << " " << seed;
    }
  }
}

TEST(PermutationTest, DifferentSeedsGiveDifferentOrders) {
  for (uint64_t size = 16; size <= 300; ++size) {
    EXPECT_NE(Order(size, 1), Order(size, 2)) << size;
    EXPECT_NE(Order(size, 42), Order(size, 43)) << size;
    EXPECT_NE(Order(size, 0), Order(size, uint64_t{1} << 32)) << size;
  }
  for (uint64_t size : {1021u, 65537u}) {
    std::vector<uint64_t> a = Order(size, 1);
    std::vector<uint64_t> b = Order(size, 2);
    // Not merely different somewhere: most positions differ.
    size_t same = 0;
    for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i] ? 1 : 0;
    EXPECT_LT(same, a.size() / 50) << size;
  }
}

TEST(PermutationTest, IsNotTheIdentity) {
  for (uint64_t size : {64u, 1000u, 65536u}) {
    for (uint64_t seed : kSeeds) {
      std::vector<uint64_t> order = Order(size, seed);
      size_t fixed = 0;
      for (uint64_t i = 0; i < size; ++i) fixed += order[i] == i ? 1 : 0;
      EXPECT_LT(fixed, size / 8) << size << " " << seed;
    }
  }
}

// Workers compute their own shard [begin, end) with their own Permutation;
// together the shards cover every value once.
TEST(PermutationTest, ShardsPartitionTheRange) {
  constexpr uint64_t kSize = 100003;
  constexpr uint64_t kSeed = 99;
  const std::vector<std::vector<uint64_t>> splits = {
      {0, kSize},
      {0, 1, 17, 5000, 5001, 60000, kSize},
      {0, kSize / 7, 2 * kSize / 7, 3 * kSize / 7, 4 * kSize / 7, 5 * kSize / 7, 6 * kSize / 7,
       kSize},
      {0, kSize - 1, kSize},
  };
  for (const std::vector<uint64_t>& bounds : splits) {
    std::vector<int> hits(kSize, 0);
    for (size_t s = 0; s + 1 < bounds.size(); ++s) {
      Permutation shard(kSize, kSeed);
      for (uint64_t i = bounds[s]; i < bounds[s + 1]; ++i) ++hits[shard.At(i)];
    }
    EXPECT_TRUE(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }))
        << "split into " << bounds.size() - 1 << " shards";
  }
}

TEST(PermutationTest, ShardOrderDoesNotDependOnOtherShards) {
  Permutation whole(4099, 5);
  Permutation worker(4099, 5);
  for (uint64_t i = 3000; i < 3100; ++i) EXPECT_EQ(worker.At(i), whole.At(i));
}

// A probe space of 65536 hosts x 8 ports: consecutive probes should not pile
// onto one host. With 1000 draws over 65536 buckets a few pairs collide by
// chance; a host hit more than 3 times would mean the order is not spread.
TEST(PermutationTest, SpreadsConsecutiveIndicesAcrossTheSpace) {
  constexpr uint64_t kHosts = 65536;
  constexpr uint64_t kSize = kHosts * 8;
  for (uint64_t seed : kSeeds) {
    Permutation p(kSize, seed);
    std::map<uint64_t, int> per_host;
    std::vector<int> per_eighth(8, 0);
    for (uint64_t i = 0; i < 1000; ++i) {
      const uint64_t v = p.At(i);
      ++per_host[v / 8];
      ++per_eighth[v / (kSize / 8)];
    }
    int worst = 0;
    for (const auto& [host, n] : per_host) worst = std::max(worst, n);
    EXPECT_LE(worst, 3) << "seed " << seed;
    // Every eighth of the space gets a fair share (expected 125 each).
    for (int n : per_eighth) {
      EXPECT_GE(n, 60) << "seed " << seed;
      EXPECT_LE(n, 200) << "seed " << seed;
    }
  }
}

TEST(PermutationTest, HandlesTheLargestSize) {
  Permutation p(Permutation::kMaxSize, 3);
  std::unordered_set<uint64_t> indices;
  std::unordered_set<uint64_t> values;
  for (uint64_t i = 0; i < 2000; ++i) {
    for (uint64_t index : {i, Permutation::kMaxSize - 1 - i, i * 0x9e3779b97f4a7u % p.size()}) {
      const uint64_t v = p.At(index);
      EXPECT_LT(v, Permutation::kMaxSize);
      indices.insert(index);
      values.insert(v);
    }
  }
  // Distinct indices give distinct values.
  EXPECT_EQ(values.size(), indices.size());
}

TEST(PermutationTest, HandlesSizesJustAboveAPowerOfFour) {
  // 2^62 + 1 needs a 64-bit Feistel domain: the widest case of cycle walking.
  const uint64_t size = (uint64_t{1} << 62) + 1;
  Permutation p(size, 11);
  for (uint64_t i = 0; i < 1000; ++i) EXPECT_LT(p.At(i), size);
  EXPECT_LT(p.At(size - 1), size);
}

TEST(PermutationTest, IndexOfInvertsAt) {
  for (uint64_t size :
       {uint64_t{1}, uint64_t{2}, uint64_t{5}, uint64_t{17}, uint64_t{1000}, uint64_t{65537}}) {
    for (uint64_t seed : kSeeds) {
      Permutation p(size, seed);
      for (uint64_t i = 0; i < size; ++i) {
        ASSERT_EQ(p.IndexOf(p.At(i)), i) << "size " << size << " seed " << seed;
      }
    }
  }
  // Large domains, sampled (cycle walking included: 2^62 + 1 walks).
  for (uint64_t size : {(uint64_t{1} << 62) + 1, Permutation::kMaxSize, uint64_t{4294967296}}) {
    Permutation p(size, 7);
    for (uint64_t i = 0; i < 2000; ++i) {
      for (uint64_t index : {i, size - 1 - i, i * 0x9e3779b97f4a7u % size}) {
        ASSERT_EQ(p.IndexOf(p.At(index)), index) << "size " << size;
        ASSERT_EQ(p.At(p.IndexOf(index)), index) << "size " << size;
      }
    }
  }
}

}  // namespace
}  // namespace goalkeeper
