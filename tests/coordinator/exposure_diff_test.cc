// The pure exposure diff shared by DiffScan and the end-of-scan report.
#include "coordinator/exposure_diff.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

using ::testing::ElementsAre;

TEST(ExposureDiffTest, NewStillOpenAndClosedInKeyOrderKeepingFirstSeen) {
  const ExposureMap before = {{{"10.0.0.1", 22}, 100}, {{"10.0.0.2", 80}, 200}};
  const ExposureMap now = {
      {{"10.0.0.2", 80}, 900}, {{"10.0.0.3", 22}, 950}, {{"10.0.0.10", 5432}, 960}};
  EXPECT_THAT(DiffExposures(before, now),
              ElementsAre(ExposureDelta{{"10.0.0.10", 5432}, ExposureChange::kNew, 960},
                          ExposureDelta{{"10.0.0.2", 80}, ExposureChange::kStillOpen, 200},
                          ExposureDelta{{"10.0.0.3", 22}, ExposureChange::kNew, 950},
                          ExposureDelta{{"10.0.0.1", 22}, ExposureChange::kClosed, 100}));
}

TEST(ExposureDiffTest, SameAddressOtherPortIsADifferentExposure) {
  // With "ip|port" strings 10.0.0.1|22 and 10.0.0.12|2 could never collide,
  // but ports must still compare as numbers, not text.
  const ExposureMap before = {{{"10.0.0.1", 22}, 1}};
  const ExposureMap now = {{{"10.0.0.1", 3}, 2}, {{"10.0.0.1", 22}, 3}};
  EXPECT_THAT(DiffExposures(before, now),
              ElementsAre(ExposureDelta{{"10.0.0.1", 3}, ExposureChange::kNew, 2},
                          ExposureDelta{{"10.0.0.1", 22}, ExposureChange::kStillOpen, 1}));
}

TEST(ExposureDiffTest, EmptySidesAndTheExposuresAfter) {
  EXPECT_TRUE(DiffExposures({}, {}).empty());
  const ExposureMap before = {{{"::1", 6379}, 5}};
  auto closed = DiffExposures(before, {});
  EXPECT_THAT(closed, ElementsAre(ExposureDelta{{"::1", 6379}, ExposureChange::kClosed, 5}));
  EXPECT_TRUE(ExposuresAfter(closed).empty());
  auto diff = DiffExposures(before, {{{"::1", 6379}, 9}, {{"::2", 22}, 7}});
  EXPECT_EQ(ExposuresAfter(diff), (ExposureMap{{{"::1", 6379}, 5}, {{"::2", 22}, 7}}));
}

TEST(ExposureDiffTest, TransportIsPartOfTheKeyAndTheDetailFollowsEachSide) {
  const ExposureDetail redis{"Redis", true, "ev-before"};
  const ExposureDetail redis_now{"Redis", true, "ev-now"};
  const ExposureDetail dns{"DNS", true, "ev-dns"};
  // 10.0.0.1:53/tcp was open; now 10.0.0.1:53/udp is: two different exposures.
  const ExposureMap before = {{{"10.0.0.1", 53, kExposureTcp}, ExposureInfo(1, {"DNS", false, ""})},
                              {{"10.0.0.2", 6379}, ExposureInfo(2, redis)}};
  const ExposureMap now = {{{"10.0.0.1", 53, kExposureUdp}, ExposureInfo(5, dns)},
                           {{"10.0.0.2", 6379}, ExposureInfo(6, redis_now)}};
  EXPECT_THAT(
      DiffExposures(before, now),
      ElementsAre(ExposureDelta{{"10.0.0.1", 53, kExposureUdp}, ExposureChange::kNew, 5, dns},
                  ExposureDelta{{"10.0.0.2", 6379}, ExposureChange::kStillOpen, 2, redis_now},
                  ExposureDelta{{"10.0.0.1", 53, kExposureTcp}, ExposureChange::kClosed, 1,
                                {"DNS", false, ""}}));
  const ExposureMap after = ExposuresAfter(DiffExposures(before, now));
  EXPECT_EQ(after.at({"10.0.0.2", 6379}), ExposureInfo(2, redis_now));
  EXPECT_EQ(after.count({"10.0.0.1", 53, kExposureTcp}), 0u);
}

}  // namespace
}  // namespace goalkeeper
