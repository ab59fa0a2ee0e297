// nvmeof: talk to any NVMe-oF target from the command line, in the manner
// of nvme-cli: discover, identify, read, write, and more. Each verb
// connects (TCP), does its work and disconnects. The verbs are in the
// tables of nvmeof_cli.h; this only builds the command line from them.

#include <cstdio>
#include <string>
#include <vector>

#include "nvmeof/tcp.h"
#include "tools/nvmeof_cli.h"

int main(int argc, char** argv) try {
  using nvmeof::tools::Verb;
  CLI::App app{"nvmeof: an NVMe over Fabrics host tool (NVMe/TCP)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("nvmeof ") + NVMEOF_VERSION);
  nvmeof::tools::Args args;
  std::vector<Verb> verbs = nvmeof::tools::AdminVerbs();
  for (const Verb& v : nvmeof::tools::IoVerbs()) verbs.push_back(v);
  verbs.push_back(nvmeof::tools::PerfVerb());
  for (const Verb& v : nvmeof::tools::KeyVerbs()) verbs.push_back(v);
  for (const Verb& v : nvmeof::tools::TlsKeyVerbs()) verbs.push_back(v);
  for (const Verb& v : verbs) v.add_flags(app.add_subcommand(v.name, v.help), args);
  CLI11_PARSE(app, argc, argv);
  nvmeof::RegisterTcpTransport();
  const std::string chosen = app.get_subcommands().front()->get_name();
  for (const Verb& v : verbs) {
    if (chosen == v.name) return v.run(args);
  }
  return 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "nvmeof: %s\n", e.what());
  return 1;
}
