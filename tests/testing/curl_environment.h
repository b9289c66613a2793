// Initialises libcurl once for a whole test binary, as main() does in
// production (curl_global_init before any thread). Include it from one test
// file of each binary that makes real HTTP requests.
//
// Thread-safety: runs before and after every test, on the main thread.
#ifndef GOALKEEPER_TESTS_TESTING_CURL_ENVIRONMENT_H_
#define GOALKEEPER_TESTS_TESTING_CURL_ENVIRONMENT_H_

#include <curl/curl.h>

#include "gtest/gtest.h"

namespace goalkeeper::testing {

class CurlEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK); }
  void TearDown() override { curl_global_cleanup(); }
};

// One registration per binary, whichever files include this header.
inline ::testing::Environment* const kCurlEnvironment =
    ::testing::AddGlobalTestEnvironment(new CurlEnvironment);

}  // namespace goalkeeper::testing

#endif  // GOALKEEPER_TESTS_TESTING_CURL_ENVIRONMENT_H_
