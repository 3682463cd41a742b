#pragma once
// Reading a file's raw bytes, to show that erased data is gone from the
// disk (the database file and its WAL), not only from query results.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

namespace haven::test {

// The whole file, or "" if it does not exist.
inline std::string file_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Whether `needle` occurs in the SQLite database `db` or in its WAL.
inline bool store_files_contain(const std::filesystem::path& db, std::string_view needle) {
  for (const auto& f : {db, std::filesystem::path(db.string() + "-wal")})
    if (file_bytes(f).find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace haven::test
