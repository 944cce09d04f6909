// CSV helpers shared by the file readers (graph edge lists, Tab-PET tables).
#pragma once

#include <cstdlib>
#include <string>
#include <vector>

namespace posenc::detail {

/// Splits one CSV line: quoted fields with "" escapes; returns false on an unterminated quote.
inline bool split_csv(const std::string& line, char delim, std::vector<std::string>& fields, std::size_t& bad_col) {
  fields.clear();
  std::string cur;
  bool quoted = false, was_quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          cur += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        cur += c;
      }
    } else if (c == '"' && cur.find_first_not_of(" \t") == std::string::npos) {
      quoted = was_quoted = true;
      cur.clear();
    } else if (c == delim) {
      fields.push_back(was_quoted ? cur : std::string(cur));
      cur.clear();
      was_quoted = false;
    } else if (c != '\r') {
      cur += c;
    }
  }
  if (quoted) {
    bad_col = fields.size() + 1;
    return false;
  }
  fields.push_back(cur);
  for (auto& f : fields) {  // trim unquoted surrounding blanks
    const auto a = f.find_first_not_of(" \t"), b = f.find_last_not_of(" \t");
    f = a == std::string::npos ? std::string() : f.substr(a, b - a + 1);
  }
  return true;
}

inline bool parse_double(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

}  // namespace posenc::detail
