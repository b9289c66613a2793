// Coordinator lease throughput: N simulated workers (threads, each with its
// own gRPC channel, as real workers have) lease a shard and complete it at
// once, in a loop, against a running goalkeeper-coordinator. Prints shards
// leased+completed per second.
//
//   lease_bench --coordinator 127.0.0.1:7070 --workers 100 --seconds 10
//
// The coordinator must allow 127.0.0.0/8 and scans of 2^40 probes
// (limits.max_probes_per_scan); the bench starts one huge scan
// (127.0.0.0/8 x 1-65535) whose probes are never sent: only leases move.
// Each simulated worker registers and sends its token with every call.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "common/flags.h"
#include "goalkeeper/v1/coordinator.grpc.pb.h"

namespace v1 = goalkeeper::v1;

int main(int argc, char** argv) {
  goalkeeper::FlagParser flags("lease_bench");
  std::string address = "127.0.0.1:7070";
  uint64_t workers = 100;
  uint64_t seconds = 10;
  flags.AddString("coordinator", &address, "HOST:PORT", "coordinator");
  flags.AddUint("workers", &workers, 1, 10000, "simulated workers");
  flags.AddUint("seconds", &seconds, 1, 600, "measurement time");
  if (absl::Status s = flags.Parse(argc - 1, argv + 1); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  auto coordinator =
      v1::Coordinator::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  v1::StartScanRequest start;
  start.mutable_targets()->add_include("127.0.0.0/8");
  start.mutable_ports()->set_spec("1-65535");
  v1::Scan scan;
  {
    grpc::ClientContext ctx;
    grpc::Status s = coordinator->StartScan(&ctx, start, &scan);
    if (!s.ok()) {
      std::fprintf(stderr, "error: StartScan: %s\n", s.error_message().c_str());
      return 1;
    }
  }
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> completed{0};
  std::atomic<uint64_t> errors{0};
  std::vector<std::thread> threads;
  for (uint64_t w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      grpc::ChannelArguments args;
      args.SetInt("grpc.channel_id", static_cast<int>(w));  // one connection per worker
      auto stub = v1::ShardService::NewStub(
          grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
      const std::string id = "bench-" + std::to_string(w);
      std::string token;
      {
        grpc::ClientContext ctx;
        v1::RegisterWorkerRequest req;
        req.set_worker_id(id);
        req.set_name(id);
        v1::RegisterWorkerResponse resp;
        grpc::Status rs = stub->RegisterWorker(&ctx, req, &resp);
        if (!rs.ok()) {
          if (errors++ == 0) {
            std::fprintf(stderr, "lease_bench: first error: RegisterWorker: %s\n",
                         rs.error_message().c_str());
          }
          return;
        }
        token = resp.worker_token();
      }
      while (!stop.load()) {
        v1::LeaseShardRequest lreq;
        lreq.set_worker_id(id);
        lreq.set_worker_token(token);
        v1::LeaseShardResponse lresp;
        grpc::ClientContext lctx;
        grpc::Status ls = stub->LeaseShard(&lctx, lreq, &lresp);
        if (!ls.ok() || !lresp.has_shard()) {
          if (errors++ == 0) {
            std::fprintf(stderr, "lease_bench: first error: LeaseShard: %s\n",
                         ls.ok() ? "no shard offered" : ls.error_message().c_str());
          }
          // Back off as a real worker does, instead of spinning on the CPU
          // the coordinator needs.
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          continue;
        }
        v1::CompleteShardRequest creq;
        creq.set_worker_id(id);
        creq.set_worker_token(token);
        creq.set_lease_id(lresp.shard().lease_id());
        creq.set_probes_done(lresp.shard().slice().end() - lresp.shard().slice().begin());
        v1::CompleteShardResponse cresp;
        grpc::ClientContext cctx;
        grpc::Status cs = stub->CompleteShard(&cctx, creq, &cresp);
        if (!cs.ok()) {
          if (errors++ == 0) {
            std::fprintf(stderr, "lease_bench: first error: CompleteShard: %s\n",
                         cs.error_message().c_str());
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          continue;
        }
        if (measuring.load()) ++completed;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // warm up: connect, register
  measuring.store(true);
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  measuring.store(false);
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stop.store(true);
  for (auto& t : threads) t.join();
  {
    grpc::ClientContext ctx;
    v1::CancelScanRequest req;
    req.set_id(scan.id());
    v1::Scan out;
    coordinator->CancelScan(&ctx, req, &out);
  }
  std::printf(
      "lease_bench workers=%lu seconds=%.1f shards=%lu shards_per_second=%.0f errors=%lu\n",
      static_cast<unsigned long>(workers), elapsed, static_cast<unsigned long>(completed.load()),
      static_cast<double>(completed.load()) / elapsed, static_cast<unsigned long>(errors.load()));
  return 0;
}
