// Tables for Tab-PET: a fast CSV reader (whole file in memory, rows split and parsed in
// parallel, numbers with std::from_chars) and per-column type inference.
#include <omp.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <string_view>

#include "detail/check.hpp"
#include "posenc/tabular.hpp"

namespace posenc {

std::int64_t Table::find(const std::string& name) const {
  for (std::size_t c = 0; c < columns.size(); ++c)
    if (columns[c].name == name) return static_cast<std::int64_t>(c);
  return -1;
}

namespace {

bool is_bool_word(std::string_view s) {
  if (s.size() != 4 && s.size() != 5) return false;
  std::string low(s);
  for (auto& ch : low) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return low == "true" || low == "false";
}

bool parse_number(std::string_view s, double& out) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(out);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

/// Splits [begin, end) of one line into fields; quoted fields are unescaped into `scratch`
/// (the views then point into it). Returns false on an unterminated quote.
bool split_line(std::string_view line, char delim, std::vector<std::string_view>& fields,
                std::vector<std::string>& scratch) {
  fields.clear();
  std::size_t used = 0;
  std::size_t i = 0;
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
        if (line[k] == '"') {
          if (k + 1 < line.size() && line[k + 1] == '"') {
            s += '"';
            ++k;
          } else {
            closed = true;
            ++k;
            break;
          }
        } else {
          s += line[k];
        }
      }
      if (!closed) return false;
      fields.push_back(s);
      while (k < line.size() && line[k] != delim) ++k;  // anything after the closing quote is ignored
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

struct Builder {
  std::vector<std::string> names;
  std::size_t rows = 0;
  std::vector<std::vector<double>> values;          // per column, NaN where missing or not a number
  std::vector<std::vector<std::uint8_t>> missing;
  std::vector<std::uint8_t> numeric_ok, bool_ok;   // per column: every present cell is a number / a bool word
};

Table finish(Builder& b, const TableCsvOptions& o, const char* fn, const std::string& where,
             const std::function<std::vector<std::string>(std::size_t)>& texts) {
  for (const auto& [name, type] : o.types)
    if (std::find(b.names.begin(), b.names.end(), name) == b.names.end())
      detail::fail(fn, where, "type override names no column: '", name, "'");
  for (const auto& name : o.drop)
    if (std::find(b.names.begin(), b.names.end(), name) == b.names.end())
      detail::fail(fn, where, "parameter 'drop' names no column: '", name, "'");
  Table t;
  t.rows = b.rows;
  for (std::size_t c = 0; c < b.names.size(); ++c) {
    if (std::find(o.drop.begin(), o.drop.end(), b.names[c]) != o.drop.end()) continue;
    TableColumn col;
    col.name = b.names[c];
    col.missing = std::move(b.missing[c]);
    if (std::all_of(col.missing.begin(), col.missing.end(), [](std::uint8_t m) { return m != 0; }))
      detail::fail(fn, where, "column '", col.name, "' is entirely missing");
    auto it = o.types.find(col.name);
    if (it != o.types.end()) {
      col.type = it->second;
      if (col.type == ColumnType::numeric && !b.numeric_ok[c])
        detail::fail(fn, where, "column '", col.name, "' is declared numeric but holds text");
    } else {
      col.type = b.numeric_ok[c] ? ColumnType::numeric : b.bool_ok[c] ? ColumnType::boolean : ColumnType::categorical;
    }
    if (col.type == ColumnType::numeric)
      col.values = std::move(b.values[c]);
    else
      col.cells = texts(c);
    t.columns.push_back(std::move(col));
  }
  if (t.columns.empty()) detail::fail(fn, where, "no columns left");
  return t;
}

bool is_missing(std::string_view s, const std::vector<std::string>& tokens) {
  for (const auto& m : tokens)
    if (s == m) return true;
  return false;
}

}  // namespace

Table read_table_csv(const std::string& path, const TableCsvOptions& o) {
  const char* fn = "read_table_csv";
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) detail::fail(fn, "cannot open '", path, "'");
  std::string buf;
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  buf.resize(static_cast<std::size_t>(std::max(size, 0L)));
  const std::size_t got = buf.empty() ? 0 : std::fread(buf.data(), 1, buf.size(), f);
  std::fclose(f);
  buf.resize(got);
  // Lines (quotes may not span lines); blank lines skipped, their numbers kept for messages.
  std::vector<std::size_t> starts, ends, numbers;
  for (std::size_t pos = 0, line = 1; pos < buf.size(); ++line) {
    const void* nl = std::memchr(buf.data() + pos, '\n', buf.size() - pos);
    const std::size_t end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - buf.data()) : buf.size();
    const std::string_view v = trim(std::string_view(buf).substr(pos, end - pos));
    if (!v.empty()) {
      starts.push_back(pos);
      ends.push_back(end);
      numbers.push_back(line);
    }
    pos = end + 1;
  }
  if (starts.empty()) detail::fail(fn, path, ": the file is empty (a header row is needed)");
  auto line_at = [&](std::size_t r) { return std::string_view(buf).substr(starts[r], ends[r] - starts[r]); };
  Builder b;
  {
    std::vector<std::string_view> fields;
    std::vector<std::string> scratch;
    if (!split_line(line_at(0), o.delimiter, fields, scratch))
      detail::fail(fn, path, ":", numbers[0], ": unterminated quoted field in the header");
    for (std::size_t c = 0; c < fields.size(); ++c) {
      const std::string name(fields[c]);
      if (name.empty()) detail::fail(fn, path, ":", numbers[0], ": column ", c + 1, ": empty header name");
      if (std::find(b.names.begin(), b.names.end(), name) != b.names.end())
        detail::fail(fn, path, ":", numbers[0], ": column ", c + 1, ": duplicate header name '", name, "'");
      b.names.push_back(name);
    }
  }
  const std::size_t C = b.names.size(), R = starts.size() - 1;
  b.rows = R;
  b.values.assign(C, std::vector<double>(R));
  b.missing.assign(C, std::vector<std::uint8_t>(R));
  b.numeric_ok.assign(C, 1);
  b.bool_ok.assign(C, 1);
  std::size_t bad_row = R, bad_kind = 0, bad_width = 0;  // the first bad row wins (deterministic)
#pragma omp parallel
  {
    std::vector<std::string_view> fields;
    std::vector<std::string> scratch;
    std::vector<std::uint8_t> num_ok(C, 1), boo_ok(C, 1);
    std::size_t my_bad = R, my_kind = 0, my_width = 0;
#pragma omp for schedule(static)
    for (std::int64_t rr = 0; rr < static_cast<std::int64_t>(R); ++rr) {
      const auto r = static_cast<std::size_t>(rr);
      const bool closed = split_line(line_at(r + 1), o.delimiter, fields, scratch);
      if (!closed || fields.size() != C) {
        if (r < my_bad) {
          my_bad = r;
          my_kind = closed ? 2 : 1;
          my_width = fields.size();
        }
        continue;
      }
      for (std::size_t c = 0; c < C; ++c) {
        const std::string_view s = fields[c];
        if (is_missing(s, o.missing_tokens)) {
          b.missing[c][r] = 1;
          b.values[c][r] = NAN;
          continue;
        }
        double v;
        if (parse_number(s, v)) {
          b.values[c][r] = v;
          boo_ok[c] = 0;
        } else {
          b.values[c][r] = NAN;
          num_ok[c] = 0;
          if (!is_bool_word(s)) boo_ok[c] = 0;
        }
      }
    }
#pragma omp critical
    {
      for (std::size_t c = 0; c < C; ++c) {
        b.numeric_ok[c] &= num_ok[c];
        b.bool_ok[c] &= boo_ok[c];
      }
      if (my_bad < bad_row) {
        bad_row = my_bad;
        bad_kind = my_kind;
        bad_width = my_width;
      }
    }
  }
  if (bad_row < R) {
    if (bad_kind == 1)
      detail::fail(fn, path, ":", numbers[bad_row + 1], ": unterminated quoted field");
    detail::fail(fn, path, ":", numbers[bad_row + 1], ": expected ", C, " columns like the header, got ", bad_width,
                 " (ragged row)");
  }
  auto texts = [&](std::size_t c) {
    std::vector<std::string> out(R);
    std::vector<std::string_view> fields;
    std::vector<std::string> scratch;
    for (std::size_t r = 0; r < R; ++r) {
      split_line(line_at(r + 1), o.delimiter, fields, scratch);
      out[r] = std::string(fields[c]);
    }
    return out;
  };
  return finish(b, o, fn, path + ": ", texts);
}

Table make_table(const std::vector<std::string>& names, const std::vector<std::vector<std::string>>& columns,
                 const TableCsvOptions& o) {
  const char* fn = "make_table";
  if (names.size() != columns.size() || names.empty())
    detail::fail(fn, "parameters 'names' and 'columns' must have the same non-zero length, got ", names.size(),
                 " and ", columns.size());
  Builder b;
  b.names = names;
  b.rows = columns[0].size();
  const std::set<std::string> unique(names.begin(), names.end());
  if (unique.size() != names.size()) detail::fail(fn, "parameter 'names' has a duplicate");
  b.values.assign(names.size(), std::vector<double>(b.rows));
  b.missing.assign(names.size(), std::vector<std::uint8_t>(b.rows));
  b.numeric_ok.assign(names.size(), 1);
  b.bool_ok.assign(names.size(), 1);
  for (std::size_t c = 0; c < names.size(); ++c) {
    if (columns[c].size() != b.rows)
      detail::fail(fn, "column '", names[c], "' has ", columns[c].size(), " cells, the first has ", b.rows);
    for (std::size_t r = 0; r < b.rows; ++r) {
      const std::string_view s = trim(columns[c][r]);
      if (is_missing(s, o.missing_tokens)) {
        b.missing[c][r] = 1;
        b.values[c][r] = NAN;
      } else if (double v; parse_number(s, v)) {
        b.values[c][r] = v;
        b.bool_ok[c] = 0;
      } else {
        b.values[c][r] = NAN;
        b.numeric_ok[c] = 0;
        if (!is_bool_word(s)) b.bool_ok[c] = 0;
      }
    }
  }
  return finish(b, o, fn, "", [&](std::size_t c) {
    std::vector<std::string> out(b.rows);
    for (std::size_t r = 0; r < b.rows; ++r) out[r] = std::string(trim(columns[c][r]));
    return out;
  });
}

}  // namespace posenc
