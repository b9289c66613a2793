#include "notifier/eml_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/logging.h"
#include "notifier/email_render.h"

namespace goalkeeper {
namespace {

std::shared_ptr<spdlog::logger> Log() {
  static const std::shared_ptr<spdlog::logger> log = MakeLogger("notifier");
  return log;
}

// The file name for a Message-ID (without brackets): characters other than
// [A-Za-z0-9._@+=-] and a leading '.' become %XX, so the name is a plain,
// deterministic file name (no '/', never "." or "..").
std::string OutboxName(absl::string_view id) {
  std::string out;
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool keep = absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                (absl::StrContains("._@+=-", c) && !(i == 0 && c == '.'));
    out += keep ? std::string(1, c)
                : absl::StrFormat("%%%02X", static_cast<unsigned>(static_cast<unsigned char>(c)));
  }
  return out + ".eml";
}

absl::Status WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, "write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

class OutboxMailer : public Mailer {
 public:
  explicit OutboxMailer(std::string dir) : dir_(std::move(dir)) {}
  OutboxMailer(const OutboxMailer&) = delete;
  OutboxMailer& operator=(const OutboxMailer&) = delete;

  absl::Status Send(const EmailMessage& message) override {
    if (!message.message_id.empty() && NormalizeMessageId(message.message_id).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("outbox: Message-ID '", absl::CHexEscape(message.message_id.substr(0, 64)),
                       "' is not usable (empty or longer than ", kMaxMessageId, " characters)"));
    }
    EmailMessage m = CompleteMessage(message);
    std::string id(absl::string_view(m.message_id).substr(1, m.message_id.size() - 2));
    std::string name = OutboxName(id);
    if (name.size() > 240) {
      return absl::InvalidArgumentError(
          absl::StrCat("outbox: Message-ID ", m.message_id, " is too long for a file name"));
    }
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) {
      return absl::Status(absl::ErrnoToStatusCode(ec.value()),
                          absl::StrCat("outbox: cannot create ", dir_, ": ", ec.message()));
    }
    const std::string payload = RenderCompletedMessage(m);
    const std::string final_path = absl::StrCat(dir_, "/", name);
    // Hidden and without the .eml suffix, so readers never pick it up.
    const std::string tmp_path = absl::StrCat(dir_, "/.tmp-", RandomHex(8), "-", name, ".part");
    int fd = open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) return Errno(errno, "cannot create", tmp_path);
    absl::Status s = WriteAll(fd, payload);
    if (s.ok() && fsync(fd) != 0) s = absl::ErrnoToStatus(errno, "fsync");
    if (close(fd) != 0 && s.ok()) s = absl::ErrnoToStatus(errno, "close");
    if (s.ok() && rename(tmp_path.c_str(), final_path.c_str()) != 0) {
      s = absl::ErrnoToStatus(errno, "rename");
    }
    if (!s.ok()) {
      unlink(tmp_path.c_str());
      return absl::Status(s.code(),
                          absl::StrCat("outbox: writing ", final_path, ": ", s.message()));
    }
    // Make the rename durable.
    int dfd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
    Log()->info("outbox wrote message_id={} file={}", m.message_id, final_path);
    return absl::OkStatus();
  }

 private:
  static absl::Status Errno(int err, absl::string_view what, absl::string_view path) {
    return absl::ErrnoToStatus(err, absl::StrCat("outbox: ", what, " ", path));
  }

  const std::string dir_;
};

}  // namespace

std::unique_ptr<Mailer> MakeOutboxMailer(std::string dir) {
  return std::make_unique<OutboxMailer>(std::move(dir));
}

}  // namespace goalkeeper
