// The Mailer seam and its two implementations:
// - SmtpMailer: SMTP through libcurl. smtp:// requires STARTTLS by default
//   (CURLUSESSL_ALL, never the silent-fallback TRY), smtps:// is implicit
//   TLS; AUTH with a username and a password from a file or env var; TLS
//   verified (CA file configurable); one rejected recipient does not stop the
//   others (CURLOPT_MAIL_RCPT_ALLLOWFAILS).
// - OutboxMailer: writes each message as an .eml file into a folder (the
//   zero-config local default), atomically (write to a temp name, rename).
// RenderMessage builds a complete RFC 5322 message: Date, From, To, Cc,
// Subject (RFC 2047 UTF-8 encoded when not ASCII), Message-ID, MIME-Version,
// Content-Type text/plain; charset=UTF-8 (multipart/alternative when an HTML
// body is given), a transfer encoding that keeps lines <= 998 octets, and
// CRLF line ends.
//
//   EmailMessage m{.from = "goalkeeper@example.net", .to = {"owner@example.com"},
//                  .subject = "Exposed services", .text_body = "..."};
//   std::unique_ptr<Mailer> mailer = MakeOutboxMailer("/var/spool/goalkeeper");
//   absl::Status s = mailer->Send(m);
//
// Thread-safety: implementations are thread-safe.
#ifndef GOALKEEPER_NOTIFIER_MAILER_H_
#define GOALKEEPER_NOTIFIER_MAILER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace goalkeeper {

struct EmailMessage {
  std::string from;
  std::vector<std::string> to;
  std::vector<std::string> cc;
  std::string subject;      // UTF-8
  std::string text_body;    // UTF-8, '\n' line ends (rendered as CRLF)
  std::string html_body;    // optional alternative
  std::string message_id;   // "<id@host>"; also the idempotency key
  absl::Time date;
};

// The full message text as sent (headers + body, CRLF).
std::string RenderMessage(const EmailMessage& m);

class Mailer {
 public:
  virtual ~Mailer() = default;
  // OK when the server accepted the message for at least one recipient.
  // Unavailable / DeadlineExceeded: try again later (server down, 4xx).
  // InvalidArgument / PermissionDenied: do not retry (every recipient
  // rejected, authentication refused). Messages never contain the password.
  virtual absl::Status Send(const EmailMessage& m) = 0;
};

struct SmtpConfig {
  std::string url;              // smtp://host:587 or smtps://host:465
  std::string username;         // "" = no AUTH
  std::string password;         // loaded from password_file / env
  std::string ca_file;          // "" = system store
  bool require_starttls = true; // for smtp:// (refuse plain text)
  absl::Duration timeout = absl::Seconds(60);
};
std::unique_ptr<Mailer> MakeSmtpMailer(SmtpConfig config);
std::unique_ptr<Mailer> MakeOutboxMailer(std::string dir);

}  // namespace goalkeeper

#endif  // GOALKEEPER_NOTIFIER_MAILER_H_
