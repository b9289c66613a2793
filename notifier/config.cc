#include "notifier/config.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/ip_address.h"
#include "common/status_macros.h"
#include "common/strict_yaml.h"
#include "common/targets.h"
#include "common/tls.h"
#include "common/yaml_write.h"

namespace goalkeeper {
namespace {

constexpr YamlListNouns kEmailNouns = {"an", "email address", "email addresses"};
constexpr absl::string_view kDurationWhat = "a duration > 0 such as 7d, 36h, 90m or 45s";
constexpr absl::string_view kTimeWhat = "an RFC 3339 time such as \"2027-01-31T00:00:00Z\"";
constexpr absl::string_view kChatIdWhat =
    "a Telegram chat id (a number such as -100123, or @channelname)";
// "<n>d" durations: more than a million days is surely a typo.
constexpr size_t kMaxDayDigits = 6;

// local@domain: one '@', a dot inside the domain, nothing that could break
// a mail header or an address list (spaces, control characters, <>,;:"()[]\).
bool ValidEmail(absl::string_view s) {
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f ||
        absl::string_view("<>,;:\"()[]\\").find(ch) != absl::string_view::npos) {
      return false;
    }
  }
  const size_t at = s.find('@');
  if (at == absl::string_view::npos || at == 0 || s.find('@', at + 1) != absl::string_view::npos) {
    return false;
  }
  const absl::string_view domain = s.substr(at + 1);
  const size_t dot = domain.find('.');
  return dot != absl::string_view::npos && domain.front() != '.' && domain.back() != '.' &&
         !absl::StrContains(domain, "..");
}

// A Telegram chat id: a (possibly negative) 64-bit number, or a public
// channel's @username (5-32 letters, digits or '_', starting with a letter).
bool ValidChatId(absl::string_view s) {
  if (!s.empty() && s.front() == '@') {
    const absl::string_view name = s.substr(1);
    return name.size() >= 5 && name.size() <= 32 &&
           absl::ascii_isalpha(static_cast<unsigned char>(name.front())) &&
           std::all_of(name.begin(), name.end(), [](char c) {
             return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
           });
  }
  const absl::string_view digits = absl::StartsWith(s, "-") ? s.substr(1) : s;
  int64_t n = 0;
  return !digits.empty() && std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) &&
         absl::SimpleAtoi(s, &n);
}

// "7d", or what absl::ParseDuration accepts ("36h", "1h30m"); finite, > 0.
std::optional<absl::Duration> ParseConfigDuration(absl::string_view text) {
  absl::Duration d;
  const absl::string_view days = absl::EndsWith(text, "d") ? text.substr(0, text.size() - 1) : "";
  if (!days.empty()) {
    int64_t n = 0;
    if (days.size() > kMaxDayDigits ||
        !std::all_of(days.begin(), days.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(days, &n)) {
      return std::nullopt;
    }
    d = absl::Hours(24) * n;
  } else if (!absl::ParseDuration(text, &d)) {
    return std::nullopt;
  }
  if (d <= absl::ZeroDuration() || d == absl::InfiniteDuration()) return std::nullopt;
  return d;
}

class NotifierParser {
 public:
  explicit NotifierParser(absl::string_view source) : yaml_(source) {}

  absl::StatusOr<NotifierConfig> Parse(absl::string_view yaml);

 private:
  // A string that must not be "".
  absl::StatusOr<std::string> NonEmpty(const YamlField& f) const;
  absl::StatusOr<std::string> HttpUrl(const YamlField& f, absl::string_view secrets) const {
    return yaml_.Url(f, {"http", "https"}, "an http:// or https:// URL", secrets);
  }
  absl::StatusOr<std::vector<std::string>> Emails(const YamlField& f) const;
  absl::StatusOr<std::string> Email(const YamlField& f) const;
  absl::StatusOr<std::string> ChatId(const YamlField& f) const;
  absl::StatusOr<absl::Duration> Duration(const YamlField& f) const;

  absl::Status ParseTop(const std::string& key, const YamlField& f);
  absl::Status ParseOps(const YamlField& f);
  absl::Status ParseEmail(const YamlField& f);
  absl::Status ParseTelegram(const YamlField& f);
  absl::Status ParseOwners(const YamlField& f);
  absl::Status ParseStaticOwner(const YamlField& f);
  absl::Status ParseOpenStack(const YamlField& f);
  absl::Status ParseFleio(const YamlField& f);
  absl::Status ParseNotify(const YamlField& f);
  absl::Status ParseAcknowledged(const YamlField& f);
  absl::Status CheckOps() const;

  const StrictYamlParser yaml_;
  NotifierConfig config_;
  // Where the ops.emails rule points when it fails: the first of these found.
  int ops_emails_line_ = -1;
  int ops_line_ = -1;
  int mode_line_ = -1;
  int insecure_line_ = -1;
};

absl::StatusOr<std::string> NotifierParser::NonEmpty(const YamlField& f) const {
  ASSIGN_OR_RETURN(std::string value, yaml_.String(f));
  if (value.empty()) return yaml_.Error(f, "must not be empty");
  return value;
}

absl::StatusOr<std::vector<std::string>> NotifierParser::Emails(const YamlField& f) const {
  std::vector<std::string> emails;
  RETURN_IF_ERROR(
      yaml_.ForEachListItem(f, kEmailNouns, [&](absl::string_view item, int line) -> absl::Status {
        if (!ValidEmail(item)) {
          return yaml_.Error(
              line, f.path,
              absl::StrCat(QuoteValue(item), " is not an email address (local@domain)"));
        }
        emails.emplace_back(item);
        return absl::OkStatus();
      }));
  return emails;
}

absl::StatusOr<std::string> NotifierParser::Email(const YamlField& f) const {
  ASSIGN_OR_RETURN(std::string email, yaml_.String(f));
  if (!ValidEmail(email)) {
    return yaml_.Error(f,
                       absl::StrCat(QuoteValue(email), " is not an email address (local@domain)"));
  }
  return email;
}

absl::StatusOr<std::string> NotifierParser::ChatId(const YamlField& f) const {
  if (!f.value.IsScalar() || !ValidChatId(f.value.Scalar())) return yaml_.Expected(f, kChatIdWhat);
  return f.value.Scalar();
}

absl::StatusOr<absl::Duration> NotifierParser::Duration(const YamlField& f) const {
  if (!f.value.IsScalar()) return yaml_.Expected(f, kDurationWhat);
  std::optional<absl::Duration> d = ParseConfigDuration(f.value.Scalar());
  if (!d) return yaml_.Expected(f, kDurationWhat);
  return *d;
}

absl::Status NotifierParser::ParseTop(const std::string& key, const YamlField& f) {
  if (key == "listen") {
    ASSIGN_OR_RETURN(config_.listen, yaml_.HostPort(f, 0, false));
  } else if (key == "metrics_listen") {
    ASSIGN_OR_RETURN(config_.metrics_listen, yaml_.HostPort(f, 0, true));
  } else if (key == "db") {
    ASSIGN_OR_RETURN(config_.db, NonEmpty(f));
  } else if (key == "mode") {
    mode_line_ = f.line;
    if (f.value.IsScalar() && f.value.Scalar() == "stage") {
      config_.mode = NotifierMode::kStage;
    } else if (f.value.IsScalar() && f.value.Scalar() == "prod") {
      config_.mode = NotifierMode::kProd;
    } else {
      return yaml_.Expected(f, "stage or prod");
    }
  } else if (key == "ops") {
    return ParseOps(f);
  } else if (key == "email") {
    return ParseEmail(f);
  } else if (key == "telegram") {
    return ParseTelegram(f);
  } else if (key == "owners") {
    return ParseOwners(f);
  } else if (key == "notify") {
    return ParseNotify(f);
  } else if (key == "tls") {
    return ParseTlsYaml(yaml_, f, &config_.tls);
  } else if (key == "insecure") {
    insecure_line_ = f.line;
    return ParseInsecureYaml(yaml_, f, &config_.tls);
  } else if (key == "health_listen") {
    ASSIGN_OR_RETURN(config_.health_listen, yaml_.HostPort(f, 0, true));
  } else if (key == "auth") {
    return ParseAuthConfig(yaml_, f, &config_.auth);
  }
  return absl::OkStatus();
}

absl::Status NotifierParser::ParseOps(const YamlField& f) {
  ops_line_ = f.line;
  return yaml_.ForEachEntry(f, {"emails", "telegram_chat_id"},
                            [&](const std::string& key, const YamlField& entry) -> absl::Status {
                              if (key == "emails") {
                                ops_emails_line_ = entry.line;
                                ASSIGN_OR_RETURN(config_.ops_emails, Emails(entry));
                              } else {
                                ASSIGN_OR_RETURN(config_.ops_telegram_chat_id, ChatId(entry));
                              }
                              return absl::OkStatus();
                            });
}

absl::Status NotifierParser::ParseEmail(const YamlField& f) {
  return yaml_.ForEachEntry(
      f, {"smtp_url", "username", "password_file", "from", "ca_file", "outbox_dir"},
      [&](const std::string& key, const YamlField& entry) -> absl::Status {
        if (key == "smtp_url") {
          ASSIGN_OR_RETURN(config_.smtp_url, yaml_.String(entry));
          // "" is the documented way to say "write .eml files".
          if (!config_.smtp_url.empty()) {
            ASSIGN_OR_RETURN(config_.smtp_url,
                             yaml_.Url(entry, {"smtp", "smtps"}, "an smtp:// or smtps:// URL",
                                       "use email.username and email.password_file"));
          }
        } else if (key == "username") {
          ASSIGN_OR_RETURN(config_.smtp_username, NonEmpty(entry));
        } else if (key == "password_file") {
          ASSIGN_OR_RETURN(config_.smtp_password_file, NonEmpty(entry));
        } else if (key == "from") {
          ASSIGN_OR_RETURN(config_.email_from, Email(entry));
        } else if (key == "ca_file") {
          ASSIGN_OR_RETURN(config_.email_ca_file, NonEmpty(entry));
        } else {
          ASSIGN_OR_RETURN(config_.outbox_dir, NonEmpty(entry));
        }
        return absl::OkStatus();
      });
}

absl::Status NotifierParser::ParseTelegram(const YamlField& f) {
  return yaml_.ForEachEntry(f, {"api_url", "token_file"},
                            [&](const std::string& key, const YamlField& entry) -> absl::Status {
                              if (key == "api_url") {
                                ASSIGN_OR_RETURN(
                                    config_.telegram_api_url,
                                    HttpUrl(entry, "use telegram.token_file for the bot token"));
                              } else {
                                ASSIGN_OR_RETURN(config_.telegram_token_file, NonEmpty(entry));
                              }
                              return absl::OkStatus();
                            });
}

absl::Status NotifierParser::ParseOwners(const YamlField& f) {
  return yaml_.ForEachEntry(f, {"static", "openstack", "fleio"},
                            [&](const std::string& key, const YamlField& entry) -> absl::Status {
                              if (key == "static") {
                                return yaml_.ForEachElement(entry, "a list of owners",
                                                            [this](const YamlField& owner) {
                                                              return ParseStaticOwner(owner);
                                                            });
                              }
                              if (key == "openstack") return ParseOpenStack(entry);
                              return ParseFleio(entry);
                            });
}

absl::Status NotifierParser::ParseStaticOwner(const YamlField& f) {
  if (!f.value.IsMap()) return yaml_.Expected(f, "a map");
  StaticOwner owner;
  bool has_cidr = false;
  bool has_name = false;
  RETURN_IF_ERROR(
      yaml_.ForEachEntry(f, {"cidr", "name", "emails", "telegram_chat_id"},
                         [&](const std::string& key, const YamlField& entry) -> absl::Status {
                           if (key == "cidr") {
                             ASSIGN_OR_RETURN(owner.cidr, yaml_.String(entry));
                             absl::StatusOr<AddressRange> range = ParseTargetSpec(owner.cidr);
                             if (!range.ok()) return yaml_.Error(entry, range.status().message());
                             owner.range = *range;
                             has_cidr = true;
                           } else if (key == "name") {
                             ASSIGN_OR_RETURN(owner.name, NonEmpty(entry));
                             has_name = true;
                           } else if (key == "emails") {
                             ASSIGN_OR_RETURN(owner.emails, Emails(entry));
                           } else {
                             ASSIGN_OR_RETURN(owner.telegram_chat_id, ChatId(entry));
                           }
                           return absl::OkStatus();
                         }));
  if (!has_cidr) return yaml_.Error(f, "missing required key 'cidr'");
  if (!has_name) return yaml_.Error(f, "missing required key 'name'");
  if (owner.emails.empty() && owner.telegram_chat_id.empty()) {
    return yaml_.Error(f, "needs emails or telegram_chat_id: there is no one to notify");
  }
  config_.static_owners.push_back(std::move(owner));
  return absl::OkStatus();
}

absl::Status NotifierParser::ParseOpenStack(const YamlField& f) {
  config_.openstack_enabled = true;
  ASSIGN_OR_RETURN(config_.openstack, ParseOpenStackConfig(yaml_, f));
  return absl::OkStatus();
}

absl::Status NotifierParser::ParseFleio(const YamlField& f) {
  config_.fleio_enabled = true;
  bool has_url = false;
  RETURN_IF_ERROR(yaml_.ForEachEntry(
      f, {"url", "token_file"},
      [&](const std::string& key, const YamlField& entry) -> absl::Status {
        if (key == "url") {
          ASSIGN_OR_RETURN(config_.fleio_url, HttpUrl(entry, "use owners.fleio.token_file"));
          has_url = true;
        } else {
          ASSIGN_OR_RETURN(config_.fleio_token_file, NonEmpty(entry));
        }
        return absl::OkStatus();
      }));
  if (!has_url) return yaml_.Error(f, "missing required key 'url'");
  return absl::OkStatus();
}

absl::Status NotifierParser::ParseNotify(const YamlField& f) {
  return yaml_.ForEachEntry(
      f, {"repeat_interval", "give_up_after", "notify_closed", "acknowledged"},
      [&](const std::string& key, const YamlField& entry) -> absl::Status {
        if (key == "repeat_interval") {
          ASSIGN_OR_RETURN(config_.repeat_interval, Duration(entry));
        } else if (key == "give_up_after") {
          ASSIGN_OR_RETURN(config_.give_up_after, Duration(entry));
        } else if (key == "notify_closed") {
          ASSIGN_OR_RETURN(config_.notify_closed, yaml_.Bool(entry));
        } else {
          return yaml_.ForEachElement(
              entry, "a list of acknowledged exposures",
              [this](const YamlField& ack) { return ParseAcknowledged(ack); });
        }
        return absl::OkStatus();
      });
}

absl::Status NotifierParser::ParseAcknowledged(const YamlField& f) {
  if (!f.value.IsMap()) return yaml_.Expected(f, "a map");
  AcknowledgedExposure ack;
  bool has_ip = false;
  bool has_port = false;
  bool has_until = false;
  RETURN_IF_ERROR(yaml_.ForEachEntry(
      f, {"ip", "port", "until", "reason"},
      [&](const std::string& key, const YamlField& entry) -> absl::Status {
        if (key == "ip") {
          std::optional<IpAddress> ip;
          if (entry.value.IsScalar()) ip = IpAddress::Parse(entry.value.Scalar());
          if (!ip) return yaml_.Expected(entry, "an IPv4 or IPv6 address");
          ack.ip = ip->ToString();  // canonical, as findings print it
          has_ip = true;
        } else if (key == "port") {
          ASSIGN_OR_RETURN(ack.port, yaml_.Uint(entry, 1, 65535));
          has_port = true;
        } else if (key == "until") {
          std::string error;
          if (!entry.value.IsScalar() ||
              !absl::ParseTime(absl::RFC3339_full, entry.value.Scalar(), &ack.until, &error) ||
              ack.until == absl::InfiniteFuture() || ack.until == absl::InfinitePast()) {
            return yaml_.Expected(entry, kTimeWhat);
          }
          has_until = true;
        } else {
          ASSIGN_OR_RETURN(ack.reason, yaml_.String(entry));
        }
        return absl::OkStatus();
      }));
  if (!has_ip) return yaml_.Error(f, "missing required key 'ip'");
  if (!has_port) return yaml_.Error(f, "missing required key 'port'");
  if (!has_until) return yaml_.Error(f, "missing required key 'until'");
  config_.acknowledged.push_back(std::move(ack));
  return absl::OkStatus();
}

absl::Status NotifierParser::CheckOps() const {
  if (!config_.ops_emails.empty()) return absl::OkStatus();
  const int line = ops_emails_line_ >= 0 ? ops_emails_line_
                   : ops_line_ >= 0      ? ops_line_
                                         : mode_line_;
  if (config_.mode == NotifierMode::kProd) {
    return yaml_.Error(line, "ops.emails",
                       "mode prod needs at least one address (owner NOT FOUND reports go there)");
  }
  return yaml_.Error(line, "ops.emails",
                     absl::StrCat("mode stage", mode_line_ < 0 ? " (the default)" : "",
                                  " needs at least one address (every email goes there instead "
                                  "of to owners)"));
}

absl::StatusOr<NotifierConfig> NotifierParser::Parse(absl::string_view yaml) {
  ASSIGN_OR_RETURN(const YamlField root, yaml_.LoadDocument(yaml));
  RETURN_IF_ERROR(yaml_.ForEachEntry(
      root,
      {"listen", "db", "metrics_listen", "mode", "ops", "email", "telegram", "owners", "notify",
       "tls", "insecure", "health_listen", "auth"},
      [this](const std::string& key, const YamlField& f) { return ParseTop(key, f); }));
  RETURN_IF_ERROR(CheckTlsYaml(yaml_, config_.tls, insecure_line_));
  RETURN_IF_ERROR(CheckOps());
  return std::move(config_);
}

}  // namespace

absl::StatusOr<NotifierConfig> ParseNotifierConfig(absl::string_view yaml,
                                                   absl::string_view source) {
  // yaml-cpp reports errors by throwing (also from node accessors); nothing
  // may leave this function as an exception.
  return CatchYamlExceptions(source, [&]() -> absl::StatusOr<NotifierConfig> {
    NotifierParser parser(source);
    return parser.Parse(yaml);
  });
}

absl::StatusOr<NotifierConfig> LoadNotifierConfig(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string text, ReadConfigFile(path));
  return ParseNotifierConfig(text, path);
}

namespace {

// "7d" for whole days (as ParseConfigDuration reads them), else absl's form
// ("36h", "1h30m"), which absl::ParseDuration reads back exactly.
std::string FormatConfigDuration(absl::Duration d) {
  absl::Duration rest;
  const int64_t days = absl::IDivDuration(d, absl::Hours(24), &rest);
  if (days > 0 && rest == absl::ZeroDuration() && absl::StrCat(days).size() <= kMaxDayDigits) {
    return absl::StrCat(days, "d");
  }
  return absl::FormatDuration(d);
}

}  // namespace

std::string FormatNotifierConfig(const NotifierConfig& c) {
  std::string out;
  auto line = [&out](absl::string_view indent, absl::string_view key, absl::string_view value) {
    absl::StrAppend(&out, indent, key, value.empty() ? ":" : ": ", value, "\n");
  };
  auto text = [&line](absl::string_view indent, absl::string_view key, absl::string_view value) {
    line(indent, key, YamlQuoted(value));
  };
  // A key whose "" the parser refuses: the value, or a comment when unset.
  auto optional = [&](absl::string_view indent, absl::string_view key, absl::string_view value,
                      absl::string_view unset) {
    if (value.empty()) {
      absl::StrAppend(&out, indent, "# ", key, ": unset", unset, "\n");
    } else {
      text(indent, key, value);
    }
  };
  text("", "listen", c.listen);
  text("", "db", c.db);
  text("", "metrics_listen", c.metrics_listen);
  line("", "mode", c.mode == NotifierMode::kProd ? "prod" : "stage");
  absl::StrAppend(&out, "ops:\n");
  line("  ", "emails", YamlFlowList(c.ops_emails));
  optional("  ", "telegram_chat_id", c.ops_telegram_chat_id, " (no Telegram summaries)");
  absl::StrAppend(&out, "email:\n");
  text("  ", "smtp_url", c.smtp_url);
  optional("  ", "username", c.smtp_username, " (no SMTP authentication)");
  optional("  ", "password_file", c.smtp_password_file,
           ": the password is read from $GOALKEEPER_SMTP_PASSWORD");
  text("  ", "from", c.email_from);
  optional("  ", "ca_file", c.email_ca_file, " (the system CA certificates)");
  text("  ", "outbox_dir", c.outbox_dir);
  absl::StrAppend(&out, "telegram:\n");
  text("  ", "api_url", c.telegram_api_url);
  optional("  ", "token_file", c.telegram_token_file,
           ": the token is read from $GOALKEEPER_TELEGRAM_TOKEN; without it summaries go to "
           "the log");
  absl::StrAppend(&out, "owners:\n");
  line("  ", "static", c.static_owners.empty() ? "[]" : "");
  for (const StaticOwner& owner : c.static_owners) {
    text("    - ", "cidr", owner.cidr);
    text("      ", "name", owner.name);
    line("      ", "emails", YamlFlowList(owner.emails));
    optional("      ", "telegram_chat_id", owner.telegram_chat_id, "");
  }
  if (c.openstack_enabled) {
    absl::StrAppend(&out, "  openstack:\n", FormatOpenStackConfig(c.openstack, 4));
  } else {
    absl::StrAppend(&out, "  # openstack: unset (no OpenStack owner lookups)\n");
  }
  if (c.fleio_enabled) {
    absl::StrAppend(&out, "  fleio:\n");
    text("    ", "url", c.fleio_url);
    optional("    ", "token_file", c.fleio_token_file,
             ": the token is read from $GOALKEEPER_FLEIO_TOKEN");
  } else {
    absl::StrAppend(&out, "  # fleio: unset (no Fleio owner lookups)\n");
  }
  absl::StrAppend(&out, "notify:\n");
  line("  ", "repeat_interval", YamlQuoted(FormatConfigDuration(c.repeat_interval)));
  line("  ", "give_up_after", YamlQuoted(FormatConfigDuration(c.give_up_after)));
  line("  ", "notify_closed", c.notify_closed ? "true" : "false");
  line("  ", "acknowledged", c.acknowledged.empty() ? "[]" : "");
  for (const AcknowledgedExposure& ack : c.acknowledged) {
    text("    - ", "ip", ack.ip);
    line("      ", "port", absl::StrCat(ack.port));
    text("      ", "until", absl::FormatTime(absl::RFC3339_full, ack.until, absl::UTCTimeZone()));
    text("      ", "reason", ack.reason);
  }
  absl::StrAppend(&out, FormatTlsYaml(c.tls));
  text("", "health_listen", c.health_listen);
  absl::StrAppend(&out, FormatAuthConfig(c.auth));
  return out;
}

std::vector<SecretRef> NotifierSecrets(const NotifierConfig& config) {
  std::vector<SecretRef> secrets;
  if (!config.smtp_url.empty() && !config.smtp_username.empty()) {
    secrets.push_back(
        {"email.password_file", config.smtp_password_file, "GOALKEEPER_SMTP_PASSWORD", true, ""});
  }
  secrets.push_back({"telegram.token_file", config.telegram_token_file, "GOALKEEPER_TELEGRAM_TOKEN",
                     false, "Telegram summaries go to the log"});
  if (config.openstack_enabled) {
    secrets.push_back({"owners.openstack.password_file", config.openstack.password_file,
                       "GOALKEEPER_OPENSTACK_PASSWORD", true, ""});
  }
  if (config.fleio_enabled) {
    secrets.push_back(
        {"owners.fleio.token_file", config.fleio_token_file, "GOALKEEPER_FLEIO_TOKEN", true, ""});
  }
  return secrets;
}

}  // namespace goalkeeper
