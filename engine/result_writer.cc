#include "engine/result_writer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace goalkeeper {

void FormatResult(const ProbeResult& r, OutputFormat format, std::string& out) {
  char ip[64];
  size_t n = r.address.Format(ip);
  absl::string_view ip_text(ip, n);
  if (format == OutputFormat::kJsonl) {
    absl::StrAppend(&out, "{\"ip\":\"", ip_text, "\",\"port\":", r.port, ",\"state\":\"",
                    ProbeStateName(r.state), "\",\"rtt_us\":", r.rtt_us, "}\n");
  } else {
    const bool v6 = r.address.family == Family::kIPv6;
    absl::StrAppend(&out, v6 ? "[" : "", ip_text, v6 ? "]" : "", ":", r.port, " ",
                    ProbeStateName(r.state));
    if (r.rtt_us > 0) absl::StrAppendFormat(&out, " %.3fms", r.rtt_us / 1000.0);
    out.push_back('\n');
  }
}

void ResultWriter::OnResult(const ProbeResult& r) {
  if (!all_states_ && r.state != ProbeState::kOpen) return;
  absl::MutexLock lock(&mu_);
  FormatResult(r, format_, buffer_);
  if (buffer_.size() >= kFlushBytes) FlushLocked();
}

void ResultWriter::Flush() {
  absl::MutexLock lock(&mu_);
  FlushLocked();
}

void ResultWriter::FlushLocked() {
  if (!buffer_.empty() && ok_) {
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), out_) != buffer_.size() ||
        std::fflush(out_) != 0) {
      ok_ = false;
    }
  }
  buffer_.clear();
}

bool ResultWriter::ok() const {
  absl::MutexLock lock(&mu_);
  return ok_;
}

}  // namespace goalkeeper
