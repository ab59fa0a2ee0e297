// Splitting a byte stream into JSON texts: the JSON-RPC socket carries
// requests back to back with no delimiter (SPDK's rpc.py sends
// pretty-printed objects glued together, "}{"), so the end of each is found
// by structure (brackets, strings and their escapes), never by newline or
// end of stream.

#ifndef NVMEOF_MGMT_JSON_STREAM_H_
#define NVMEOF_MGMT_JSON_STREAM_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace nvmeof::mgmt {

class JsonSplitter {
 public:
  // A text longer than this is refused (kTooLarge).
  explicit JsonSplitter(size_t max_text) : max_text_(max_text) {}

  enum class Next {
    kNeedMore,  // no complete text yet
    kText,      // *text holds one (an object or an array)
    kTooLarge,  // the text under way is over the limit
    kNotJson,   // a text that starts with neither '{' nor '['
  };
  // Appends `bytes`; then call Take() until it says kNeedMore.
  void Feed(std::string_view bytes) { buf_.append(bytes); }
  Next Take(std::string* text);
  // Bytes of a text begun but not complete.
  bool partial() const { return scanned_ > 0 || !IsBlank(); }

 private:
  bool IsBlank() const;

  const size_t max_text_;
  std::string buf_;     // from the start of the current text
  size_t scanned_ = 0;  // of buf_, already scanned
  int depth_ = 0;
  bool in_string_ = false;
  bool escape_ = false;
};

}  // namespace nvmeof::mgmt

#endif  // NVMEOF_MGMT_JSON_STREAM_H_
