#include "coordinator/inventory_source.h"

#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "owner_apis/openstack_client.h"

namespace goalkeeper {
namespace {

class OpenStackInventorySource : public InventorySource {
 public:
  // One inventory's client; OpenStackClient is not thread-safe.
  struct Entry {
    std::string origin;  // scheme://host:port of auth_url, for logs
    absl::Mutex mu;
    std::unique_ptr<OpenStackClient> client ABSL_GUARDED_BY(mu);
  };

  explicit OpenStackInventorySource(std::map<std::string, std::unique_ptr<Entry>> entries)
      : entries_(std::move(entries)) {}

  absl::StatusOr<std::vector<std::string>> Fetch(const std::string& inventory) override {
    auto it = entries_.find(inventory);
    if (it == entries_.end()) {
      return absl::NotFoundError(
          absl::StrCat("inventory '", inventory, "' has no openstack block"));
    }
    Entry& entry = *it->second;
    absl::MutexLock lock(&entry.mu);
    const int calls_before = entry.client->calls();
    absl::StatusOr<std::vector<std::string>> ips = entry.client->PublicAddresses();
    auto log = MakeLogger("coordinator");
    if (ips.ok()) {
      log->info("openstack inventory={} api={} addresses={} calls={}", inventory, entry.origin,
                ips->size(), entry.client->calls() - calls_before);
    } else {
      log->warn("openstack inventory={} api={} failed: {}", inventory, entry.origin,
                ips.status().message());
    }
    return ips;
  }

 private:
  const std::map<std::string, std::unique_ptr<Entry>> entries_;  // immutable
};

}  // namespace

absl::StatusOr<std::unique_ptr<InventorySource>> MakeOpenStackInventorySource(
    const CoordinatorConfig& config, HttpClient& http, const Clock& clock) {
  std::map<std::string, std::unique_ptr<OpenStackInventorySource::Entry>> entries;
  for (const auto& [name, inventory] : config.inventories) {
    if (!inventory.openstack.has_value()) continue;
    OpenStackConfig os = *inventory.openstack;
    if (absl::Status s = LoadOpenStackPassword(os); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("inventories.", name, ".openstack.password_file: ", s.message()));
    }
    auto entry = std::make_unique<OpenStackInventorySource::Entry>();
    entry->origin = UrlOrigin(os.auth_url);
    {
      absl::MutexLock lock(&entry->mu);
      entry->client = std::make_unique<OpenStackClient>(std::move(os), http, clock);
    }
    entries.emplace(name, std::move(entry));
  }
  return std::make_unique<OpenStackInventorySource>(std::move(entries));
}

}  // namespace goalkeeper
