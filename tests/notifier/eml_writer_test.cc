// OutboxMailer: .eml files in a folder, named by Message-ID, written
// atomically.
#include "notifier/eml_writer.h"

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "notifier/email_render.h"
#include "tests/notifier/email_testing.h"

namespace goalkeeper::email_testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(OutboxMailerTest, WritesParseableEmlFilesNamedByMessageId) {
  TempDir tmp;
  std::string dir = tmp / "spool/outbox";  // created on first use
  EmailMessage m = Sample();
  m.subject = "Übersicht ✓";
  ASSERT_TRUE(MakeOutboxMailer(dir)->Send(m).ok());
  std::vector<std::string> files = Files(dir, "");
  ASSERT_THAT(files, ElementsAre(dir + "/report-1@goalkeeper.eml"));
  std::string raw = ReadFile(files[0]);
  ExpectCrlfOnly(raw);
  // Python's email package (a real reader) agrees.
  testing::RunResult r = testing::Run(
      {kPython, "-c",
       "import email, email.policy, sys\n"
       "m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)\n"
       "assert not m.defects, m.defects\n"
       "sys.stdout.write(m['subject'] + '|' + m['message-id'] + '|' +\n"
       "                 m.get_body(('plain',)).get_content().replace('\\r\\n', '\\n'))\n",
       files[0]});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Übersicht ✓|<report-1@goalkeeper>|" + m.text_body);
}

TEST(OutboxMailerTest, SameMessageIdTwiceLeavesOneFile) {
  TempDir tmp;
  std::unique_ptr<Mailer> outbox = MakeOutboxMailer(tmp.path());
  EmailMessage m = Sample();
  ASSERT_TRUE(outbox->Send(m).ok());
  m.text_body = "second version\n";
  ASSERT_TRUE(outbox->Send(m).ok());
  std::vector<std::string> files = Files(tmp.path(), "");
  ASSERT_EQ(files.size(), 1u) << absl::StrJoin(files, ", ");
  EXPECT_EQ(DecodeQp(Parse(ReadFile(files[0])).body), "second version\n");
  m.message_id = "<report-2@goalkeeper>";
  ASSERT_TRUE(outbox->Send(m).ok());
  EXPECT_EQ(Files(tmp.path(), ".eml").size(), 2u);
}

TEST(OutboxMailerTest, GeneratesAMessageIdWhenEmpty) {
  TempDir tmp;
  EmailMessage m = Sample();
  m.message_id.clear();
  ASSERT_TRUE(MakeOutboxMailer(tmp.path())->Send(m).ok());
  std::vector<std::string> files = Files(tmp.path(), "");
  ASSERT_EQ(files.size(), 1u);
  std::string name = std::filesystem::path(files[0]).filename().string();
  EXPECT_TRUE(absl::EndsWith(name, ".eml") &&
              IsGeneratedId(absl::StrCat("<", name.substr(0, name.size() - 4), ">")))
      << files[0];
  std::string id = Header(Parse(ReadFile(files[0])), "message-id");
  EXPECT_TRUE(absl::EndsWith(files[0], "/" + id.substr(1, id.size() - 2) + ".eml"));
}

TEST(OutboxMailerTest, MessageIdCannotEscapeTheFolder) {
  TempDir tmp;
  std::string dir = tmp / "out";
  EmailMessage m = Sample();
  m.message_id = "<../../escape/..@x>";
  ASSERT_TRUE(MakeOutboxMailer(dir)->Send(m).ok());
  std::vector<std::string> files = Files(dir, ".eml");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(Files(tmp.path(), "").size(), 1u);  // only "out"
  EXPECT_EQ(std::filesystem::path(files[0]).parent_path().string(), dir);
  m.message_id = std::string(500, 'x');
  EXPECT_EQ(MakeOutboxMailer(dir)->Send(m).code(), absl::StatusCode::kInvalidArgument);
}

TEST(OutboxMailerTest, UnwritableFolderIsAnError) {
  TempDir tmp;
  std::string file = tmp / "plain-file";
  std::ofstream(file) << "x";
  absl::Status s = MakeOutboxMailer(file + "/sub")->Send(Sample());
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("plain-file"));
}

}  // namespace
}  // namespace goalkeeper::email_testing
