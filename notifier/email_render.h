// Email messages as text: RenderMessage builds a complete RFC 5322 message
// (Date, From, To, Cc, Subject RFC 2047 UTF-8 encoded when not ASCII,
// Message-ID, MIME-Version, Content-Type text/plain; charset=UTF-8, or
// multipart/alternative when an HTML body is given; quoted-printable so lines
// stay <= 998 octets; CRLF line ends). The helpers below are what the two
// Mailers (notifier/smtp_mailer.h, notifier/eml_writer.h) share with it.
//
//   EmailMessage m{.from = "goalkeeper@example.net", .to = {"owner@example.com"},
//                  .subject = "Exposed services", .text_body = "..."};
//   std::string raw = RenderMessage(m);   // headers + body, CRLF
//
// Thread-safety: pure functions (RandomHex reads std::random_device).
#ifndef GOALKEEPER_NOTIFIER_EMAIL_RENDER_H_
#define GOALKEEPER_NOTIFIER_EMAIL_RENDER_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "notifier/mailer.h"

namespace goalkeeper {

// Longest Message-ID kept (an .eml file name must stay under 255 octets).
inline constexpr size_t kMaxMessageId = 200;

// The full message text as sent (headers + body, CRLF). A missing or
// unusable Message-ID is generated ("<32 hex digits@goalkeeper>"), an unset
// date is now.
std::string RenderMessage(const EmailMessage& m);

// The message with a usable Message-ID and Date filled in (RenderMessage's
// first step, so a sender can log the id it sends).
EmailMessage CompleteMessage(const EmailMessage& m);
// The text of a message CompleteMessage returned.
std::string RenderCompletedMessage(const EmailMessage& m);

// "<id@host>" with whitespace and controls removed; "" when nothing is left
// or the id is longer than kMaxMessageId.
std::string NormalizeMessageId(absl::string_view raw);

struct Mailbox {
  std::string display;  // may be empty
  std::string address;  // addr-spec
};
// "addr@host" or "Display Name <addr@host>" (display optionally quoted).
Mailbox ParseMailbox(absl::string_view raw);
// What the envelope (MAIL FROM / RCPT TO) may carry: no spaces, controls,
// angle brackets or commas, one '@' with text on both sides.
bool ValidEnvelopeAddress(absl::string_view address);

// Replaces CR, LF and the other control characters with spaces: nothing a
// caller passes can start a new header line.
std::string StripControls(absl::string_view s);

// `bytes` random bytes as lower-case hex.
std::string RandomHex(int bytes);

}  // namespace goalkeeper

#endif  // GOALKEEPER_NOTIFIER_EMAIL_RENDER_H_
