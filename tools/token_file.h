// The control plane's TCP token, read from a file by the daemon
// (--rpc-token-file) and by its client (nvmeof-ctl --token-file): the
// first line, at least 16 characters, in a file only its owner may read.

#ifndef NVMEOF_TOOLS_TOKEN_FILE_H_
#define NVMEOF_TOOLS_TOKEN_FILE_H_

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace nvmeof::tools {

// The token, or "" with `*error` set to why not.
inline std::string ReadTokenFile(const std::string& path, std::string* error) {
  std::FILE* file = std::fopen(path.c_str(), "re");
  if (file == nullptr) {
    *error = path + ": " + std::strerror(errno);
    return "";
  }
  struct stat st {};
  if (fstat(fileno(file), &st) == 0 && (st.st_mode & 077) != 0) {
    std::fclose(file);
    *error = path + ": a token file must be private to its owner (chmod 600)";
    return "";
  }
  char buf[512] = {};
  const bool got = std::fgets(buf, sizeof(buf), file) != nullptr;
  std::fclose(file);
  std::string token = got ? buf : "";
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) {
    token.pop_back();
  }
  if (token.size() < 16) {
    *error = path + ": the token must be at least 16 characters on the first line";
    return "";
  }
  return token;
}

}  // namespace nvmeof::tools

#endif  // NVMEOF_TOOLS_TOKEN_FILE_H_
