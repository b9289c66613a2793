// The outbox-folder Mailer (the zero-config local default): writes each
// message, rendered by notifier/email_render.h, as an .eml file named by its
// Message-ID into a folder, atomically (a hidden temporary file, fsync,
// rename, fsync of the folder). The same Message-ID twice leaves one file.
//
//   std::unique_ptr<Mailer> mailer = MakeOutboxMailer("/var/spool/goalkeeper");
//   absl::Status s = mailer->Send(message);   // /var/spool/goalkeeper/<id>.eml
//
// Thread-safety: thread-safe.
#ifndef GOALKEEPER_NOTIFIER_EML_WRITER_H_
#define GOALKEEPER_NOTIFIER_EML_WRITER_H_

#include <memory>
#include <string>

#include "notifier/mailer.h"

namespace goalkeeper {

std::unique_ptr<Mailer> MakeOutboxMailer(std::string dir);

}  // namespace goalkeeper

#endif  // GOALKEEPER_NOTIFIER_EML_WRITER_H_
