#include "nvmeof/transport.h"
#include "transport/loopback.h"

namespace nvmeof {

TransportRegistry& TransportRegistry::Global() {
  static TransportRegistry* registry = new TransportRegistry();
  return *registry;
}

TransportRegistry::TransportRegistry() {
  transports_.push_back(std::make_unique<LoopbackTransport>());
}

void TransportRegistry::Register(std::unique_ptr<Transport> transport) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& t : transports_) {
    if (t->type() == transport->type()) {
      t = std::move(transport);
      return;
    }
  }
  transports_.push_back(std::move(transport));
}

Transport* TransportRegistry::Find(TransportType type) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& t : transports_) {
    if (t->type() == type) return t.get();
  }
  return nullptr;
}

std::string_view TransportTypeName(TransportType type) {
  switch (type) {
    case TransportType::kRdma:
      return "rdma";
    case TransportType::kFibreChannel:
      return "fc";
    case TransportType::kTcp:
      return "tcp";
    case TransportType::kLoopback:
      return "loop";
  }
  return "unknown";
}

Result<TransportType> ParseTransportType(std::string_view name) {
  if (name == "tcp") return TransportType::kTcp;
  if (name == "loop") return TransportType::kLoopback;
  if (name == "rdma") return TransportType::kRdma;
  if (name == "fc") return TransportType::kFibreChannel;
  return InvalidArgumentError("unknown transport '" + std::string(name) +
                              "' (expected tcp or loop)");
}

}  // namespace nvmeof
