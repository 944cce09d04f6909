// Tables for Tab-PET: a fast CSV reader (the file read into memory on huge pages, rows split and
// parsed in parallel, numbers by detail::from_chars_double, read in place when a field is a plain number)
// and per-column type inference.
#include <fcntl.h>
#include <omp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <set>
#include <string_view>

#include "detail/check.hpp"
#include "detail/csv.hpp"
#include "detail/decimal.hpp"
#include "detail/memory.hpp"
#include "posenc/tabular.hpp"

namespace posenc {

std::int64_t Table::find(const std::string& name) const {
  for (std::size_t c = 0; c < columns.size(); ++c)
    if (columns[c].name == name) return static_cast<std::int64_t>(c);
  return -1;
}

namespace {

/// A whole file read into memory on huge pages. Reading beats mapping here: the first pass over a
/// mapped page-cache file faults in 4 KiB pages (~75 ms for 124 MB on the benchmark VM), the copy
/// into 2 MiB pages costs ~35 ms.
class FileBytes {
 public:
  FileBytes(const char* fn, const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) detail::fail(fn, "cannot open '", path, "'");
    struct stat st {};
    const std::size_t want = ::fstat(fd, &st) == 0 && st.st_size > 0 ? static_cast<std::size_t>(st.st_size) : 0;
    constexpr std::size_t kHuge = std::size_t{1} << 21;
    std::size_t cap = std::max<std::size_t>((want + kHuge) & ~(kHuge - 1), kHuge);
    data_ = allocate(fn, path, fd, cap);
    while (true) {  // to the end even if the size changed (or is unknown: pipes, /proc)
      if (size_ == cap) {
        auto bigger = allocate(fn, path, fd, 2 * cap);
        std::memcpy(bigger.get(), data_.get(), size_);
        data_ = std::move(bigger);
        cap *= 2;
      }
      const ssize_t r = ::read(fd, data_.get() + size_, cap - size_);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        const int err = errno;
        ::close(fd);
        detail::fail(fn, "cannot read '", path, "': ", std::strerror(err));
      }
      if (r == 0) break;
      size_ += static_cast<std::size_t>(r);
    }
    ::close(fd);
  }
  std::string_view view() const { return {data_.get(), size_}; }

 private:
  using Buffer = std::unique_ptr<char[], detail::FreeDelete>;
  static Buffer allocate(const char* fn, const std::string& path, int fd, std::size_t bytes) {
    try {
      return detail::huge_buffer<char>(bytes);
    } catch (const std::bad_alloc&) {
      ::close(fd);
      detail::fail(fn, "cannot allocate ", bytes, " bytes for '", path, "'");
    }
  }
  Buffer data_;
  std::size_t size_ = 0;
};

bool is_bool_word(std::string_view s) {
  if (s.size() != 4 && s.size() != 5) return false;
  std::string low(s);
  for (auto& ch : low) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return low == "true" || low == "false";
}

/// A number filling the whole (trimmed) field: 1 finite (in `out`), 2 a number that is not
/// finite ("inf", "nan", 1e400: out is NaN), 0 not a number. Underflow (1e-400) is finite.
int parse_number(std::string_view s, double& out) {
  s = detail::trim(s);
  if (s.empty()) return 0;
  if (s.front() == '+') s.remove_prefix(1);
  const auto r = detail::from_chars_double(s.data(), s.data() + s.size(), out);
  if (r.ptr != s.data() + s.size()) return 0;
  if (r.ec == std::errc::result_out_of_range) {
    const double v = std::strtod(std::string(s).c_str(), nullptr);  // overflow: +-HUGE_VAL; underflow: tiny
    if (std::isfinite(v)) {
      out = v;
      return 1;
    }
    out = NAN;
    return 2;
  }
  if (r.ec != std::errc()) return 0;
  if (!std::isfinite(out)) {
    out = NAN;
    return 2;
  }
  return 1;
}

/// The fast path of an unquoted field starting at line[i]: blanks, one optional '+', a number
/// std::from_chars reads as finite, blanks (or a carriage return), then the delimiter or the end of
/// the line. Returns where the field ends (the delimiter's index or line.size()) with the value in
/// `out`, exactly as parse_number reads the field; npos sends the field to the general path. Only
/// for delimiters that cannot occur inside a number (see quick_delimiter).
inline std::size_t quick_number(std::string_view line, std::size_t i, char delim, double& out) {
  const char* b = line.data() + detail::skip_blanks(line, i, delim);  // a blank delimiter ends the field
  const char* e = line.data() + line.size();
  if (b < e && *b == '+') ++b;
  const auto r = detail::from_chars_double(b, e, out);
  if (r.ec != std::errc() || !std::isfinite(out)) return std::string_view::npos;
  const char* q = r.ptr;
  while (q < e && (*q == ' ' || *q == '\t' || *q == '\r') && *q != delim) ++q;
  if (q != e && *q != delim) return std::string_view::npos;
  return static_cast<std::size_t>(q - line.data());
}

/// A delimiter no number can contain (so a number read past the field's end stops at it).
bool quick_delimiter(char d) {
  return !std::isalnum(static_cast<unsigned char>(d)) && std::strchr(".+-()_", d) == nullptr && d != '\0';
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
  std::vector<std::size_t> nonfinite_row;          // [C] first row holding inf, nan or 1e400 (rows if none)
  std::vector<std::size_t> lines;                  // [R] line number of each row (empty: no file)
};

/// One cell: a number, a missing token, a non-finite number (inf, 1e400: kept numeric so that the
/// column can be reported; returns true), or text (which clears the column's numeric flag).
inline bool classify(std::string_view s, const std::vector<std::string>& tokens, double& value, std::uint8_t& missing,
                     std::uint8_t& num_ok, std::uint8_t& boo_ok) {
  const int kind = parse_number(s, value);
  if (kind == 1) {
    boo_ok = 0;
    return false;
  }
  value = NAN;
  if (is_missing(detail::trim(s), tokens)) {
    missing = 1;
    return false;
  }
  if (kind == 2) {
    boo_ok = 0;
    return true;
  }
  num_ok = 0;
  if (!is_bool_word(detail::trim(s))) boo_ok = 0;
  return false;
}

/// One thread's rows of read_table_csv: each cell into values / missing, and the column flags the
/// thread gathers (merged by the caller).
class RowParser {
 public:
  static constexpr std::size_t kQuoted = std::string_view::npos, kUnterminated = kQuoted - 1;
  RowParser(const TableCsvOptions& o, std::size_t columns, std::size_t rows, double* values,
            std::vector<std::vector<std::uint8_t>>& missing)
      : num_ok(columns, 1), boo_ok(columns, 1), nonfinite(columns, rows), o_(o), C_(columns), R_(rows), values_(values),
        missing_(missing), quick_(quick_delimiter(o.delimiter)) {}

  /// Row r split at the delimiter while parsing (a plain number read in place, with no search for
  /// its delimiter first): the number of fields, or kQuoted when a field starts with a quote or the
  /// row is too wide (quoted() then decides; a quote inside a field is an ordinary character).
  std::size_t plain(std::string_view line, std::size_t r) {
    std::size_t c = 0, i = 0;
    if (quick_) {  // the leading run of bare numbers in one call (most rows: all of them)
      const char* next = nullptr;
      c = detail::read_delimited(line.data(), line.data() + line.size(), o_.delimiter, C_, values_ + r, R_, next);
      for (std::size_t k = 0; k < c; ++k) boo_ok[k] = 0;
      if (c == C_) return c;
      i = static_cast<std::size_t>(next - line.data());
    }
    while (c < C_) {
      std::size_t k = quick_ ? quick_number(line, i, o_.delimiter, values_[c * R_ + r]) : std::string_view::npos;
      if (k != std::string_view::npos) {
        boo_ok[c] = 0;
      } else {
        const std::size_t j = detail::skip_blanks(line, i, o_.delimiter);  // split_fields' rule for a quote
        if (j < line.size() && line[j] == '"') return kQuoted;
        k = std::min(line.find(o_.delimiter, i), line.size());
        cell(line.substr(i, k - i), c, r);
      }
      ++c;
      if (k == line.size()) return c;
      i = k + 1;
    }
    return kQuoted;  // more fields than the header: counted by quoted(), quotes and all
  }

  /// Row r through split_fields (quoted fields unescaped): the number of fields, or kUnterminated.
  std::size_t quoted(std::string_view line, std::size_t r) {
    const bool closed = detail::split_fields(line, o_.delimiter, fields_, scratch_);
    if (!closed) return kUnterminated;
    if (fields_.size() == C_)
      for (std::size_t c = 0; c < C_; ++c) cell(fields_[c], c, r);
    return fields_.size();
  }

  std::vector<std::uint8_t> num_ok, boo_ok;  // every present cell so far a number / a bool word
  std::vector<std::size_t> nonfinite;        // first row holding a non-finite number, per column

 private:
  void cell(std::string_view s, std::size_t c, std::size_t r) {
    if (classify(s, o_.missing_tokens, values_[c * R_ + r], missing_[c][r], num_ok[c], boo_ok[c]))
      nonfinite[c] = std::min(nonfinite[c], r);
  }
  const TableCsvOptions& o_;
  std::size_t C_, R_;
  double* values_;
  std::vector<std::vector<std::uint8_t>>& missing_;
  bool quick_;
  std::vector<std::string_view> fields_;
  std::vector<std::string> scratch_;
};

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
    // A number that is not finite never turns a numeric column into text: it is an error.
    if (col.type == ColumnType::numeric && p.nonfinite_row[c] < p.rows) {
      const std::size_t r = p.nonfinite_row[c];
      const std::string cell = texts(c)[r];
      if (p.lines.empty())
        detail::fail(fn, where, "column '", col.name, "' (", c + 1, "), row ", r, ": '", cell,
                     "' is not a finite number (numeric columns need finite values)");
      detail::fail(fn, where.substr(0, where.size() - 2), ":", p.lines[r], ": column ", c + 1, " ('", col.name,
                   "'): '", cell, "' is not a finite number (numeric columns need finite values)");
    }
    if (col.type != ColumnType::numeric) col.cells = texts(c);
    t.columns.push_back(std::move(col));
  }
  return t;
}

/// The non-blank lines of a file's text (a quoted field may not span lines), with their 1-based
/// line numbers for messages.
struct CsvLines {
  std::string_view text;
  std::vector<std::size_t> starts, ends, numbers;
  std::size_t size() const { return starts.size(); }
  std::string_view at(std::size_t r) const { return text.substr(starts[r], ends[r] - starts[r]); }
};

CsvLines index_lines(std::string_view text) {
  CsvLines out{text, {}, {}, {}};
  for (std::size_t pos = 0, line = 1; pos < text.size(); ++line) {
    const void* nl = std::memchr(text.data() + pos, '\n', text.size() - pos);
    const std::size_t end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - text.data()) : text.size();
    if (text.substr(pos, end - pos).find_first_not_of(" \t\r") != std::string_view::npos) {
      out.starts.push_back(pos);
      out.ends.push_back(end);
      out.numbers.push_back(line);
    }
    pos = end + 1;
  }
  return out;
}

/// The rows from line index `from` under the column `names`, parsed in parallel (each thread a
/// RowParser); the first ragged or unterminated row (in file order) throws, naming its line.
Parsed parse_rows(const CsvLines& lines, std::size_t from, std::vector<std::string> names, const TableCsvOptions& o,
                  const char* fn, const std::string& path) {
  Parsed p;
  p.names = std::move(names);
  const std::size_t C = p.names.size(), R = lines.size() - from;
  p.rows = R;
  p.lines.assign(lines.numbers.begin() + static_cast<std::ptrdiff_t>(from), lines.numbers.end());
  p.values = detail::fresh_tensor<DTensor>(Shape{C, R});
  p.missing.assign(C, std::vector<std::uint8_t>(R, 0));
  p.numeric_ok.assign(C, 1);
  p.bool_ok.assign(C, 1);
  p.nonfinite_row.assign(C, R);
  std::size_t bad_row = R, bad_kind = 0, bad_width = 0;  // the first bad row wins (deterministic)
#pragma omp parallel
  {
    RowParser rp(o, C, R, p.values.data(), p.missing);
    std::size_t my_bad = R, my_kind = 0, my_width = 0;
#pragma omp for schedule(static)
    for (std::int64_t rr = 0; rr < static_cast<std::int64_t>(R); ++rr) {
      const auto r = static_cast<std::size_t>(rr);
      const std::string_view line = lines.at(r + from);
      if (r + 2 < R) {  // the row after next into the cache while this one is parsed
        const std::string_view ahead = lines.at(r + 2 + from);
        for (std::size_t b = 0; b < ahead.size(); b += 64) __builtin_prefetch(ahead.data() + b);
      }
      std::size_t width = rp.plain(line, r);
      if (width == RowParser::kQuoted) width = rp.quoted(line, r);
      if (width != C && r < my_bad) {
        my_bad = r;
        my_kind = width == RowParser::kUnterminated ? 1 : 2;
        my_width = width;
      }
    }
#pragma omp critical
    {
      for (std::size_t c = 0; c < C; ++c) {
        p.numeric_ok[c] &= rp.num_ok[c];
        p.bool_ok[c] &= rp.boo_ok[c];
        p.nonfinite_row[c] = std::min(p.nonfinite_row[c], rp.nonfinite[c]);
      }
      if (my_bad < bad_row) {
        bad_row = my_bad;
        bad_kind = my_kind;
        bad_width = my_width;
      }
    }
  }
  if (bad_row < R) {
    if (bad_kind == 1) detail::fail(fn, path, ":", lines.numbers[bad_row + from], ": unterminated quoted field");
    detail::fail(fn, path, ":", lines.numbers[bad_row + from], ": expected ", C, " columns like ",
                 from == 0 ? "the first row" : "the header", ", got ", bad_width, " (ragged row)");
  }
  return p;
}

}  // namespace

Table read_table_csv(const std::string& path, const TableCsvOptions& o) {
  const char* fn = "read_table_csv";
  if (o.header != "yes" && o.header != "no" && o.header != "auto")
    detail::fail(fn, "parameter 'header' must be yes, no or auto, got '", o.header, "'");
  const FileBytes file(fn, path);
  const std::string_view buf = detail::strip_bom(file.view());  // a UTF-8 BOM is not part of the first name
  const CsvLines lines = index_lines(buf);
  if (lines.size() == 0) detail::fail(fn, path, ": the file is empty (a header row is needed)");
  std::vector<std::string> first_row;
  {
    std::vector<std::string_view> fields;
    std::vector<std::string> scratch;
    if (!detail::split_fields(lines.at(0), o.delimiter, fields, scratch))
      detail::fail(fn, path, ":", lines.numbers[0], ": unterminated quoted field in the ",
                   o.header == "no" ? "first row" : "header");
    first_row.assign(fields.begin(), fields.end());
  }
  auto parse = [&](std::size_t from, std::vector<std::string> names) {
    return parse_rows(lines, from, std::move(names), o, fn, path);
  };
  auto check_names = [&](const std::vector<std::string>& names) {
    for (std::size_t c = 0; c < names.size(); ++c) {
      if (names[c].empty()) detail::fail(fn, path, ":", lines.numbers[0], ": column ", c + 1, ": empty header name");
      if (std::find(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(c), names[c]) !=
          names.begin() + static_cast<std::ptrdiff_t>(c))
        detail::fail(fn, path, ":", lines.numbers[0], ": column ", c + 1, ": duplicate header name '", names[c], "'");
    }
  };
  auto numbered = [&] {  // header = no: columns "0" .. "C-1" (pandas' header=None)
    std::vector<std::string> names(first_row.size());
    for (std::size_t c = 0; c < names.size(); ++c) names[c] = std::to_string(c);
    return names;
  };
  Parsed p;
  if (o.header == "no") {
    p = parse(0, numbered());
  } else {
    p = parse(1, first_row);
    if (o.header == "auto") {
      // The first row is data when every field fits its column as the other rows define it.
      bool fits = true;
      for (std::size_t c = 0; c < first_row.size() && fits; ++c) {
        double v = 0;
        const std::string_view f = detail::trim(first_row[c]);
        const int kind = parse_number(f, v);
        if (is_missing(f, o.missing_tokens)) continue;
        if (p.numeric_ok[c]) fits = kind == 1;
        else if (p.bool_ok[c]) fits = is_bool_word(f);
      }
      const bool all_text = std::all_of(first_row.begin(), first_row.end(), [](const std::string& f) {
        double v = 0;
        return !detail::trim(f).empty() && parse_number(f, v) == 0;
      });
      if (fits) {
        p = parse(0, numbered());
      } else if (!all_text) {
        std::size_t c = 0;
        for (double v = 0; c < first_row.size(); ++c)
          if (detail::trim(first_row[c]).empty() || parse_number(first_row[c], v) != 0) break;
        detail::fail(fn, path, ":", lines.numbers[0], ": the first row is neither data (it does not fit the column types of ",
                     "the other rows) nor a header (column ", c + 1, " '", first_row[c],
                     "' is not non-numeric text); fix the row or pass header = yes or no");
      }
    }
    if (p.lines.size() + 1 == lines.size()) check_names(p.names);  // the first row named the columns
  }
  const std::size_t from = lines.size() - p.rows;
  auto texts = [&, from](std::size_t c) {
    std::vector<std::string> out(p.rows);
    std::vector<std::string_view> fields;
    std::vector<std::string> scratch;
    for (std::size_t r = 0; r < p.rows; ++r) {
      detail::split_fields(lines.at(r + from), o.delimiter, fields, scratch);
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
  p.nonfinite_row.assign(names.size(), p.rows);
  for (std::size_t c = 0; c < names.size(); ++c) {
    if (columns[c].size() != p.rows)
      detail::fail(fn, "column '", names[c], "' has ", columns[c].size(), " cells, the first has ", p.rows);
    for (std::size_t r = 0; r < p.rows; ++r)
      if (classify(columns[c][r], o.missing_tokens, p.values(c, r), p.missing[c][r], p.numeric_ok[c], p.bool_ok[c]))
        p.nonfinite_row[c] = std::min(p.nonfinite_row[c], r);
  }
  return finish(p, o, fn, "", [&](std::size_t c) {
    std::vector<std::string> out(p.rows);
    for (std::size_t r = 0; r < p.rows; ++r) out[r] = std::string(detail::trim(columns[c][r]));
    return out;
  });
}

}  // namespace posenc
