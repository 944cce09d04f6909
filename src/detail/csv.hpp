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

/// The first index from i that is not a blank (space or tab) other than the delimiter itself, or
/// line.size(): where a field's content starts (a quote there opens a quoted field).
inline std::size_t skip_blanks(std::string_view line, std::size_t i, char delim) {
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t') && line[i] != delim) ++i;
  return i;
}

/// Without a leading UTF-8 byte-order mark (EF BB BF).
inline std::string_view strip_bom(std::string_view s) {
  if (s.size() >= 3 && s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);
  return s;
}

/// Splits one line into fields; quoted fields are unescaped into `scratch` (the views then point
/// into it or into `line`, and stay valid until the next call with the same scratch). Returns
/// false on an unterminated quote (`fields` then holds the fields before it).
inline bool split_fields(std::string_view line, char delim, std::vector<std::string_view>& fields,
                         std::vector<std::string>& scratch) {
  // Views are taken only once every field is unescaped: growing `scratch` moves its strings
  // (short ones live inside the string object), which would leave earlier views dangling.
  struct Span {
    bool quoted;
    std::size_t a, b;  // quoted: scratch index; else offsets into line
  };
  fields.clear();
  std::vector<Span> spans;
  std::size_t used = 0, i = 0;
  bool ok = true;
  while (true) {
    const std::size_t j = skip_blanks(line, i, delim);
    if (j < line.size() && line[j] == '"') {
      if (scratch.size() <= used) scratch.emplace_back();
      std::string& s = scratch[used];
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
      if (!closed) {
        ok = false;
        break;
      }
      spans.push_back({true, used++, 0});
      while (k < line.size() && line[k] != delim) ++k;  // text after the closing quote is ignored
      if (k >= line.size()) break;
      i = k + 1;
    } else {
      const std::size_t k = line.find(delim, i);
      const std::size_t e = k == std::string_view::npos ? line.size() : k;
      spans.push_back({false, i, e});
      if (k == std::string_view::npos) break;
      i = k + 1;
    }
  }
  fields.reserve(spans.size());
  for (const Span& sp : spans)
    fields.push_back(sp.quoted ? std::string_view(scratch[sp.a]) : trim(line.substr(sp.a, sp.b - sp.a)));
  return ok;
}

/// A number filling the whole field (strtod syntax; "inf", "nan" and overflowing values such as
/// 1e400 parse, as infinities or NaN: callers check std::isfinite).
inline bool parse_double(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

}  // namespace posenc::detail
