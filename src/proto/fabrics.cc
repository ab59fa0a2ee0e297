#include "nvmeof/proto/fabrics.h"

#include <cstring>
#include <string>

namespace nvmeof {
namespace {

// A zeroed fabrics SQE view of type T with the opcode and FCTYPE set.
template <typename T>
T NewFabricsSqe(FabricsCommandType type) {
  T view;
  std::memset(&view, 0, sizeof(view));
  view.opcode = kFabricsOpcode;
  view.fctype = static_cast<uint8_t>(type);
  return view;
}

Status CheckFabricsSqe(const Sqe& sqe, FabricsCommandType want) {
  if (sqe.opcode != kFabricsOpcode) {
    return InvalidArgumentError("not a fabrics command: opcode " +
                                std::to_string(sqe.opcode));
  }
  if (GetFabricsCommandType(sqe) != want) {
    return InvalidArgumentError(
        "fabrics command type " +
        std::to_string(static_cast<unsigned>(GetFabricsCommandType(sqe))) +
        ", expected " + std::to_string(static_cast<unsigned>(want)));
  }
  return Status::Ok();
}

Result<PropertySize> DecodePropertySize(uint8_t attrib) {
  switch (attrib & 0x7) {
    case 0:
      return PropertySize::k4Bytes;
    case 1:
      return PropertySize::k8Bytes;
    default:
      return InvalidArgumentError("property ATTRIB size " +
                                  std::to_string(attrib & 0x7) +
                                  " is reserved");
  }
}

}  // namespace

Sqe BuildConnectSqe(const ConnectCommand& cmd) {
  auto v = NewFabricsSqe<ConnectSqe>(FabricsCommandType::kConnect);
  v.recfmt = cmd.recfmt;
  v.qid = cmd.qid;
  v.sqsize = cmd.sqsize;
  v.cattr = cmd.cattr;
  v.kato = cmd.kato;
  return std::bit_cast<Sqe>(v);
}

Result<ConnectCommand> ParseConnectSqe(const Sqe& sqe) {
  NVMEOF_RETURN_IF_ERROR(CheckFabricsSqe(sqe, FabricsCommandType::kConnect));
  const auto v = std::bit_cast<ConnectSqe>(sqe);
  ConnectCommand cmd;
  cmd.recfmt = v.recfmt;
  cmd.qid = v.qid;
  cmd.sqsize = v.sqsize;
  cmd.cattr = v.cattr;
  cmd.kato = v.kato;
  return cmd;
}

Sqe BuildPropertyGetSqe(const PropertyGetCommand& cmd) {
  auto v = NewFabricsSqe<PropertySqe>(FabricsCommandType::kPropertyGet);
  v.attrib = static_cast<uint8_t>(cmd.size);
  v.ofst = cmd.ofst;
  return std::bit_cast<Sqe>(v);
}

Sqe BuildPropertySetSqe(const PropertySetCommand& cmd) {
  auto v = NewFabricsSqe<PropertySqe>(FabricsCommandType::kPropertySet);
  v.attrib = static_cast<uint8_t>(cmd.size);
  v.ofst = cmd.ofst;
  v.value = cmd.value;
  return std::bit_cast<Sqe>(v);
}

Result<PropertyGetCommand> ParsePropertyGetSqe(const Sqe& sqe) {
  NVMEOF_RETURN_IF_ERROR(
      CheckFabricsSqe(sqe, FabricsCommandType::kPropertyGet));
  const auto v = std::bit_cast<PropertySqe>(sqe);
  NVMEOF_ASSIGN_OR_RETURN(PropertySize size, DecodePropertySize(v.attrib));
  PropertyGetCommand cmd;
  cmd.size = size;
  cmd.ofst = v.ofst;
  return cmd;
}

Result<PropertySetCommand> ParsePropertySetSqe(const Sqe& sqe) {
  NVMEOF_RETURN_IF_ERROR(
      CheckFabricsSqe(sqe, FabricsCommandType::kPropertySet));
  const auto v = std::bit_cast<PropertySqe>(sqe);
  NVMEOF_ASSIGN_OR_RETURN(PropertySize size, DecodePropertySize(v.attrib));
  PropertySetCommand cmd;
  cmd.size = size;
  cmd.ofst = v.ofst;
  cmd.value = v.value;
  return cmd;
}

Sqe BuildAuthenticationSqe(const AuthenticationCommand& cmd) {
  auto v = NewFabricsSqe<AuthenticationSqe>(
      cmd.send ? FabricsCommandType::kAuthenticationSend
               : FabricsCommandType::kAuthenticationReceive);
  v.secp = cmd.secp;
  v.spsp0 = cmd.spsp0;
  v.spsp1 = cmd.spsp1;
  v.tl_al = cmd.length;
  return std::bit_cast<Sqe>(v);
}

Result<AuthenticationCommand> ParseAuthenticationSqe(const Sqe& sqe) {
  const FabricsCommandType type = GetFabricsCommandType(sqe);
  const bool send = type == FabricsCommandType::kAuthenticationSend;
  NVMEOF_RETURN_IF_ERROR(CheckFabricsSqe(
      sqe, send ? type : FabricsCommandType::kAuthenticationReceive));
  const auto v = std::bit_cast<AuthenticationSqe>(sqe);
  AuthenticationCommand cmd;
  cmd.send = send;
  cmd.secp = v.secp;
  cmd.spsp0 = v.spsp0;
  cmd.spsp1 = v.spsp1;
  cmd.length = v.tl_al;
  return cmd;
}

Sqe BuildDisconnectSqe(const DisconnectCommand& cmd) {
  auto v = NewFabricsSqe<DisconnectSqe>(FabricsCommandType::kDisconnect);
  v.recfmt = cmd.recfmt;
  return std::bit_cast<Sqe>(v);
}

Result<DisconnectCommand> ParseDisconnectSqe(const Sqe& sqe) {
  NVMEOF_RETURN_IF_ERROR(CheckFabricsSqe(sqe, FabricsCommandType::kDisconnect));
  DisconnectCommand cmd;
  cmd.recfmt = std::bit_cast<DisconnectSqe>(sqe).recfmt;
  return cmd;
}

Result<ConnectData> BuildConnectData(std::span<const uint8_t, 16> hostid,
                                     uint16_t cntlid, std::string_view subnqn,
                                     std::string_view hostnqn) {
  ConnectData data;
  std::memset(&data, 0, sizeof(data));
  std::memcpy(data.hostid, hostid.data(), hostid.size());
  data.cntlid = cntlid;
  NVMEOF_RETURN_IF_ERROR(
      WriteNqnField(data.subnqn, subnqn).WithContext("SUBNQN"));
  NVMEOF_RETURN_IF_ERROR(
      WriteNqnField(data.hostnqn, hostnqn).WithContext("HOSTNQN"));
  return data;
}

Result<ConnectDataFields> ParseConnectData(const ConnectData& data) {
  Result<std::string_view> subnqn = ReadNqnField(data.subnqn);
  if (!subnqn.ok()) return subnqn.status().WithContext("SUBNQN");
  Result<std::string_view> hostnqn = ReadNqnField(data.hostnqn);
  if (!hostnqn.ok()) return hostnqn.status().WithContext("HOSTNQN");
  return ConnectDataFields{data.hostid, data.cntlid, *subnqn, *hostnqn};
}

}  // namespace nvmeof
