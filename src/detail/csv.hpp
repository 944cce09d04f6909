// CSV helpers shared by the file readers (graph edge lists, Tab-PET tables).
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace posenc::detail {

/// Without surrounding blanks (and a trailing carriage return).
inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

/// Splits one line into fields; quoted fields are unescaped into `scratch` (the views then point
/// into it). Returns false on an unterminated quote.
inline bool split_fields(std::string_view line, char delim, std::vector<std::string_view>& fields,
                std::vector<std::string>& scratch) {
  fields.clear();
  std::size_t used = 0, i = 0;
  while (true) {
    std::size_t j = i;
    while (j < line.size() && (line[j] == ' ' || line[j] == '\t')) ++j;
    if (j < line.size() && line[j] == '"') {
      if (scratch.size() <= used) scratch.emplace_back();
      std::string& s = scratch[used++];
      s.clear();
      std::size_t k = j + 1;
      bool closed = false;
      for (; k < line.size(); ++k) {
        if (line[k] != '"') {
          s += line[k];
        } else if (k + 1 < line.size() && line[k + 1] == '"') {
          s += '"';
          ++k;
        } else {
          closed = true;
          ++k;
          break;
        }
      }
      if (!closed) return false;
      fields.push_back(s);
      while (k < line.size() && line[k] != delim) ++k;  // text after the closing quote is ignored
      if (k >= line.size()) break;
      i = k + 1;
    } else {
      const std::size_t k = line.find(delim, i);
      fields.push_back(trim(line.substr(i, k == std::string_view::npos ? std::string_view::npos : k - i)));
      if (k == std::string_view::npos) break;
      i = k + 1;
    }
  }
  return true;
}

/// A number filling the whole field (strtod syntax).
inline bool parse_double(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

}  // namespace posenc::detail
