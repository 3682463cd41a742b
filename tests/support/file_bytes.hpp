#pragma once
// Reading a file's raw bytes, to show that erased data is gone from the
// disk (the database file and its WAL), not only from query results.

#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

namespace haven::test {

// The whole file, or "" if it does not exist. Read by a child `cat`: if this
// process opened and closed the file itself, POSIX would drop every lock it
// holds on it, and a store it has open could lose its WAL to another process.
inline std::string file_bytes(const std::filesystem::path& file) {
  std::string out;
  if (!std::filesystem::exists(file)) return out;
  const std::string command = "cat '" + file.string() + "'";
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buf[65536];
    for (std::size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
    pclose(pipe);
  }
  return out;
}

// Whether `needle` occurs in the SQLite database `db` or in its WAL.
inline bool store_files_contain(const std::filesystem::path& db, std::string_view needle) {
  for (const auto& f : {db, std::filesystem::path(db.string() + "-wal")})
    if (file_bytes(f).find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace haven::test
