#include "mgmt/json_stream.h"

namespace nvmeof::mgmt {

namespace {
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
}  // namespace

bool JsonSplitter::IsBlank() const {
  for (char c : buf_) {
    if (!IsSpace(c)) return false;
  }
  return true;
}

JsonSplitter::Next JsonSplitter::Take(std::string* text) {
  if (scanned_ == 0) {
    // Between texts: skip blanks; a text starts with '{' or '['.
    size_t start = 0;
    while (start < buf_.size() && IsSpace(buf_[start])) ++start;
    buf_.erase(0, start);
    if (buf_.empty()) return Next::kNeedMore;
    if (buf_[0] != '{' && buf_[0] != '[') return Next::kNotJson;
  }
  for (size_t i = scanned_; i < buf_.size(); ++i) {
    const char c = buf_[i];
    if (in_string_) {
      if (escape_) {
        escape_ = false;
      } else if (c == '\\') {
        escape_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string_ = true;
        break;
      case '{':
      case '[':
        ++depth_;
        break;
      case '}':
      case ']':
        if (--depth_ == 0) {
          text->assign(buf_, 0, i + 1);
          buf_.erase(0, i + 1);
          scanned_ = 0;
          return Next::kText;
        }
        break;
      default:
        break;
    }
  }
  scanned_ = buf_.size();
  if (scanned_ > max_text_) return Next::kTooLarge;
  return Next::kNeedMore;
}

}  // namespace nvmeof::mgmt
