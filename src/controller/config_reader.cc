#include "controller/config_reader.h"

#include <set>
#include <vector>

#include "controller/config_values.h"

namespace nvmeof::controller::config_internal {
namespace {

bool IsIdentifier(std::string_view key) {
  if (key.empty()) return false;
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!(alpha || (digit && i > 0))) return false;
  }
  return true;
}

// Printable ASCII, the rest escaped as \xNN, so that a message can always
// be printed (nlohmann's "last read" may hold a broken UTF-8 byte).
std::string Printable(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      out += "\\x";
      out += kDigits[u >> 4];
      out += kDigits[u & 0xf];
    }
  }
  return out;
}

// Finds the first object holding a key twice while nlohmann parses, and
// where it is: a stack of the open containers and the position reached in
// each (the current key of an object, the current index of an array).
class DuplicateKeyFinder {
 public:
  bool OnEvent(Json::parse_event_t event, const Json& parsed) {
    using E = Json::parse_event_t;
    switch (event) {
      case E::object_start:
        frames_.push_back(Frame{true, {}, {}, 0});
        break;
      case E::array_start:
        frames_.push_back(Frame{false, {}, {}, 0});
        break;
      case E::key:
        if (!frames_.empty() && frames_.back().is_object) {
          Frame& f = frames_.back();
          f.key = parsed.get<std::string>();
          if (!f.keys.insert(f.key).second && error_.ok()) {
            error_ = ErrorAt(ContainerPath(),
                             "duplicate key '" + Printable(f.key) + "'");
          }
        }
        break;
      case E::object_end:
      case E::array_end:
        if (!frames_.empty()) frames_.pop_back();
        EndValue();
        break;
      case E::value:
        EndValue();
        break;
    }
    return true;  // keep everything
  }
  const Status& error() const { return error_; }

 private:
  struct Frame {
    bool is_object;
    std::set<std::string> keys;
    std::string key;
    size_t index;
  };
  // A value ended: it was an element of the enclosing array, if any.
  void EndValue() {
    if (!frames_.empty() && !frames_.back().is_object) ++frames_.back().index;
  }
  // The path of the innermost open container.
  std::string ContainerPath() const {
    std::string path = "$";
    for (size_t i = 0; i + 1 < frames_.size(); ++i) {
      const Frame& f = frames_[i];
      path = f.is_object ? ChildPath(path, f.key) : IndexPath(path, f.index);
    }
    return path;
  }

  std::vector<Frame> frames_;
  Status error_;
};

// nlohmann's what(): "[json.exception.parse_error.101] parse error at line
// 1, column 9: syntax error while parsing value - invalid literal; ...".
// Returns "syntax error: while parsing value - invalid literal; ...".
std::string SyntaxReason(std::string_view what) {
  size_t at = what.find("parse error");
  if (at != std::string_view::npos) {
    size_t colon = what.find(": ", at);
    if (colon != std::string_view::npos) what = what.substr(colon + 2);
  }
  constexpr std::string_view kSyntax = "syntax error ";
  if (what.substr(0, kSyntax.size()) == kSyntax) {
    what = what.substr(kSyntax.size());
  }
  return "syntax error: " + Printable(what);
}

}  // namespace

TextPosition PositionOf(std::string_view text, size_t byte) {
  size_t offset = byte == 0 ? 0 : byte - 1;
  if (offset > text.size()) offset = text.size();
  TextPosition pos{1, 1};
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++pos.line;
      line_start = i + 1;
    }
  }
  pos.column = offset - line_start + 1;
  return pos;
}

Result<Json> ParseJsonText(std::string_view text) {
  DuplicateKeyFinder finder;
  Json root;
  try {
    root = Json::parse(
        text.begin(), text.end(),
        [&finder](int /*depth*/, Json::parse_event_t event, Json& parsed) {
          return finder.OnEvent(event, parsed);
        },
        /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const Json::parse_error& e) {
    TextPosition pos = PositionOf(text, e.byte);
    return InvalidArgumentError("line " + std::to_string(pos.line) +
                                ", column " + std::to_string(pos.column) +
                                ": " + SyntaxReason(e.what()));
  } catch (const Json::exception& e) {
    // out_of_range.406, "number overflow parsing '1e500'": no position.
    std::string_view what = e.what();
    size_t bracket = what.find("] ");
    if (bracket != std::string_view::npos) what = what.substr(bracket + 2);
    return InvalidArgumentError(Printable(what));
  }
  if (!finder.error().ok()) return finder.error();
  return root;
}

std::string ChildPath(std::string_view path, std::string_view key) {
  std::string out(path);
  if (IsIdentifier(key)) {
    out += '.';
    out += key;
    return out;
  }
  out += "['";
  for (char c : key) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += "']";
  return Printable(out);
}

std::string IndexPath(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

Status ErrorAt(std::string_view path, std::string_view reason) {
  return InvalidArgumentError(std::string(path) + ": " + std::string(reason));
}

std::string Describe(const Json& value) {
  switch (value.type()) {
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::string: {
      const auto& s = value.get_ref<const std::string&>();
      std::string shown = s.size() > 60 ? s.substr(0, 60) + "..." : s;
      return "'" + Printable(shown) + "'";
    }
    default:
      return value.dump();  // numbers, true, false, null
  }
}

Result<bool> AsBool(const Json& value, std::string_view path) {
  if (!value.is_boolean()) {
    return ErrorAt(path, "must be true or false, got " + Describe(value));
  }
  return value.get<bool>();
}

Result<std::string> AsString(const Json& value, std::string_view path) {
  if (!value.is_string()) {
    return ErrorAt(path, "must be a string, got " + Describe(value));
  }
  return value.get<std::string>();
}

Result<uint64_t> AsUint(const Json& value, std::string_view path, uint64_t min,
                        uint64_t max) {
  std::string range = min == max ? std::to_string(min)
                                 : "between " + std::to_string(min) + " and " +
                                       std::to_string(max);
  if (!value.is_number_integer()) {
    return ErrorAt(path,
                   "must be an integer " + range + ", got " + Describe(value));
  }
  if (value.is_number_unsigned()) {
    uint64_t v = value.get<uint64_t>();
    if (v >= min && v <= max) return v;
  }
  return ErrorAt(path, "must be " + range + ", got " + Describe(value));
}

Result<uint64_t> AsSize(const Json& value, std::string_view path, uint64_t min,
                        uint64_t max) {
  uint64_t v = 0;
  if (value.is_string()) {
    Result<uint64_t> parsed =
        ParseSizeString(value.get_ref<const std::string&>());
    if (!parsed.ok()) return ErrorAt(path, parsed.status().message());
    v = *parsed;
  } else if (value.is_number_unsigned() ||
             (value.is_number_integer() && value.get<int64_t>() >= 0)) {
    // The parser gives unsigned numbers; a config built in code may hold
    // signed ones.
    v = value.get<uint64_t>();
  } else {
    return ErrorAt(path,
                   "must be a size (a number of bytes, or a string "
                   "such as \"64K\" or \"1G\"), got " +
                       Describe(value));
  }
  if (v < min || v > max) {
    std::string range = max == UINT64_MAX ? "at least " + FormatSize(min)
                                          : "between " + FormatSize(min) +
                                                " and " + FormatSize(max);
    return ErrorAt(path, "must be " + range + ", got " + FormatSize(v));
  }
  return v;
}

Result<size_t> AsEnum(const Json& value, std::string_view path,
                      std::span<const std::string_view> names) {
  std::string choices;
  for (std::string_view n : names) {
    if (!choices.empty()) choices += ", ";
    choices += '\'';
    choices += n;
    choices += '\'';
  }
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    size_t i = 0;
    for (std::string_view n : names) {
      if (s == n) return i;
      ++i;
    }
  }
  std::string reason = "must be one of " + choices + ", got " + Describe(value);
  if (value.is_string()) {
    std::string_view hint = Suggest(value.get_ref<const std::string&>(), names);
    if (!hint.empty()) reason += " (did you mean '" + std::string(hint) + "'?)";
  }
  return ErrorAt(path, reason);
}

Status ExpectArray(const Json& value, std::string_view path) {
  if (value.is_array()) return Status::Ok();
  return ErrorAt(path, "must be an array, got " + Describe(value));
}

Status ExpectObject(const Json& value, std::string_view path) {
  if (value.is_object()) return Status::Ok();
  return ErrorAt(path, "must be an object, got " + Describe(value));
}

Status ObjectReader::CheckKnownKeys(
    std::span<const std::string_view> known) const {
  for (const auto& [key, value] : object_.items()) {
    bool found = false;
    for (std::string_view k : known) found = found || key == k;
    if (found) continue;
    std::string reason = "unknown field";
    std::string_view hint = Suggest(key, known);
    if (!hint.empty()) reason += " (did you mean '" + std::string(hint) + "'?)";
    return ErrorAt(PathOf(key), reason);
  }
  return Status::Ok();
}

const Json* ObjectReader::Find(std::string_view key) const {
  auto it = object_.find(key);
  return it == object_.end() ? nullptr : &*it;
}

Status ObjectReader::Missing(std::string_view key) const {
  return ErrorAt(PathOf(key), "required field is missing");
}

Result<bool> ObjectReader::Bool(std::string_view key,
                                bool default_value) const {
  const Json* v = Find(key);
  return v ? AsBool(*v, PathOf(key)) : Result<bool>(default_value);
}

Result<uint64_t> ObjectReader::Uint(std::string_view key, uint64_t min,
                                    uint64_t max,
                                    uint64_t default_value) const {
  const Json* v = Find(key);
  return v ? AsUint(*v, PathOf(key), min, max)
           : Result<uint64_t>(default_value);
}

Result<uint64_t> ObjectReader::Size(std::string_view key, uint64_t min,
                                    uint64_t max,
                                    uint64_t default_value) const {
  const Json* v = Find(key);
  return v ? AsSize(*v, PathOf(key), min, max)
           : Result<uint64_t>(default_value);
}

Result<std::string> ObjectReader::String(std::string_view key,
                                         std::string default_value) const {
  const Json* v = Find(key);
  return v ? AsString(*v, PathOf(key))
           : Result<std::string>(std::move(default_value));
}

Result<size_t> ObjectReader::Enum(std::string_view key,
                                  std::span<const std::string_view> names,
                                  size_t default_index) const {
  const Json* v = Find(key);
  return v ? AsEnum(*v, PathOf(key), names) : Result<size_t>(default_index);
}

}  // namespace nvmeof::controller::config_internal
