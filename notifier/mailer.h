// The Mailer seam: how the notifier hands an email to a delivery channel.
// Implementations: SMTP (notifier/smtp_mailer.h) and .eml files in a folder
// (notifier/eml_writer.h); both render the message with
// notifier/email_render.h. Tests use fakes.
//
//   EmailMessage m{.from = "goalkeeper@example.net", .to = {"owner@example.com"},
//                  .subject = "Exposed services", .text_body = "..."};
//   std::unique_ptr<Mailer> mailer = MakeOutboxMailer("/var/spool/goalkeeper");
//   absl::Status s = mailer->Send(m);
//
// Thread-safety: implementations are thread-safe.
#ifndef GOALKEEPER_NOTIFIER_MAILER_H_
#define GOALKEEPER_NOTIFIER_MAILER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace goalkeeper {

struct EmailMessage {
  std::string from;
  std::vector<std::string> to;
  std::vector<std::string> cc;
  std::string subject;     // UTF-8
  std::string text_body;   // UTF-8, '\n' line ends (rendered as CRLF)
  std::string html_body;   // optional alternative
  std::string message_id;  // "<id@host>"; also the idempotency key
  absl::Time date;
};

class Mailer {
 public:
  virtual ~Mailer() = default;
  // OK when the server accepted the message for at least one recipient.
  // Unavailable / DeadlineExceeded: try again later (server down, 4xx).
  // InvalidArgument / PermissionDenied: do not retry (every recipient
  // rejected, authentication refused). Messages never contain the password.
  virtual absl::Status Send(const EmailMessage& m) = 0;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_NOTIFIER_MAILER_H_
