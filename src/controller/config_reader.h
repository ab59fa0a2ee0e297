// Reading a JSON configuration with errors that point at the field: the
// JSON text parser (syntax errors with line and column, duplicate keys
// refused) and typed accessors that name the JSONPath of what they read
// ("$.ports[0].address"). Internal to config.cc; every error is a
// kInvalidArgument Status whose message is "PATH: REASON" (or "line L,
// column C: syntax error: ..."), without the file name: ParseConfig adds it.

#ifndef NVMEOF_CONTROLLER_CONFIG_READER_H_
#define NVMEOF_CONTROLLER_CONFIG_READER_H_

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "nvmeof/status.h"

namespace nvmeof::controller::config_internal {

// Objects keep their keys in file order, so that the first unknown key
// reported is the first in the file, and ToJson writes fields in a sensible
// order.
using Json = nlohmann::ordered_json;

// Parses `text` (strict JSON: no comments, no trailing commas). Fails on a
// syntax error ("line L, column C: syntax error: ..."), or on an object
// holding the same key twice ("$.a[1]: duplicate key 'x'"). Never throws.
[[nodiscard]] Result<Json> ParseJsonText(std::string_view text);

// The 1-based line and byte column of the byte at 1-based position `byte`
// of `text` (nlohmann's parse_error::byte). Positions past the end map to
// the end of the text.
struct TextPosition {
  size_t line;
  size_t column;
};
TextPosition PositionOf(std::string_view text, size_t byte);

// JSONPath steps: ChildPath("$", "ports") is "$.ports"; a key that is not an
// identifier is quoted: "$['odd key']". IndexPath("$.ports", 0) is
// "$.ports[0]".
std::string ChildPath(std::string_view path, std::string_view key);
std::string IndexPath(std::string_view path, size_t index);

// "PATH: REASON".
Status ErrorAt(std::string_view path, std::string_view reason);

// A short description of a value for messages: 'text', 42, 1.5, true,
// null, an object, an array.
std::string Describe(const Json& value);

// Typed reads of one value; errors name `path`.
[[nodiscard]] Result<bool> AsBool(const Json& value, std::string_view path);
[[nodiscard]] Result<std::string> AsString(const Json& value,
                                           std::string_view path);
// An integer in [min, max].
[[nodiscard]] Result<uint64_t> AsUint(const Json& value, std::string_view path,
                                      uint64_t min, uint64_t max);
// A size: a number of bytes or a string with a unit (ParseSizeString), in
// [min, max].
[[nodiscard]] Result<uint64_t> AsSize(const Json& value, std::string_view path,
                                      uint64_t min, uint64_t max);
// One of `names`: returns its index.
[[nodiscard]] Result<size_t> AsEnum(const Json& value, std::string_view path,
                                    std::span<const std::string_view> names);
inline Result<size_t> AsEnum(const Json& value, std::string_view path,
                             std::initializer_list<std::string_view> names) {
  return AsEnum(value, path, std::span(names.begin(), names.size()));
}
// Arrays and objects, by type only.
[[nodiscard]] Status ExpectArray(const Json& value, std::string_view path);
[[nodiscard]] Status ExpectObject(const Json& value, std::string_view path);

// One JSON object of the file, at `path`. Borrows the object.
class ObjectReader {
 public:
  // REQUIRES: object.is_object().
  ObjectReader(const Json& object, std::string path)
      : object_(object), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  std::string PathOf(std::string_view key) const {
    return ChildPath(path_, key);
  }

  // Fails on the first key (in file order) that is not in `known`:
  // "PATH.key: unknown field (did you mean 'x'?)".
  [[nodiscard]] Status CheckKnownKeys(
      std::span<const std::string_view> known) const;
  [[nodiscard]] Status CheckKnownKeys(
      std::initializer_list<std::string_view> known) const {
    return CheckKnownKeys(std::span(known.begin(), known.size()));
  }

  // Null when absent.
  const Json* Find(std::string_view key) const;
  bool Has(std::string_view key) const { return Find(key) != nullptr; }

  // "PATH.key: required field is missing".
  [[nodiscard]] Status Missing(std::string_view key) const;

  // Reads `key`, or gives `default_value` when it is absent.
  [[nodiscard]] Result<bool> Bool(std::string_view key,
                                  bool default_value) const;
  [[nodiscard]] Result<uint64_t> Uint(std::string_view key, uint64_t min,
                                      uint64_t max,
                                      uint64_t default_value) const;
  [[nodiscard]] Result<uint64_t> Size(std::string_view key, uint64_t min,
                                      uint64_t max,
                                      uint64_t default_value) const;
  [[nodiscard]] Result<std::string> String(std::string_view key,
                                           std::string default_value) const;
  [[nodiscard]] Result<size_t> Enum(std::string_view key,
                                    std::span<const std::string_view> names,
                                    size_t default_index) const;
  [[nodiscard]] Result<size_t> Enum(
      std::string_view key, std::initializer_list<std::string_view> names,
      size_t default_index) const {
    return Enum(key, std::span(names.begin(), names.size()), default_index);
  }
  // Calls fn(key) for every key of the object, in file order.
  template <typename Fn>
  void ForEachKey(Fn&& fn) const {
    for (const auto& [key, value] : object_.items()) fn(std::string_view(key));
  }

 private:
  const Json& object_;
  std::string path_;
};

// Reads integer `key` (lo..hi) into `field`, whose value is the default.
template <typename T>
Status ReadUint(const ObjectReader& r, std::string_view key, uint64_t lo,
                uint64_t hi, T& field) {
  NVMEOF_ASSIGN_OR_RETURN(uint64_t v, r.Uint(key, lo, hi, field));
  field = static_cast<T>(v);
  return Status::Ok();
}

}  // namespace nvmeof::controller::config_internal

#endif  // NVMEOF_CONTROLLER_CONFIG_READER_H_
