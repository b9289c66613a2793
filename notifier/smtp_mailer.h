// The SMTP Mailer, through libcurl. smtp:// requires STARTTLS by default
// (CURLUSESSL_ALL, never the silent-fallback TRY), smtps:// is implicit TLS;
// AUTH with a username and a password from a file or env var; TLS verified
// (CA file configurable); one rejected recipient does not stop the others
// (CURLOPT_MAIL_RCPT_ALLLOWFAILS). The message is rendered by
// notifier/email_render.h.
//
//   std::unique_ptr<Mailer> smtp = MakeSmtpMailer({.url = "smtp://mail.example.net:587", ...});
//   absl::Status s = smtp->Send(message);
//
// Thread-safety: thread-safe (one curl handle per Send).
#ifndef GOALKEEPER_NOTIFIER_SMTP_MAILER_H_
#define GOALKEEPER_NOTIFIER_SMTP_MAILER_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "notifier/mailer.h"

namespace goalkeeper {

struct SmtpConfig {
  std::string url;               // smtp://host:587 or smtps://host:465
  std::string username;          // "" = no AUTH
  std::string password;          // loaded from password_file / env
  std::string ca_file;           // "" = system store
  bool require_starttls = true;  // for smtp:// (refuse plain text)
  absl::Duration timeout = absl::Seconds(60);
};

std::unique_ptr<Mailer> MakeSmtpMailer(SmtpConfig config);

}  // namespace goalkeeper

#endif  // GOALKEEPER_NOTIFIER_SMTP_MAILER_H_
