// Tables for Tab-PET: a fast CSV reader (the file mapped into memory, rows split and parsed in
// parallel, numbers by std::from_chars, large buffers on huge pages) and per-column type inference.
#include <fcntl.h>
#include <omp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>
#include <set>
#include <string_view>

#include "detail/check.hpp"
#include "detail/csv.hpp"
#include "detail/memory.hpp"
#include "posenc/tabular.hpp"

namespace posenc {

std::int64_t Table::find(const std::string& name) const {
  for (std::size_t c = 0; c < columns.size(); ++c)
    if (columns[c].name == name) return static_cast<std::int64_t>(c);
  return -1;
}

namespace {

/// A read-only view of a whole file: mapped when possible, else read into memory.
class FileBytes {
 public:
  FileBytes(const char* fn, const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) detail::fail(fn, "cannot open '", path, "'");
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) {
      size_ = static_cast<std::size_t>(st.st_size);
      void* m = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (m != MAP_FAILED) {
        map_ = static_cast<const char*>(m);
      } else {
        copy_.resize(size_);
        std::size_t got = 0;
        while (got < size_) {
          const ssize_t r = ::read(fd, copy_.data() + got, size_ - got);
          if (r <= 0) break;
          got += static_cast<std::size_t>(r);
        }
        size_ = got;
      }
    }
    ::close(fd);
  }
  ~FileBytes() {
    if (map_) ::munmap(const_cast<char*>(map_), size_);
  }
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;
  std::string_view view() const { return {map_ ? map_ : copy_.data(), size_}; }

 private:
  const char* map_ = nullptr;
  std::string copy_;
  std::size_t size_ = 0;
};

bool is_bool_word(std::string_view s) {
  if (s.size() != 4 && s.size() != 5) return false;
  std::string low(s);
  for (auto& ch : low) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return low == "true" || low == "false";
}

/// A finite number filling the whole (trimmed) field.
bool parse_number(std::string_view s, double& out) {
  s = detail::trim(s);
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(out);
}

bool is_missing(std::string_view s, const std::vector<std::string>& tokens) {
  for (const auto& m : tokens)
    if (s == m) return true;
  return false;
}

/// What parsing found per column, before types are decided.
struct Parsed {
  std::vector<std::string> names;
  std::size_t rows = 0;
  DTensor values;                                  // [C, R]
  std::vector<std::vector<std::uint8_t>> missing;  // [C][R]
  std::vector<std::uint8_t> numeric_ok, bool_ok;   // every present cell is a number / a bool word
};

/// One cell: a number, a missing token, or text (which clears the column's numeric flag).
inline void classify(std::string_view s, const std::vector<std::string>& tokens, double& value, std::uint8_t& missing,
                     std::uint8_t& num_ok, std::uint8_t& boo_ok) {
  if (parse_number(s, value)) {
    boo_ok = 0;
    return;
  }
  value = NAN;
  if (is_missing(detail::trim(s), tokens)) {
    missing = 1;
    return;
  }
  num_ok = 0;
  if (!is_bool_word(detail::trim(s))) boo_ok = 0;
}

Table finish(Parsed& p, const TableCsvOptions& o, const char* fn, const std::string& where,
             const std::function<std::vector<std::string>(std::size_t)>& texts) {
  for (const auto& [name, type] : o.types)
    if (std::find(p.names.begin(), p.names.end(), name) == p.names.end())
      detail::fail(fn, where, "type override names no column: '", name, "'");
  for (const auto& name : o.drop)
    if (std::find(p.names.begin(), p.names.end(), name) == p.names.end())
      detail::fail(fn, where, "parameter 'drop' names no column: '", name, "'");
  std::vector<std::size_t> keep;
  for (std::size_t c = 0; c < p.names.size(); ++c)
    if (std::find(o.drop.begin(), o.drop.end(), p.names[c]) == o.drop.end()) keep.push_back(c);
  if (keep.empty()) detail::fail(fn, where, "no columns left");
  Table t;
  t.rows = p.rows;
  t.values = keep.size() == p.names.size() ? std::move(p.values)
                                           : detail::fresh_tensor<DTensor>(Shape{keep.size(), p.rows});
  for (std::size_t k = 0; k < keep.size(); ++k) {
    const std::size_t c = keep[k];
    if (keep.size() != p.names.size()) std::copy_n(p.values.data() + c * p.rows, p.rows, t.values.data() + k * p.rows);
    TableColumn col;
    col.name = p.names[c];
    col.missing = std::move(p.missing[c]);
    if (std::all_of(col.missing.begin(), col.missing.end(), [](std::uint8_t m) { return m != 0; }))
      detail::fail(fn, where, "column '", col.name, "' is entirely missing");
    auto it = o.types.find(col.name);
    if (it != o.types.end()) {
      col.type = it->second;
      if (col.type == ColumnType::numeric && !p.numeric_ok[c])
        detail::fail(fn, where, "column '", col.name, "' is declared numeric but holds text");
    } else {
      col.type = p.numeric_ok[c] ? ColumnType::numeric : p.bool_ok[c] ? ColumnType::boolean : ColumnType::categorical;
    }
    if (col.type != ColumnType::numeric) col.cells = texts(c);
    t.columns.push_back(std::move(col));
  }
  return t;
}

}  // namespace

Table read_table_csv(const std::string& path, const TableCsvOptions& o) {
  const char* fn = "read_table_csv";
  const FileBytes file(fn, path);
  const std::string_view buf = file.view();
  // Lines (a quoted field may not span lines); blank lines skipped, their numbers kept for messages.
  std::vector<std::size_t> starts, ends, numbers;
  for (std::size_t pos = 0, line = 1; pos < buf.size(); ++line) {
    const void* nl = std::memchr(buf.data() + pos, '\n', buf.size() - pos);
    const std::size_t end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - buf.data()) : buf.size();
    const std::string_view v = buf.substr(pos, end - pos);
    if (v.find_first_not_of(" \t\r") != std::string_view::npos) {
      starts.push_back(pos);
      ends.push_back(end);
      numbers.push_back(line);
    }
    pos = end + 1;
  }
  if (starts.empty()) detail::fail(fn, path, ": the file is empty (a header row is needed)");
  auto line_at = [&](std::size_t r) { return buf.substr(starts[r], ends[r] - starts[r]); };
  Parsed p;
  {
    std::vector<std::string_view> fields;
    std::vector<std::string> scratch;
    if (!detail::split_fields(line_at(0), o.delimiter, fields, scratch))
      detail::fail(fn, path, ":", numbers[0], ": unterminated quoted field in the header");
    for (std::size_t c = 0; c < fields.size(); ++c) {
      const std::string name(fields[c]);
      if (name.empty()) detail::fail(fn, path, ":", numbers[0], ": column ", c + 1, ": empty header name");
      if (std::find(p.names.begin(), p.names.end(), name) != p.names.end())
        detail::fail(fn, path, ":", numbers[0], ": column ", c + 1, ": duplicate header name '", name, "'");
      p.names.push_back(name);
    }
  }
  const std::size_t C = p.names.size(), R = starts.size() - 1;
  p.rows = R;
  p.values = detail::fresh_tensor<DTensor>(Shape{C, R});
  p.missing.assign(C, std::vector<std::uint8_t>(R, 0));
  p.numeric_ok.assign(C, 1);
  p.bool_ok.assign(C, 1);
  std::size_t bad_row = R, bad_kind = 0, bad_width = 0;  // the first bad row wins (deterministic)
  double* values = p.values.data();
#pragma omp parallel
  {
    std::vector<std::string_view> fields;
    std::vector<std::string> scratch;
    std::vector<std::uint8_t> num_ok(C, 1), boo_ok(C, 1);
    std::size_t my_bad = R, my_kind = 0, my_width = 0;
#pragma omp for schedule(static)
    for (std::int64_t rr = 0; rr < static_cast<std::int64_t>(R); ++rr) {
      const auto r = static_cast<std::size_t>(rr);
      const std::string_view line = line_at(r + 1);
      // Fast path: no quotes, split at the delimiter while parsing.
      if (line.find('"') == std::string_view::npos) {
        std::size_t c = 0, i = 0;
        while (c < C) {
          std::size_t k = line.find(o.delimiter, i);
          const bool last = k == std::string_view::npos;
          if (last) k = line.size();
          classify(line.substr(i, k - i), o.missing_tokens, values[c * R + r], p.missing[c][r], num_ok[c], boo_ok[c]);
          ++c;
          if (last) break;
          i = k + 1;
          if (c == C) {  // more fields than the header
            c = C + 1 + static_cast<std::size_t>(std::count(line.begin() + static_cast<std::ptrdiff_t>(i), line.end(), o.delimiter));
            break;
          }
        }
        if (c != C && r < my_bad) {
          my_bad = r;
          my_kind = 2;
          my_width = c;
        }
        continue;
      }
      const bool closed = detail::split_fields(line, o.delimiter, fields, scratch);
      if (!closed || fields.size() != C) {
        if (r < my_bad) {
          my_bad = r;
          my_kind = closed ? 2 : 1;
          my_width = fields.size();
        }
        continue;
      }
      for (std::size_t c = 0; c < C; ++c)
        classify(fields[c], o.missing_tokens, values[c * R + r], p.missing[c][r], num_ok[c], boo_ok[c]);
    }
#pragma omp critical
    {
      for (std::size_t c = 0; c < C; ++c) {
        p.numeric_ok[c] &= num_ok[c];
        p.bool_ok[c] &= boo_ok[c];
      }
      if (my_bad < bad_row) {
        bad_row = my_bad;
        bad_kind = my_kind;
        bad_width = my_width;
      }
    }
  }
  if (bad_row < R) {
    if (bad_kind == 1) detail::fail(fn, path, ":", numbers[bad_row + 1], ": unterminated quoted field");
    detail::fail(fn, path, ":", numbers[bad_row + 1], ": expected ", C, " columns like the header, got ", bad_width,
                 " (ragged row)");
  }
  auto texts = [&](std::size_t c) {
    std::vector<std::string> out(R);
    std::vector<std::string_view> fields;
    std::vector<std::string> scratch;
    for (std::size_t r = 0; r < R; ++r) {
      detail::split_fields(line_at(r + 1), o.delimiter, fields, scratch);
      out[r] = std::string(fields[c]);
    }
    return out;
  };
  return finish(p, o, fn, path + ": ", texts);
}

Table make_table(const std::vector<std::string>& names, const std::vector<std::vector<std::string>>& columns,
                 const TableCsvOptions& o) {
  const char* fn = "make_table";
  if (names.size() != columns.size() || names.empty())
    detail::fail(fn, "parameters 'names' and 'columns' must have the same non-zero length, got ", names.size(),
                 " and ", columns.size());
  if (std::set<std::string>(names.begin(), names.end()).size() != names.size())
    detail::fail(fn, "parameter 'names' has a duplicate");
  Parsed p;
  p.names = names;
  p.rows = columns[0].size();
  p.values = DTensor::from_shape({names.size(), p.rows});
  p.missing.assign(names.size(), std::vector<std::uint8_t>(p.rows, 0));
  p.numeric_ok.assign(names.size(), 1);
  p.bool_ok.assign(names.size(), 1);
  for (std::size_t c = 0; c < names.size(); ++c) {
    if (columns[c].size() != p.rows)
      detail::fail(fn, "column '", names[c], "' has ", columns[c].size(), " cells, the first has ", p.rows);
    for (std::size_t r = 0; r < p.rows; ++r)
      classify(columns[c][r], o.missing_tokens, p.values(c, r), p.missing[c][r], p.numeric_ok[c], p.bool_ok[c]);
  }
  return finish(p, o, fn, "", [&](std::size_t c) {
    std::vector<std::string> out(p.rows);
    for (std::size_t r = 0; r < p.rows; ++r) out[r] = std::string(detail::trim(columns[c][r]));
    return out;
  });
}

}  // namespace posenc
