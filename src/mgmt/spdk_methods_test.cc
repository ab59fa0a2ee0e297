// The SPDK-compatible methods against a running target with no subsystem:
// what rpc.py sends (its always-sent defaults included) builds a subsystem
// with a RAM namespace and a TCP listener that the host library then uses;
// errors name the field and the reason.

#include "mgmt/spdk_methods.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "nvmeof/host.h"
#include "nvmeof/tcp.h"

namespace nvmeof::mgmt {
namespace {

constexpr char kNqn[] = "nqn.2016-06.io.spdk:cnode1";

class SpdkMethodsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterTcpTransport();
    ASSERT_TRUE(target_.Start(2).ok());
    state_.target = &target_;
    state_.save_config = [] { return Json{{"saved", true}}; };
    RegisterMethods(server_, state_);
    loop_ = std::move(EventLoop::Create()).value();
  }
  void TearDown() override { target_.Stop(); }

  // Calls `method` as rpc.py would; the whole response object.
  Json Call(const std::string& method, const Json& params = Json::object()) {
    Json req = {{"jsonrpc", "2.0"}, {"method", method}, {"id", ++id_}};
    if (!params.empty()) req["params"] = params;
    std::string out = server_.HandleText(req.dump());
    return Json::parse(out);
  }
  Json Ok(const std::string& method, const Json& params = Json::object()) {
    Json r = Call(method, params);
    EXPECT_TRUE(r.contains("result")) << method << ": " << r.dump();
    return r.value("result", Json());
  }
  std::string Error(const std::string& method, const Json& params) {
    Json r = Call(method, params);
    EXPECT_TRUE(r.contains("error")) << method << ": " << r.dump();
    return r.contains("error")
               ? std::to_string(r["error"].value("code", 0)) + " " +
                     r["error"].value("message", std::string())
               : "";
  }
  // The exact requests of SPDK v26.05's rpc.py (always-sent keys included).
  void BuildWithRpcPy(const std::string& port) {
    EXPECT_EQ(
        Ok("nvmf_create_transport", {{"no_srq", false},
                                     {"c2h_success", true},
                                     {"trtype", "TCP"},
                                     {"zcopy", false},
                                     {"dif_insert_or_strip", false},
                                     {"no_wr_batching", false},
                                     {"disable_mappable_bar0", false},
                                     {"disable_adaptive_irq", false},
                                     {"disable_shadow_doorbells", false},
                                     {"disable_command_passthru", false}}),
        true);
    EXPECT_EQ(Ok("bdev_malloc_create", {{"num_blocks", 32768},
                                        {"block_size", 512},
                                        {"name", "Malloc0"},
                                        {"md_interleave", false},
                                        {"dif_is_head_of_md", false}}),
              "Malloc0");
    EXPECT_EQ(
        Ok("nvmf_create_subsystem", {{"nqn", kNqn},
                                     {"serial_number", "SPDK00000000000001"},
                                     {"model_number", "SPDK_Controller1"},
                                     {"allow_any_host", true},
                                     {"ana_reporting", false},
                                     {"passthrough", false},
                                     {"enable_nssr", false}}),
        true);
    EXPECT_EQ(Ok("nvmf_subsystem_add_ns", {{"nqn", kNqn},
                                           {"namespace",
                                            {{"bdev_name", "Malloc0"},
                                             {"no_auto_visible", false},
                                             {"hide_metadata", false}}}}),
              1);
    EXPECT_EQ(
        Ok("nvmf_subsystem_add_listener",
           {{"nqn", kNqn},
            {"secure_channel", false},
            {"listen_address",
             {{"trtype", "tcp"}, {"traddr", "127.0.0.1"}, {"trsvcid", port}}}}),
        true);
  }
  std::string ListenPort() {
    for (const auto& p : target_.ports()) {
      if (p->Exposes(kNqn)) return p->trsvcid;
    }
    return "";
  }

  controller::TargetImpl target_;
  ControlState state_;
  RpcServer server_;
  std::unique_ptr<EventLoop> loop_;
  int id_ = 0;
};

TEST_F(SpdkMethodsTest, RpcPyBuildsASubsystemTheHostUses) {
  BuildWithRpcPy("0");
  const std::string port = ListenPort();
  ASSERT_FALSE(port.empty());
  host::ConnectOptions o;
  o.address = {TransportType::kTcp, "127.0.0.1", port};
  o.subnqn = kNqn;
  o.hostnqn =
      "nqn.2014-08.org.nvmexpress:uuid:6b1d5e0c-8d5f-4a3e-9c1b-2f7e4d8a9b01";
  auto a = host::Association::Connect(*loop_, o);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  std::string sn(reinterpret_cast<const char*>((*a)->identify().sn), 20);
  EXPECT_EQ(sn, "SPDK00000000000001  ");
  EXPECT_EQ((*a)->identify().nn, 32u);  // SPDK's default max_namespaces

  // What SPDK's tools read back.
  Json subs = Ok("nvmf_get_subsystems");
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[0]["subtype"], "Discovery");
  EXPECT_EQ(subs[1]["nqn"], kNqn);
  EXPECT_EQ(subs[1]["namespaces"][0]["bdev_name"], "Malloc0");
  EXPECT_EQ(subs[1]["listen_addresses"][0]["trsvcid"], port);
  EXPECT_EQ(subs[1]["listen_addresses"][0]["adrfam"], "IPv4");
  Json bdevs = Ok("bdev_get_bdevs");
  ASSERT_EQ(bdevs.size(), 1u);
  EXPECT_EQ(bdevs[0]["num_blocks"], 32768);
  EXPECT_EQ(bdevs[0]["claimed"], true);
  EXPECT_EQ(bdevs[0]["claim_type"], "exclusive_write");
  Json ctrls = Ok("nvmf_subsystem_get_controllers", {{"nqn", kNqn}});
  ASSERT_EQ(ctrls.size(), 1u);
  EXPECT_EQ(ctrls[0]["hostnqn"], o.hostnqn);
  EXPECT_EQ(ctrls[0]["num_io_qpairs"], 2);  // admin + 1 I/O, SPDK's count
  Json qpairs = Ok("nvmf_subsystem_get_qpairs", {{"nqn", kNqn}});
  ASSERT_EQ(qpairs.size(), 2u);
  EXPECT_EQ(qpairs[1]["qid"], 1);
  EXPECT_EQ(qpairs[1]["listen_address"]["trsvcid"], port);
  EXPECT_EQ(qpairs[1]["peer_address"]["traddr"], "127.0.0.1");
  Json stats = Ok("nvmf_get_stats");
  ASSERT_EQ(stats["poll_groups"].size(), 2u);
  EXPECT_EQ(stats["poll_groups"][0]["current_admin_qpairs"].get<int>() +
                stats["poll_groups"][1]["current_admin_qpairs"].get<int>(),
            1);

  // A write through the namespace shows in the bdev's counters.
  std::vector<uint8_t> buf(4096, 7);
  Sqe w{};
  w.opcode = 0x01;
  w.nsid = 1;
  w.cdw12 = 7;
  ASSERT_TRUE((*a)->IoSync(1, w, MemDesc(buf.data(), buf.size()), true).ok());
  Json iostat = Ok("bdev_get_iostat", {{"per_channel", false}});
  EXPECT_EQ(iostat["bdevs"][0]["num_write_ops"], 1);
  EXPECT_EQ(iostat["bdevs"][0]["bytes_written"], 4096);

  // A second namespace: the lowest free NSID; the host sees it.
  Ok("bdev_null_create", {{"name", "Null0"},
                          {"num_blocks", 2048},
                          {"block_size", 4096},
                          {"dif_is_head_of_md", false}});
  EXPECT_EQ(Ok("nvmf_subsystem_add_ns",
               {{"nqn", kNqn}, {"namespace", {{"bdev_name", "Null0"}}}}),
            2);
  auto id = (*a)->Identify(0x02, 0);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(reinterpret_cast<const uint32_t*>(id->data())[1], 2u);
  // Resized: the host's Identify shows it.
  EXPECT_EQ(Ok("bdev_null_resize", {{"name", "Null0"}, {"new_size", 16}}),
            true);
  auto ns = (*a)->Identify(0x00, 2);
  ASSERT_TRUE(ns.ok());
  IdentifyNamespace idns;
  std::memcpy(&idns, ns->data(), sizeof(idns));
  EXPECT_EQ(idns.nsze, 16u * 1024 * 1024 / 4096);
  EXPECT_NE(Error("bdev_null_resize", {{"name", "Null0"}, {"new_size", 1}})
                .find("-22 backends only grow"),
            std::string::npos);
  // Deleting a bdev removes its namespace, as in SPDK.
  EXPECT_EQ(Ok("bdev_null_delete", {{"name", "Null0"}}), true);
  EXPECT_EQ(Ok("nvmf_get_subsystems", {{"nqn", kNqn}})[0]["namespaces"].size(),
            1u);
}

TEST_F(SpdkMethodsTest, ErrorsNameTheFieldAndTheReason) {
  BuildWithRpcPy("0");
  EXPECT_EQ(Error("nvmf_create_transport", {{"trtype", "TCP"}}),
            "-32603 Transport type 'TCP' already exists");
  EXPECT_EQ(Error("nvmf_create_transport", {{"trtype", "RDMA"}}),
            "-32602 params.trtype: transport 'RDMA' is not available (only "
            "TCP)");
  EXPECT_EQ(Error("nvmf_create_subsystem", {{"nqn", kNqn}}).substr(0, 38),
            "-32603 Unable to create subsystem nqn.");
  EXPECT_EQ(Error("nvmf_create_subsystem",
                  {{"nqn", "nqn.2016-06.io.spdk:x"}, {"ana_reporting", true}}),
            "-32602 params.ana_reporting: true is not supported here (only "
            "false)");
  EXPECT_EQ(Error("nvmf_create_subsystem",
                  {{"nqn", "nqn.2016-06.io.spdk:x"}, {"colour", "red"}}),
            "-32602 params.colour: unknown parameter");
  EXPECT_EQ(Error("nvmf_subsystem_add_ns",
                  {{"nqn", "nqn.2016-06.io.spdk:none"},
                   {"namespace", {{"bdev_name", "Malloc0"}}}}),
            "-32602 subsystem nqn.2016-06.io.spdk:none does not exist");
  EXPECT_EQ(Error("nvmf_subsystem_add_ns",
                  {{"nqn", kNqn}, {"namespace", {{"bdev_name", "Malloc0"}}}}),
            "-32602 backend Malloc0 already serves namespace 1 of " +
                std::string(kNqn));
  Ok("bdev_malloc_create", {{"num_blocks", 64}, {"block_size", 512}});
  EXPECT_EQ(Error("nvmf_subsystem_add_ns",
                  {{"nqn", kNqn},
                   {"namespace", {{"bdev_name", "Malloc1"}, {"nsid", 1}}}}),
            "-32602 NSID 1 is in use in subsystem " + std::string(kNqn));
  EXPECT_EQ(Error("nvmf_subsystem_add_ns",
                  {{"nqn", kNqn},
                   {"namespace", {{"bdev_name", "Malloc1"}, {"nsid", 33}}}}),
            "-32602 NSID 33 is more than the 32 namespaces subsystem " +
                std::string(kNqn) + " may have (max_namespaces)");
  EXPECT_EQ(Error("nvmf_subsystem_add_ns",
                  {{"nqn", kNqn},
                   {"namespace", {{"bdev_name", "Malloc1"}, {"nsid", "7"}}}}),
            "-32602 params.namespace.nsid: must be an integer between 1 and "
            "4294967294, got '7'");
  EXPECT_EQ(
      Error("bdev_malloc_create", {{"num_blocks", 64}, {"block_size", 513}}),
      "-22 params.block_size: 512 or 4096, got 513");
  EXPECT_EQ(
      Error("bdev_malloc_create",
            {{"num_blocks", 64}, {"block_size", 512}, {"name", "Malloc0"}}),
      "-17 File exists: a bdev named Malloc0 already exists");
  EXPECT_EQ(Error("bdev_get_bdevs", {{"name", "nope"}}),
            "-19 No such device: bdev nope");
  EXPECT_EQ(Error("nvmf_get_subsystems", {{"nqn", "nqn.2016-06.io.spdk:none"}}),
            "-19 No such device: subsystem nqn.2016-06.io.spdk:none");
  EXPECT_EQ(
      Error(
          "nvmf_subsystem_add_listener",
          {{"nqn", kNqn},
           {"listen_address",
            {{"trtype", "tcp"}, {"traddr", "localhost"}, {"trsvcid", "4420"}}}})
          .substr(0, 35),
      "-32602 params.listen_address.traddr");
  EXPECT_EQ(
      Error("nvmf_subsystem_add_listener",
            {{"nqn", kNqn},
             {"listen_address", {{"trtype", "tcp"}, {"traddr", "127.0.0.1"}}}}),
      "-32602 params.listen_address.trsvcid: required field is missing");
  EXPECT_EQ(Error("nvmf_subsystem_remove_host",
                  {{"nqn", kNqn}, {"host", "nqn.2014-08.org.x:none"}})
                .substr(0, 6),
            "-32603");
  EXPECT_EQ(Error("nvmf_subsystem_add_host", {{"nqn", kNqn},
                                              {"host", "nqn.2014-08.org.x:h"},
                                              {"dhchap_key", "key0"}}),
            "-32602 dhchap_key: no key key0 in the keyring");
  EXPECT_EQ(
      Error("nvmf_subsystem_add_host",
            {{"nqn", kNqn}, {"host", "nqn.2014-08.org.x:h"}, {"psk", "key0"}}),
      "-32602 psk: no key key0 in the keyring");
  EXPECT_EQ(Error("framework_get_config", {{"name", "vhost"}}),
            "-32602 Subsystem 'vhost' not found");
  EXPECT_EQ(Error("spdk_get_version", {{"x", 1}}),
            "-32602 spdk_get_version takes no parameters");
}

TEST_F(SpdkMethodsTest, HostsListenersReferralsAndSaveConfig) {
  BuildWithRpcPy("0");
  const std::string port = ListenPort();
  EXPECT_EQ(Ok("nvmf_subsystem_allow_any_host",
               {{"nqn", kNqn}, {"allow_any_host", false}}),
            true);
  EXPECT_EQ(Ok("nvmf_subsystem_add_host",
               {{"nqn", kNqn}, {"host", "nqn.2014-08.org.x:h1"}}),
            true);
  EXPECT_EQ(Error("nvmf_subsystem_add_host",
                  {{"nqn", kNqn}, {"host", "nqn.2014-08.org.x:h1"}})
                .substr(0, 6),
            "-32603");
  Json s = Ok("nvmf_get_subsystems", {{"nqn", kNqn}})[0];
  EXPECT_EQ(s["allow_any_host"], false);
  EXPECT_EQ(s["hosts"][0]["nqn"], "nqn.2014-08.org.x:h1");
  Json listeners = Ok("nvmf_subsystem_get_listeners", {{"nqn", kNqn}});
  ASSERT_EQ(listeners.size(), 1u);
  EXPECT_EQ(listeners[0]["address"]["trsvcid"], port);
  Json ref = {
      {"secure_channel", false},
      {"address",
       {{"trtype", "tcp"}, {"traddr", "127.0.0.1"}, {"trsvcid", "4499"}}}};
  EXPECT_EQ(Ok("nvmf_discovery_add_referral", ref), true);
  EXPECT_EQ(Ok("nvmf_discovery_add_referral", ref), true);  // no second one
  Json refs = Ok("nvmf_discovery_get_referrals");
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0]["subnqn"], std::string(kDiscoveryNqn));
  // save_config, as rpc.py composes it.
  Json subsystems = Ok("framework_get_subsystems");
  ASSERT_EQ(subsystems.size(), 3u);
  EXPECT_EQ(subsystems[0]["subsystem"], "keyring");
  EXPECT_EQ(subsystems[2]["subsystem"], "nvmf");
  EXPECT_EQ(subsystems[2]["depends_on"], (Json::array({"bdev", "keyring"})));
  Json nvmf =
      Ok("framework_get_config", {{"name", "nvmf"}, {"with_batches", false}});
  std::vector<std::string> methods;
  for (const Json& m : nvmf) methods.push_back(m["method"]);
  EXPECT_EQ(methods,
            (std::vector<std::string>{
                "nvmf_create_transport", "nvmf_discovery_add_referral",
                "nvmf_create_subsystem", "nvmf_subsystem_add_host",
                "nvmf_subsystem_add_ns", "nvmf_subsystem_add_listener"}));
  Json bdev = Ok("framework_get_config", {{"name", "bdev"}});
  EXPECT_EQ(bdev[0]["method"], "bdev_malloc_create");
  EXPECT_EQ(bdev.back()["method"], "bdev_wait_for_examine");
  // Every method load_config would call exists.
  Json names =
      Ok("rpc_get_methods", {{"current", false}, {"include_aliases", false}});
  for (const Json& m : nvmf) {
    EXPECT_NE(std::find(names.begin(), names.end(), m["method"]), names.end())
        << m["method"];
  }
  EXPECT_EQ(Ok("nvmeof_save_config"), (Json{{"saved", true}}));
  // Removing the listener closes the port; deleting the subsystem frees
  // its bdev.
  EXPECT_EQ(
      Ok("nvmf_subsystem_remove_listener",
         {{"nqn", kNqn},
          {"listen_address",
           {{"trtype", "tcp"}, {"traddr", "127.0.0.1"}, {"trsvcid", port}}}}),
      true);
  EXPECT_TRUE(target_.ports().empty());
  EXPECT_EQ(Ok("nvmf_delete_subsystem", {{"nqn", kNqn}}), true);
  EXPECT_EQ(Ok("bdev_get_bdevs", {{"name", "Malloc0"}})[0]["claimed"], false);
}

// The keyring and a host's DH-HMAC-CHAP keys as rpc.py sends them: key
// files must be private; answers and saved configs name keys, never show
// a secret.
TEST_F(SpdkMethodsTest, KeyringAndHostKeys) {
  constexpr char kSecret[] =
      "DHHC-1:00:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaR:";
  char dir[] = "/tmp/nvmeof_keyring_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string key0 = std::string(dir) + "/key0";
  const std::string open_key = std::string(dir) + "/open";
  for (const std::string& f : {key0, open_key}) {
    FILE* out = fopen(f.c_str(), "w");
    ASSERT_NE(out, nullptr);
    fputs(kSecret, out);
    fclose(out);
  }
  chmod(key0.c_str(), 0600);
  chmod(open_key.c_str(), 0644);
  BuildWithRpcPy("0");
  EXPECT_EQ(
      Error("keyring_file_add_key", {{"name", "open"}, {"path", open_key}}),
      "-32602 key file " + open_key +
          ": mode 0644 lets others read it (it must be 0600 or 0400)");
  EXPECT_EQ(Error("keyring_file_add_key", {{"name", "rel"}, {"path", "key0"}}),
            "-32602 key rel: the path must be absolute");
  EXPECT_EQ(Ok("keyring_file_add_key", {{"name", "key0"}, {"path", key0}}),
            true);
  EXPECT_EQ(Error("keyring_file_add_key", {{"name", "key0"}, {"path", key0}}),
            "-17 key key0 already exists");
  EXPECT_EQ(Ok("nvmf_subsystem_allow_any_host",
               {{"nqn", kNqn}, {"allow_any_host", false}}),
            true);
  EXPECT_EQ(Error("nvmf_subsystem_add_host", {{"nqn", kNqn},
                                              {"host", "nqn.2014-08.org.x:h1"},
                                              {"dhchap_ctrlr_key", "key0"}}),
            "-32602 dhchap_ctrlr_key: a controller key needs a host key "
            "(dhchap_key)");
  EXPECT_EQ(Ok("nvmf_subsystem_add_host", {{"nqn", kNqn},
                                           {"host", "nqn.2014-08.org.x:h1"},
                                           {"dhchap_key", "key0"},
                                           {"dhchap_ctrlr_key", "key0"}}),
            true);
  const controller::HostEntry e =
      *target_.GetSubsystem(kNqn)->FindHost("nqn.2014-08.org.x:h1");
  ASSERT_NE(e.host_key, nullptr);
  EXPECT_EQ(e.host_key->Format(), kSecret);
  EXPECT_EQ(Ok("keyring_get_keys"), (Json::array({{{"name", "key0"},
                                                   {"path", key0},
                                                   {"removed", false},
                                                   {"probed", false},
                                                   {"refcnt", 3}}})));
  Json s = Ok("nvmf_get_subsystems", {{"nqn", kNqn}})[0];
  EXPECT_EQ(s["hosts"][0], (Json{{"nqn", "nqn.2014-08.org.x:h1"},
                                 {"dhchap_key", "key0"},
                                 {"dhchap_ctrlr_key", "key0"}}));
  EXPECT_EQ(Ok("nvmf_set_config", {{"dhchap_digests", {"sha384", "sha512"}},
                                   {"dhchap_dhgroups", {"ffdhe3072"}}}),
            true);
  EXPECT_EQ(
      Error("nvmf_set_config", {{"dhchap_digests", {"md5"}}}).substr(0, 6),
      "-32602");
  EXPECT_EQ(target_.dhchap_policy().hashes,
            (std::vector<auth::HashId>{auth::HashId::kSha384,
                                       auth::HashId::kSha512}));
  // save_config: the keyring first, then nvmf_set_config and the host with
  // its key names; no secret anywhere.
  Json keyring = Ok("framework_get_config", {{"name", "keyring"}});
  EXPECT_EQ(keyring,
            (Json::array({{{"method", "keyring_file_add_key"},
                           {"params", {{"name", "key0"}, {"path", key0}}}}})));
  Json nvmf = Ok("framework_get_config", {{"name", "nvmf"}});
  EXPECT_EQ(nvmf[0]["method"], "nvmf_set_config");
  EXPECT_EQ(nvmf[0]["params"]["dhchap_dhgroups"], Json::array({"ffdhe3072"}));
  bool host_saved = false;
  for (const Json& m : nvmf) {
    if (m["method"] != "nvmf_subsystem_add_host") continue;
    host_saved = true;
    EXPECT_EQ(m["params"]["dhchap_key"], "key0");
  }
  EXPECT_TRUE(host_saved);
  for (const Json& out : {keyring, nvmf, s, Ok("keyring_get_keys")}) {
    EXPECT_EQ(out.dump().find("DHHC-1"), std::string::npos) << out.dump();
  }
  // Removed from the keyring, the key stays with its host.
  EXPECT_EQ(Ok("keyring_file_remove_key", {{"name", "key0"}}), true);
  EXPECT_EQ(Error("keyring_file_remove_key", {{"name", "key0"}}),
            "-2 key key0 does not exist");
  EXPECT_NE(
      target_.GetSubsystem(kNqn)->FindHost("nqn.2014-08.org.x:h1")->host_key,
      nullptr);
  EXPECT_EQ(Error("nvmf_subsystem_set_keys", {{"nqn", kNqn},
                                              {"host", "nqn.2014-08.org.x:h1"},
                                              {"dhchap_key", "key0"}}),
            "-32602 dhchap_key: no key key0 in the keyring");
  EXPECT_EQ(Ok("nvmf_subsystem_set_keys",
               {{"nqn", kNqn}, {"host", "nqn.2014-08.org.x:h1"}}),
            true);
  EXPECT_EQ(
      target_.GetSubsystem(kNqn)->FindHost("nqn.2014-08.org.x:h1")->host_key,
      nullptr);
  unlink(key0.c_str());
  unlink(open_key.c_str());
  rmdir(dir);
}

// TLS as rpc.py sets it up: a PSK in the keyring (NVMeTLSkey-1), a host
// that names it (--psk), a listener with --secure-channel; the keyring
// tells the kinds apart; saved configs name the key, never show it.
TEST_F(SpdkMethodsTest, TlsListenerAndHostPsk) {
  constexpr char kPsk[] =
      "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:\n";
  constexpr char kSecret[] =
      "DHHC-1:00:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaR:";
  char dir[] = "/tmp/nvmeof_tlskeys_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string psk = std::string(dir) + "/psk";
  const std::string chap = std::string(dir) + "/chap";
  for (const auto& [path, text] :
       {std::pair<std::string, const char*>{psk, kPsk}, {chap, kSecret}}) {
    FILE* out = fopen(path.c_str(), "w");
    ASSERT_NE(out, nullptr);
    fputs(text, out);
    fclose(out);
    chmod(path.c_str(), 0600);
  }
  EXPECT_EQ(Ok("nvmf_create_transport", {{"trtype", "TCP"}}), true);
  EXPECT_EQ(Ok("bdev_malloc_create",
               {{"num_blocks", 2048}, {"block_size", 512}, {"name", "M0"}}),
            "M0");
  EXPECT_EQ(
      Ok("nvmf_create_subsystem", {{"nqn", kNqn}, {"allow_any_host", false}}),
      true);
  EXPECT_EQ(
      Ok("nvmf_subsystem_add_listener",
         {{"nqn", kNqn},
          {"secure_channel", true},
          {"listen_address",
           {{"trtype", "tcp"}, {"traddr", "127.0.0.1"}, {"trsvcid", "0"}}}}),
      true);
  ASSERT_EQ(target_.ports().size(), 1u);
  ASSERT_NE(target_.ports()[0]->params.transport.tls, nullptr);
  EXPECT_EQ(target_.ports()[0]->params.transport.tls->mode, TlsMode::kRequired);
  EXPECT_EQ(Ok("keyring_file_add_key", {{"name", "psk0"}, {"path", psk}}),
            true);
  EXPECT_EQ(Ok("keyring_file_add_key", {{"name", "chap0"}, {"path", chap}}),
            true);
  const std::string h1 = "nqn.2014-08.org.x:h1";
  EXPECT_EQ(Error("nvmf_subsystem_add_host",
                  {{"nqn", kNqn}, {"host", h1}, {"psk", "chap0"}}),
            "-32602 psk: key chap0 is a DH-HMAC-CHAP secret, not a TLS PSK "
            "(NVMeTLSkey-1)");
  EXPECT_EQ(Error("nvmf_subsystem_add_host",
                  {{"nqn", kNqn}, {"host", h1}, {"dhchap_key", "psk0"}}),
            "-32602 dhchap_key: key psk0 is a TLS PSK, not a DH-HMAC-CHAP "
            "secret");
  EXPECT_EQ(Error("nvmf_subsystem_add_host",
                  {{"nqn", kNqn}, {"host", h1}, {"psk", "nope"}}),
            "-32602 psk: no key nope in the keyring");
  EXPECT_EQ(Ok("nvmf_subsystem_add_host",
               {{"nqn", kNqn}, {"host", h1}, {"psk", "psk0"}}),
            true);
  const controller::HostEntry e = *target_.GetSubsystem(kNqn)->FindHost(h1);
  ASSERT_NE(e.tls_key, nullptr);
  EXPECT_EQ(e.tls_key->Format() + "\n", kPsk);
  Json s = Ok("nvmf_get_subsystems", {{"nqn", kNqn}})[0];
  EXPECT_EQ(s["hosts"][0], (Json{{"nqn", h1}, {"psk", "psk0"}}));
  Json nvmf = Ok("framework_get_config", {{"name", "nvmf"}});
  bool listener = false, host = false;
  for (const Json& m : nvmf) {
    if (m["method"] == "nvmf_subsystem_add_listener") {
      listener = true;
      EXPECT_EQ(m["params"]["secure_channel"], true);
    }
    if (m["method"] == "nvmf_subsystem_add_host") {
      host = true;
      EXPECT_EQ(m["params"]["psk"], "psk0");
    }
  }
  EXPECT_TRUE(listener);
  EXPECT_TRUE(host);
  Json keyring = Ok("framework_get_config", {{"name", "keyring"}});
  for (const Json& out : {keyring, nvmf, s, Ok("keyring_get_keys")}) {
    EXPECT_EQ(out.dump().find("NVMeTLSkey"), std::string::npos) << out.dump();
  }
  EXPECT_EQ(Ok("nvmf_delete_subsystem", {{"nqn", kNqn}}), true);
  unlink(psk.c_str());
  unlink(chap.c_str());
  rmdir(dir);
}

// A file bdev grows with its file (bdev_aio_rescan), also when it is
// served read-only; the bdev_*_delete methods delete their own kind.
TEST_F(SpdkMethodsTest, FileBdevsRescanAndDeleteByKind) {
  char path[] = "/tmp/nvmeof_rescan_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 1 << 20), 0);
  EXPECT_EQ(Ok("bdev_aio_create",
               {{"filename", path}, {"name", "Aio0"}, {"readonly", true}}),
            "Aio0");
  EXPECT_EQ(Ok("bdev_get_bdevs", {{"name", "Aio0"}})[0]["num_blocks"], 2048);
  ASSERT_EQ(ftruncate(fd, 3 << 20), 0);  // the file grew underneath
  close(fd);
  EXPECT_EQ(Ok("bdev_aio_rescan", {{"name", "Aio0"}}), true);
  EXPECT_EQ(Ok("bdev_get_bdevs", {{"name", "Aio0"}})[0]["num_blocks"], 6144);
  // Read-only: never extended by us.
  EXPECT_EQ(Error("bdev_resize", {{"name", "Aio0"}, {"new_size", 8}}),
            std::string("-22 backend Aio0: ") + path +
                " is served read-only: it is not extended (it has 3145728 "
                "bytes)");
  EXPECT_EQ(Error("bdev_malloc_delete", {{"name", "Aio0"}}),
            "-19 bdev Aio0 (AIO disk) is not of the kind this method deletes");
  EXPECT_EQ(Ok("bdev_aio_delete", {{"name", "Aio0"}}), true);
  unlink(path);
}

}  // namespace
}  // namespace nvmeof::mgmt
