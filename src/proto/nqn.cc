#include "nvmeof/proto/nqn.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace nvmeof {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHexDigit(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsLetterOrDigit(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

Status Invalid(std::string_view what) { return InvalidArgumentError(what); }

// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", hex digits of either case.
Status ValidateUuid(std::string_view uuid) {
  static constexpr size_t kUuidLength = 36;
  if (uuid.size() != kUuidLength) {
    return Invalid(
        "NQN UUID must be 36 characters (8-4-4-4-12 hex digits), got " +
        std::to_string(uuid.size()));
  }
  for (size_t i = 0; i < uuid.size(); ++i) {
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position) {
      if (uuid[i] != '-')
        return Invalid("NQN UUID must be 8-4-4-4-12 hex digits");
    } else if (!IsHexDigit(uuid[i])) {
      return Invalid("NQN UUID holds a character that is not a hex digit");
    }
  }
  return Status::Ok();
}

// "yyyy-mm": four digits, a dash, a month 01..12.
Status ValidateYearMonth(std::string_view date) {
  if (date.size() != 7 || !IsDigit(date[0]) || !IsDigit(date[1]) ||
      !IsDigit(date[2]) || !IsDigit(date[3]) || date[4] != '-' ||
      !IsDigit(date[5]) || !IsDigit(date[6])) {
    return Invalid("NQN must have a date 'yyyy-mm' after 'nqn.'");
  }
  const int month = (date[5] - '0') * 10 + (date[6] - '0');
  if (month < 1 || month > 12) {
    return Invalid("NQN date has a month outside 01..12");
  }
  return Status::Ok();
}

// A reverse domain name: labels separated by single dots (RFC 1034/1123
// host name syntax).
Status ValidateReverseDomain(std::string_view domain) {
  static constexpr size_t kMaxLabelLength = 63;
  if (domain.empty()) return Invalid("NQN has an empty reverse domain name");
  size_t start = 0;
  while (true) {
    const size_t dot = domain.find('.', start);
    const std::string_view label = domain.substr(
        start,
        dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) return Invalid("NQN domain has an empty label");
    if (label.size() > kMaxLabelLength) {
      return Invalid("NQN domain has a label longer than 63 bytes");
    }
    for (char c : label) {
      if (!IsLetterOrDigit(c) && c != '-') {
        return Invalid(
            "NQN domain label holds a character other than a letter, digit or "
            "'-'");
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return Invalid("NQN domain label starts or ends with '-'");
    }
    if (dot == std::string_view::npos) return Status::Ok();
    start = dot + 1;
  }
}

}  // namespace

Status ValidateNqn(std::string_view nqn) {
  static constexpr std::string_view kPrefix = "nqn.";
  if (nqn.size() > kNqnMaxLength) {
    return Invalid("NQN longer than 223 bytes (" + std::to_string(nqn.size()) +
                   ")");
  }
  if (nqn.find('\0') != std::string_view::npos) {
    return Invalid("NQN holds a NUL byte");
  }
  if (nqn.substr(0, kPrefix.size()) != kPrefix) {
    return Invalid("NQN must start with 'nqn.'");
  }
  if (nqn.substr(0, kUuidNqnPrefix.size()) == kUuidNqnPrefix) {
    return ValidateUuid(nqn.substr(kUuidNqnPrefix.size()));
  }
  const std::string_view rest = nqn.substr(kPrefix.size());
  NVMEOF_RETURN_IF_ERROR(ValidateYearMonth(rest.substr(0, 7)));
  if (rest.size() < 8 || rest[7] != '.') {
    return Invalid(
        "NQN must have '.' and a reverse domain name after the date");
  }
  const std::string_view after_date = rest.substr(8);
  const size_t colon = after_date.find(':');
  // Anything may follow the colon (a user-specific UTF-8 string).
  return ValidateReverseDomain(after_date.substr(0, colon));
}

Result<std::string_view> ReadNqnField(
    std::span<const char, kNqnFieldSize> field) {
  const auto nul = std::find(field.begin(), field.end(), '\0');
  if (nul == field.end()) {
    return ProtocolError("NQN field has no NUL terminator within 256 bytes");
  }
  return std::string_view(field.data(),
                          static_cast<size_t>(nul - field.begin()));
}

Status WriteNqnField(std::span<char, kNqnFieldSize> field,
                     std::string_view nqn) {
  if (nqn.size() >= kNqnFieldSize) {
    return Invalid("NQN of " + std::to_string(nqn.size()) +
                   " bytes does not fit a 256-byte field with its NUL");
  }
  if (nqn.find('\0') != std::string_view::npos) {
    return Invalid("NQN holds a NUL byte");
  }
  std::memcpy(field.data(), nqn.data(), nqn.size());
  std::memset(field.data() + nqn.size(), 0, field.size() - nqn.size());
  return Status::Ok();
}

}  // namespace nvmeof
