#include "common/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "common/yaml_write.h"

namespace goalkeeper {
namespace {

// Certificates, keys and CA bundles are small; a larger file is a mistake.
constexpr size_t kMaxPemBytes = 1 << 20;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// "TLS certificate '/x/tls.crt'".
std::string Name(absl::string_view what, absl::string_view path) {
  return absl::StrCat(what, " '", path, "'");
}

absl::StatusOr<std::string> ReadSmallFile(absl::string_view what, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    const int err = errno;
    return absl::InvalidArgumentError(absl::StrCat(
        Name(what, path), ": ",
        err == ENOENT ? "no such file" : "cannot read: ", err == ENOENT ? "" : std::strerror(err)));
  }
  std::string text;
  char buf[8192];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
    text.append(buf, n);
    if (text.size() > kMaxPemBytes) {
      std::fclose(f);
      return absl::InvalidArgumentError(
          absl::StrCat(Name(what, path), ": larger than 1 MiB: not a PEM file"));
    }
  }
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) {
    return absl::InvalidArgumentError(
        absl::StrCat(Name(what, path), ": cannot read: ", std::strerror(err)));
  }
  return text;
}

// The label of the first PEM block ("CERTIFICATE", "PRIVATE KEY"); "" when none.
std::string FirstPemLabel(absl::string_view text) {
  constexpr absl::string_view kBegin = "-----BEGIN ";
  size_t at = text.find(kBegin);
  if (at == absl::string_view::npos) return "";
  at += kBegin.size();
  size_t end = text.find("-----", at);
  if (end == absl::string_view::npos) return "";
  return std::string(text.substr(at, end - at));
}

std::unique_ptr<BIO, BioFree> MemBio(const std::string& text) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Refuses a passphrase prompt: encrypted keys are not supported.
int NoPassword(char*, int, int, void*) { return 0; }

absl::StatusOr<std::vector<X509Ptr>> ReadCertificates(absl::string_view what,
                                                      const std::string& path) {
  ASSIGN_OR_RETURN(const std::string text, ReadSmallFile(what, path));
  const std::string label = FirstPemLabel(text);
  if (label.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Name(what, path), ": not PEM (no -----BEGIN CERTIFICATE----- block)"));
  }
  std::vector<X509Ptr> certs;
  auto bio = MemBio(text);
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, NoPassword, nullptr)) {
    certs.emplace_back(x);
  }
  ERR_clear_error();
  if (certs.empty()) {
    return absl::InvalidArgumentError(
        label == "CERTIFICATE"
            ? absl::StrCat(Name(what, path), ": its CERTIFICATE block is not a valid certificate")
            : absl::StrCat(Name(what, path), ": holds a ", label, ", not a CERTIFICATE"));
  }
  return certs;
}

std::string FormatAsn1Time(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return "an unreadable time";
  return absl::StrFormat("%04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// "" when valid now; else "expired on ..." / "not valid before ...".
std::string ValidityProblem(X509* cert) {
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
    return absl::StrCat("expired on ", FormatAsn1Time(X509_get0_notAfter(cert)));
  }
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
    return absl::StrCat("not valid before ", FormatAsn1Time(X509_get0_notBefore(cert)));
  }
  return "";
}

absl::Status CheckCa(const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<X509Ptr> cas, ReadCertificates("TLS CA file", path));
  std::string first_problem;
  for (X509Ptr& ca : cas) {
    std::string problem = ValidityProblem(ca.get());
    if (problem.empty()) return absl::OkStatus();  // a bundle may carry an old CA too
    if (first_problem.empty()) first_problem = problem;
  }
  return absl::InvalidArgumentError(absl::StrCat(Name("TLS CA file", path),
                                                 ": no certificate in it is valid now (the first ",
                                                 first_problem, ")"));
}

absl::Status CheckIdentity(const std::string& cert_path, const std::string& key_path) {
  ASSIGN_OR_RETURN(std::vector<X509Ptr> chain, ReadCertificates("TLS certificate", cert_path));
  X509* cert = chain.front().get();
  if (std::string problem = ValidityProblem(cert); !problem.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Name("TLS certificate", cert_path), ": ", problem));
  }
  ASSIGN_OR_RETURN(const std::string text, ReadSmallFile("TLS key", key_path));
  const std::string label = FirstPemLabel(text);
  if (label.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        Name("TLS key", key_path), ": not PEM (no -----BEGIN PRIVATE KEY----- block)"));
  }
  if (label == "ENCRYPTED PRIVATE KEY") {
    return absl::InvalidArgumentError(absl::StrCat(
        Name("TLS key", key_path), ": encrypted (a passphrase) keys are not supported"));
  }
  if (!absl::EndsWith(label, "PRIVATE KEY")) {
    return absl::InvalidArgumentError(
        absl::StrCat(Name("TLS key", key_path), ": holds a ", label, ", not a PRIVATE KEY"));
  }
  auto bio = MemBio(text);
  std::unique_ptr<EVP_PKEY, KeyFree> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(Name("TLS key", key_path), ": its ", label, " block is not a valid key"));
  }
  const int match = X509_check_private_key(cert, key.get());
  ERR_clear_error();
  if (match != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        Name("TLS key", key_path), " does not match the certificate '", cert_path, "'"));
  }
  return absl::OkStatus();
}

}  // namespace

void SetTlsDir(absl::string_view dir, TlsConfig* tls) {
  std::string base(dir);
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  tls->ca_file = absl::StrCat(base, "/ca.crt");
  tls->cert_file = absl::StrCat(base, "/tls.crt");
  tls->key_file = absl::StrCat(base, "/tls.key");
}

void TlsFlags::Add(FlagParser& flags, const char* default_dir_value, bool server_name_flag) {
  if (default_dir_value != nullptr) default_dir = default_dir_value;
  flags.AddString("tls-dir", &dir, "DIR",
                  default_dir.empty() ? "TLS files: DIR/ca.crt, DIR/tls.crt, DIR/tls.key"
                                      : "TLS files: DIR/ca.crt, DIR/tls.crt, DIR/tls.key (default "
                                        "$GOALKEEPER_TLS_DIR)");
  flags.AddString("tls-ca-file", &ca_file, "FILE", "the CA peers must chain to (over --tls-dir)");
  flags.AddString("tls-cert-file", &cert_file, "FILE", "this process's certificate (PEM)");
  flags.AddString("tls-key-file", &key_file, "FILE", "its private key (PEM)");
  if (server_name_flag) {
    flags.AddString("tls-server-name", &server_name, "NAME",
                    "the name the server's certificate must carry (default the dialled host)");
  }
  flags.AddBool("insecure", &insecure,
                "plaintext gRPC: nobody is authenticated or authorised (local demos only)");
}

absl::Status TlsFlags::ApplyTo(const FlagParser& flags, TlsConfig* tls) const {
  bool any_tls_flag = false;
  for (const char* name :
       {"tls-dir", "tls-ca-file", "tls-cert-file", "tls-key-file", "tls-server-name"}) {
    if (!flags.WasSet(name)) continue;
    if (insecure) {
      return absl::InvalidArgumentError(
          absl::StrCat("--insecure and --", name, " contradict each other: give one"));
    }
    any_tls_flag = true;
  }
  if (flags.WasSet("insecure")) {
    if (insecure) {
      const int refresh_seconds = tls->refresh_seconds;
      *tls = TlsConfig();
      tls->refresh_seconds = refresh_seconds;
      tls->insecure = true;
      return absl::OkStatus();
    }
    tls->insecure = false;
  }
  if (flags.WasSet("tls-dir")) {
    if (dir.empty()) return absl::InvalidArgumentError("--tls-dir: empty path");
    SetTlsDir(dir, tls);
  } else if (!default_dir.empty() && !flags.WasSet("tls-ca-file") &&
             !flags.WasSet("tls-cert-file") && !flags.WasSet("tls-key-file") &&
             tls->ca_file.empty() && !tls->insecure) {
    SetTlsDir(default_dir, tls);
  }
  if (any_tls_flag) tls->insecure = false;
  struct FileFlag {
    const char* name;
    const std::string* value;
    std::string* out;
  };
  for (const FileFlag& f : {FileFlag{"tls-ca-file", &ca_file, &tls->ca_file},
                            FileFlag{"tls-cert-file", &cert_file, &tls->cert_file},
                            FileFlag{"tls-key-file", &key_file, &tls->key_file}}) {
    if (!flags.WasSet(f.name)) continue;
    if (f.value->empty())
      return absl::InvalidArgumentError(absl::StrCat("--", f.name, ": empty path"));
    *f.out = *f.value;
  }
  if (flags.WasSet("tls-server-name")) {
    if (server_name.empty()) return absl::InvalidArgumentError("--tls-server-name: empty name");
    tls->server_name = server_name;
  }
  return absl::OkStatus();
}

absl::Status RequireTlsMaterial(const TlsConfig& tls, TlsUse use) {
  if (tls.insecure) return absl::OkStatus();
  const bool ca = !tls.ca_file.empty();
  const bool cert = !tls.cert_file.empty();
  const bool key = !tls.key_file.empty();
  if (!ca && !cert && !key) return absl::InvalidArgumentError(kNoTlsMaterial);
  if (!ca) {
    return absl::InvalidArgumentError(
        "--tls-ca-file is missing: the CA that signs the fleet is needed to verify peers");
  }
  if (cert != key) {
    return absl::InvalidArgumentError(cert
                                          ? "--tls-key-file is missing (--tls-cert-file is given)"
                                          : "--tls-cert-file is missing (--tls-key-file is given)");
  }
  if (!cert && use == TlsUse::kDaemon) {
    return absl::InvalidArgumentError(
        "--tls-cert-file and --tls-key-file are missing: this process needs its own certificate");
  }
  if (!cert && use == TlsUse::kClient) {
    return absl::InvalidArgumentError(
        "--tls-cert-file and --tls-key-file are missing: give a client certificate (or "
        "--token-file)");
  }
  return absl::OkStatus();
}

absl::Status CheckTlsFiles(const TlsConfig& tls) {
  if (tls.insecure) return absl::OkStatus();
  if (!tls.ca_file.empty()) RETURN_IF_ERROR(CheckCa(tls.ca_file));
  if (!tls.cert_file.empty() || !tls.key_file.empty()) {
    if (tls.cert_file.empty() || tls.key_file.empty()) {
      return RequireTlsMaterial(tls, TlsUse::kClient);
    }
    RETURN_IF_ERROR(CheckIdentity(tls.cert_file, tls.key_file));
  }
  return absl::OkStatus();
}

absl::Status ParseTlsYaml(const StrictYamlParser& yaml, const YamlField& f, TlsConfig* tls) {
  std::string dir;
  TlsConfig files;
  RETURN_IF_ERROR(
      yaml.ForEachEntry(f, {"dir", "ca_file", "cert_file", "key_file", "refresh_seconds"},
                        [&](const std::string& key, const YamlField& entry) -> absl::Status {
                          if (key == "refresh_seconds") {
                            ASSIGN_OR_RETURN(const uint32_t s, yaml.Uint(entry, 1, 86400));
                            tls->refresh_seconds = static_cast<int>(s);
                            return absl::OkStatus();
                          }
                          ASSIGN_OR_RETURN(std::string value, yaml.String(entry));
                          if (value.empty()) return yaml.Error(entry, "must not be empty (a path)");
                          if (key == "dir") {
                            dir = std::move(value);
                          } else if (key == "ca_file") {
                            files.ca_file = std::move(value);
                          } else if (key == "cert_file") {
                            files.cert_file = std::move(value);
                          } else {
                            files.key_file = std::move(value);
                          }
                          return absl::OkStatus();
                        }));
  if (!dir.empty()) SetTlsDir(dir, tls);
  if (!files.ca_file.empty()) tls->ca_file = files.ca_file;
  if (!files.cert_file.empty()) tls->cert_file = files.cert_file;
  if (!files.key_file.empty()) tls->key_file = files.key_file;
  return absl::OkStatus();
}

absl::Status ParseInsecureYaml(const StrictYamlParser& yaml, const YamlField& f, TlsConfig* tls) {
  ASSIGN_OR_RETURN(tls->insecure, yaml.Bool(f));
  return absl::OkStatus();
}

absl::Status CheckTlsYaml(const StrictYamlParser& yaml, const TlsConfig& tls, int line) {
  if (tls.insecure && (!tls.ca_file.empty() || !tls.cert_file.empty() || !tls.key_file.empty())) {
    return yaml.Error(line, "insecure",
                      "true contradicts the tls: files (plaintext or TLS: give one)");
  }
  return absl::OkStatus();
}

std::string FormatTlsYaml(const TlsConfig& tls) {
  std::string out = "tls:\n";
  auto file = [&out](absl::string_view key, const std::string& value) {
    if (value.empty()) {
      absl::StrAppend(&out, "  # ", key, ": unset\n");
    } else {
      absl::StrAppend(&out, "  ", key, ": ", YamlQuoted(value), "\n");
    }
  };
  file("ca_file", tls.ca_file);
  file("cert_file", tls.cert_file);
  file("key_file", tls.key_file);
  absl::StrAppend(&out, "  refresh_seconds: ", tls.refresh_seconds,
                  "  # the files are re-read this often\n");
  absl::StrAppend(&out, "insecure: ", tls.insecure ? "true" : "false",
                  tls.insecure ? "  # plaintext: nobody is authenticated or authorised" : "", "\n");
  return out;
}

std::string DescribeTls(const TlsConfig& tls) {
  if (tls.insecure) return "insecure (plaintext)";
  std::string out = absl::StrCat("tls ca=", tls.ca_file.empty() ? "-" : tls.ca_file,
                                 " cert=", tls.cert_file.empty() ? "-" : tls.cert_file,
                                 " key=", tls.key_file.empty() ? "-" : tls.key_file);
  if (!tls.server_name.empty()) absl::StrAppend(&out, " server_name=", tls.server_name);
  absl::StrAppend(&out, " refresh=", tls.refresh_seconds, "s");
  return out;
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile("token file", path));
  const size_t nl = text.find('\n');
  std::string token(absl::StripAsciiWhitespace(text.substr(0, nl)));
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("token file '", path, "': file is empty"));
  }
  for (char c : token) {
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) {
      return absl::InvalidArgumentError(absl::StrCat(
          "token file '", path, "': the token holds a space or a non-printable character"));
    }
  }
  return token;
}

}  // namespace goalkeeper
