// Writes probe results as JSONL or text lines to a FILE*, buffered and
// thread-safe, for `goalkeeper-worker scan`.
//
//   ResultWriter out(stdout, OutputFormat::kJsonl, /*all_states=*/false);
//   engine.Run(space, 0, space.size(), out);
//   out.Flush();
//
// JSONL (design12.md): {"ip":"127.0.0.5","port":80,"state":"open","rtt_us":123,
//   "transport":"tcp","service":"HTTP","verified":false}, and when a probe ran
//   also "probe", "evidence":{version, auth, tls_offered, request_bytes,
//   response_bytes, amplification, banner, facts} and "summary".
// text:  127.0.0.5:80 open 0.123ms [summary] ("/udp" after UDP ports)
//
// Thread-safety: OnResult and Flush may be called from any thread.
#ifndef GOALKEEPER_ENGINE_RESULT_WRITER_H_
#define GOALKEEPER_ENGINE_RESULT_WRITER_H_

#include <cstdio>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "engine/scan_engine.h"

namespace goalkeeper {

enum class OutputFormat { kJsonl, kText };

// What answered: the evidence's service when a probe verified it, else the
// catalogue's name (TCP: ServiceName(port); UDP: the port's probe's service).
std::string ResultService(const ProbeResult& r);

// Appends one formatted line (with '\n') to `out`.
void FormatResult(const ProbeResult& r, OutputFormat format, std::string& out);

class ResultWriter : public ResultSink {
 public:
  ResultWriter(std::FILE* out, OutputFormat format, bool all_states)
      : out_(out), format_(format), all_states_(all_states) {}
  ~ResultWriter() override { Flush(); }
  ResultWriter(const ResultWriter&) = delete;
  ResultWriter& operator=(const ResultWriter&) = delete;

  void OnResult(const ProbeResult& r) override;
  void Flush();
  // False once a write to the stream failed (e.g. a closed pipe).
  bool ok() const;

 private:
  static constexpr size_t kFlushBytes = 1 << 16;
  void FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::FILE* const out_;
  const OutputFormat format_;
  const bool all_states_;
  mutable absl::Mutex mu_;
  std::string buffer_ ABSL_GUARDED_BY(mu_);
  bool ok_ ABSL_GUARDED_BY(mu_) = true;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_ENGINE_RESULT_WRITER_H_
