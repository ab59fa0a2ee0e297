// The nvmeof tool's pieces: the options every verb shares, how a verb
// connects, and the verbs themselves, each a name, its flags and a run
// function (nvmeof_admin_verbs.cc, nvmeof_io_verbs.cc, nvmeof_perf.cc; the
// DH-HMAC-CHAP key verbs in nvmeof_connect.cc).
// main() (nvmeof.cc) only builds the command line from the verb table and
// runs the verb chosen.

#ifndef NVMEOF_TOOLS_NVMEOF_CLI_H_
#define NVMEOF_TOOLS_NVMEOF_CLI_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nvmeof/host.h"
#include "nvmeof/proto/identify.h"
#include "tools/nvmeof_perf.h"

namespace nvmeof::tools {

// Everything a verb may be given on the command line.
struct Args {
  // Connection.
  std::string transport = "tcp";
  std::string traddr = "127.0.0.1";
  std::string trsvcid = "4420";
  std::string nqn;
  std::string hostnqn;
  std::string hostid;
  bool hdr_digest = false;
  bool data_digest = false;
  int nr_io_queues = 1;
  int queue_size = 128;
  int kato_s = 5;
  int ctrl_loss_tmo_s = 0;  // a one-shot command fails fast by default
  int reconnect_delay_s = 2;
  // DH-HMAC-CHAP secrets (DHHC-1:XX:...:); without -S, /etc/nvme/hostkey
  // when it exists (as nvme-cli).
  std::string dhchap_secret;
  std::string dhchap_ctrl_secret;
  bool tls = false;
  std::string tls_key;  // NVMeTLSkey-1:...: or a file holding one
  int tls_identity = 0;
  bool tls_compat = false;
  std::string output = "normal";
  // I/O verbs.
  uint32_t nsid = 1;
  uint64_t slba = 0;
  uint32_t block_count = 0;  // zero-based, as nvme-cli
  std::string data_file;
  // dsm.
  std::vector<uint64_t> dsm_slbs;
  std::vector<uint32_t> dsm_blocks;
  bool dsm_ad = false;
  // get-log, get-feature.
  int log_id = 2;
  uint32_t log_len = 512;
  uint64_t lpo = 0;
  int feature_id = 0;
  int sel = 0;
  // perf.
  PerfOptions perf;
  int cpu = -1;
  std::string cpus;
  // gen-dhchap-key (zero: nvme-cli's defaults), check-dhchap-key.
  std::string key_secret;  // hex
  unsigned key_length = 0;
  unsigned key_hmac = 0;
  std::string key_nqn;
  std::string key_text;

  bool json() const { return output == "json"; }
};

// A verb: its name and help, the flags it takes, what it does (the exit
// status: 0 done, 1 failed, with a message on stderr).
struct Verb {
  const char* name;
  const char* help;
  void (*add_flags)(CLI::App* app, Args& args);
  int (*run)(Args& args);
};

std::vector<Verb> AdminVerbs();  // discover id-ctrl id-ns list-ns get-log get-feature
std::vector<Verb> IoVerbs();     // read write compare flush write-zeroes dsm
Verb PerfVerb();
std::vector<Verb> KeyVerbs();    // gen-dhchap-key check-dhchap-key
std::vector<Verb> TlsKeyVerbs();  // gen-tls-key check-tls-key

// ---- shared by the verbs (nvmeof_connect.cc) ----

// Connection flags with nvme-cli's names (-a, -s, -n...; `nqn_short`: -n
// is the NQN), and -o when `json`; the DH-HMAC-CHAP secrets as -S and -C
// unless `secret_short` is false (a verb whose -S is something else).
void AddConnection(CLI::App* v, Args& a, bool nqn_short, bool json,
                   bool secret_short = true);
// On I/O verbs, whose -n/-s/-c are the namespace, start and count, the
// clashing connection flags keep only their long forms.
void AddIoConnection(CLI::App* v, Args& a);
// -n/-s (and -c, and -d).
void AddIo(CLI::App* v, Args& a, bool data, bool count);

// Connects as the flags say (`discovery`: to the discovery controller,
// with no I/O queues and no keep-alive, when no --nqn is given).
Result<std::unique_ptr<host::Association>> Open(EventLoop& loop,
                                                const Args& a, bool discovery);
// A loop and an association on it, for the one-shot verbs.
struct Session {
  std::unique_ptr<EventLoop> loop;
  std::unique_ptr<host::Association> assoc;
};
Result<Session> OpenSession(const Args& a, bool discovery);

// Identify Namespace of an active namespace; one that is not, or beyond
// the controller's namespaces, fails with "namespace N is not active on
// this controller".
Result<IdentifyNamespace> ActiveNamespace(host::Association& assoc,
                                          uint32_t nsid);

// Prints "nvmeof: WHAT" to stderr; returns 1.
int Fail(const std::string& what);
// Prints the status's message (not its code's internal name); returns 1.
int Fail(const Status& why);

}  // namespace nvmeof::tools

#endif  // NVMEOF_TOOLS_NVMEOF_CLI_H_
