// The catalogue's machinery: names, parsing by field type, the registry, build.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "catalogue/define.hpp"
#include "posenc/npy.hpp"

namespace posenc::catalogue {

using detail::bad;

// ====================================================================== names

std::string normalise(std::string name) {
  for (auto& c : name) c = c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string shortest(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

template <class T>
std::string shape_text(const xt::xarray<T>& t, const char* dtype) {
  return shape_string(t) + " " + dtype + " array";
}

}  // namespace

std::string closest(const std::string& name, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = 4;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(name, c);
    if (d < best_d || (best.empty() && !name.empty() && c.rfind(name, 0) == 0)) {
      best_d = std::min(d, best_d);
      best = c;
    }
  }
  return best;
}

std::string type_name(FieldType type) {
  switch (type) {
    case FieldType::boolean: return "boolean (true/false)";
    case FieldType::integer: return "integer";
    case FieldType::real: return "real number";
    case FieldType::text: return "string";
    case FieldType::choice: return "choice";
    case FieldType::integer_list: return "list of integers (1,2,3 or .npy)";
    case FieldType::real_list: return "list of real numbers (0.5,1 or .npy)";
    case FieldType::tensor: return "float32 array (.npy)";
    case FieldType::dtensor: return "float64 array (.npy)";
    case FieldType::itensor: return "int64 array (.npy)";
    case FieldType::tensor_list: return "list of float32 arrays (a.npy,b.npy)";
  }
  return "?";
}

std::string value_text(const Value& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, bool>) return v ? "true" : "false";
        else if constexpr (std::is_same_v<V, std::int64_t>) return std::to_string(v);
        else if constexpr (std::is_same_v<V, double>) return shortest(v);
        else if constexpr (std::is_same_v<V, std::string>) return v;
        else if constexpr (std::is_same_v<V, std::vector<std::int64_t>>) {
          std::string s;
          for (auto x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
          return s;
        } else if constexpr (std::is_same_v<V, std::vector<double>>) {
          std::string s;
          for (auto x : v) s += (s.empty() ? "" : ",") + shortest(x);
          return s;
        } else if constexpr (std::is_same_v<V, Tensor>) return shape_text(v, "float32");
        else if constexpr (std::is_same_v<V, DTensor>) return shape_text(v, "float64");
        else if constexpr (std::is_same_v<V, ITensor>) return shape_text(v, "int64");
        else return std::to_string(v.size()) + " float32 arrays";
      },
      value);
}

void unknown_choice(const std::string& what, const std::vector<std::string>& choices, const std::string& given) {
  const std::string guess = closest(normalise(given), choices);
  bad(what + " expects one of " + join(choices, "|") + ", got '" + given + "'" +
      (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
}

// ====================================================================== values by type

namespace {

/// "rope: field 'beta_fast' expects a real number, got 'fast'".
[[noreturn]] void bad_value(const std::string& entry, const FieldInfo& f, const std::string& given,
                            const std::string& why = "") {
  std::string expected = f.type == FieldType::choice ? "one of " + join(f.choices, "|") : type_name(f.type);
  bad(entry + ": field '" + f.name + "' expects " + expected + ", got '" + given + "'" + (why.empty() ? "" : " (" + why + ")"));
}

bool ends_with_npy(const std::string& s) { return s.size() > 4 && s.substr(s.size() - 4) == ".npy"; }

std::optional<double> real_of(const std::string& s) {
  double v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}
std::optional<std::int64_t> integer_of(const std::string& s) {
  std::int64_t v = 0;
  const std::size_t start = !s.empty() && s[0] == '+' ? 1 : 0;
  const auto [p, ec] = std::from_chars(s.data() + start, s.data() + s.size(), v);
  if (s.size() == start || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= s.size()) {
    const std::size_t next = std::min(s.find(sep, at), s.size());
    out.push_back(s.substr(at, next - at));
    at = next + 1;
  }
  return out;
}

std::string choice_of(const std::string& entry, const FieldInfo& f, const std::string& s) {
  const std::string n = normalise(s);
  for (const auto& c : f.choices)
    if (normalise(c) == n) return c;
  if (auto it = f.aliases.find(n); it != f.aliases.end()) return it->second;
  unknown_choice(entry + ": field '" + f.name + "'", f.choices, s);
}

Value parse_value(const std::string& entry, const FieldInfo& f, const std::string& s) {
  switch (f.type) {
    case FieldType::boolean: {
      const std::string n = normalise(s);
      if (n == "true" || n == "1" || n == "yes" || n == "on") return true;
      if (n == "false" || n == "0" || n == "no" || n == "off") return false;
      bad_value(entry, f, s);
    }
    case FieldType::integer:
      if (auto v = integer_of(s)) return *v;
      bad_value(entry, f, s);
    case FieldType::real:
      if (auto v = real_of(s)) return *v;
      bad_value(entry, f, s);
    case FieldType::text: return s;
    case FieldType::choice: return choice_of(entry, f, s);
    case FieldType::integer_list: {
      std::vector<std::int64_t> out;
      if (ends_with_npy(s)) {
        for (double x : load_npy_double(s)) {
          if (x != std::floor(x) || !std::isfinite(x)) bad_value(entry, f, s, "holds " + shortest(x));
          out.push_back(static_cast<std::int64_t>(x));
        }
        return out;
      }
      for (const auto& item : split(s, ','))
        if (auto v = integer_of(item)) out.push_back(*v);
        else bad_value(entry, f, s);
      return out;
    }
    case FieldType::real_list: {
      std::vector<double> out;
      if (ends_with_npy(s)) {
        const DTensor t = load_npy_double(s, true);
        return std::vector<double>(t.begin(), t.end());
      }
      for (const auto& item : split(s, ','))
        if (auto v = real_of(item)) out.push_back(*v);
        else bad_value(entry, f, s);
      return out;
    }
    case FieldType::tensor: return load_npy(s);
    case FieldType::dtensor: return load_npy_double(s);
    case FieldType::itensor: return load_npy_int(s);
    case FieldType::tensor_list: {
      std::vector<Tensor> out;
      for (const auto& path : split(s, ',')) out.push_back(load_npy(path));
      return out;
    }
  }
  bad_value(entry, f, s);
}

template <class To, class From>
xt::xarray<To> cast_array(const xt::xarray<From>& a) {
  xt::xarray<To> out = xt::xarray<To>::from_shape(a.shape());
  std::transform(a.begin(), a.end(), out.begin(), [](From x) { return static_cast<To>(x); });
  return out;
}

template <class T>
std::optional<std::vector<double>> flat_numbers(const Value& v) {
  if (const auto* a = std::get_if<xt::xarray<T>>(&v)) {
    if (a->dimension() != 1) return std::nullopt;
    return std::vector<double>(a->begin(), a->end());
  }
  return std::nullopt;
}

std::optional<std::vector<double>> as_numbers(const Value& v) {
  if (const auto* d = std::get_if<std::vector<double>>(&v)) return *d;
  if (const auto* i = std::get_if<std::vector<std::int64_t>>(&v)) return std::vector<double>(i->begin(), i->end());
  if (const auto* x = std::get_if<double>(&v)) return std::vector<double>{*x};
  if (const auto* x = std::get_if<std::int64_t>(&v)) return std::vector<double>{static_cast<double>(*x)};
  if (auto f = flat_numbers<float>(v)) return f;
  if (auto f = flat_numbers<double>(v)) return f;
  if (auto f = flat_numbers<std::int64_t>(v)) return f;
  return std::nullopt;
}

Value check_value(const std::string& entry, const FieldInfo& f, const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v); s && f.type != FieldType::text && f.type != FieldType::choice)
    return parse_value(entry, f, *s);
  const std::string given = value_text(v);
  switch (f.type) {
    case FieldType::boolean:
      if (std::holds_alternative<bool>(v)) return v;
      if (const auto* i = std::get_if<std::int64_t>(&v); i && (*i == 0 || *i == 1)) return *i == 1;
      break;
    case FieldType::integer:
      if (std::holds_alternative<std::int64_t>(v)) return v;
      break;
    case FieldType::real:
      if (const auto* d = std::get_if<double>(&v)) {
        if (!std::isfinite(*d)) bad_value(entry, f, given, "not finite");
        return v;
      }
      if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
      break;
    case FieldType::text:
      if (std::holds_alternative<std::string>(v)) return v;
      break;
    case FieldType::choice:
      if (const auto* s = std::get_if<std::string>(&v)) return choice_of(entry, f, *s);
      break;
    case FieldType::integer_list:
      if (auto n = as_numbers(v); n && !std::holds_alternative<double>(v)) {
        std::vector<std::int64_t> out;
        for (double x : *n) {
          if (!std::isfinite(x) || x != std::floor(x)) bad_value(entry, f, given, "holds " + shortest(x));
          out.push_back(static_cast<std::int64_t>(x));
        }
        return out;
      }
      break;
    case FieldType::real_list:
      if (auto n = as_numbers(v)) {
        for (double x : *n)
          if (!std::isfinite(x)) bad_value(entry, f, given, "holds " + shortest(x));
        return *n;
      }
      break;
    case FieldType::tensor:
      if (std::holds_alternative<Tensor>(v)) return v;
      if (const auto* d = std::get_if<DTensor>(&v)) return cast_array<float>(*d);
      if (const auto* i = std::get_if<ITensor>(&v)) return cast_array<float>(*i);
      break;
    case FieldType::dtensor:
      if (std::holds_alternative<DTensor>(v)) return v;
      if (const auto* t = std::get_if<Tensor>(&v)) return cast_array<double>(*t);
      if (const auto* i = std::get_if<ITensor>(&v)) return cast_array<double>(*i);
      break;
    case FieldType::itensor:
      if (std::holds_alternative<ITensor>(v)) return v;
      if (const auto* t = std::get_if<DTensor>(&v)) {
        for (double x : *t)
          if (!std::isfinite(x) || x != std::floor(x)) bad_value(entry, f, given, "holds " + shortest(x));
        return cast_array<std::int64_t>(*t);
      }
      break;
    case FieldType::tensor_list:
      if (std::holds_alternative<std::vector<Tensor>>(v)) return v;
      if (const auto* t = std::get_if<Tensor>(&v)) return std::vector<Tensor>{*t};
      break;
  }
  bad_value(entry, f, given);
}

}  // namespace

// ====================================================================== the registry

namespace {

const std::vector<detail::Entry>& registry() {
  static const std::vector<detail::Entry> r = [] {
    std::vector<detail::Entry> out;
    detail::add_text(out);
    detail::add_rotary(out);
    detail::add_relative(out);
    detail::add_image(out);
    detail::add_video(out);
    detail::add_spectrogram(out);
    detail::add_sphere(out);
    detail::add_graph(out);
    detail::add_tabular(out);
    return out;
  }();
  return r;
}

const detail::Entry& find(const std::string& name) {
  const std::string n = normalise(name);
  for (const auto& e : registry())
    if (e.info.name == n) return e;
  const std::string guess = closest(n, names());
  bad("unknown encoding '" + name + "'" + (guess.empty() ? "" : "; did you mean '" + guess + "'?") +
      " (posenc list shows all)");
}

const FieldInfo& find_field(const EntryInfo& e, const std::string& name) {
  const std::string n = normalise(name);
  if (const FieldInfo* f = e.field(n)) return *f;
  const std::string guess = suggest_field(e, n);
  bad(e.name + ": unknown field '" + name + "'" + (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
}

}  // namespace

std::string suggest_field(const EntryInfo& e, const std::string& name) {
  const std::string n = normalise(name);
  for (const auto& f : e.fields)
    for (const auto& h : f.hints)
      if (normalise(h) == n) return f.name;
  std::vector<std::string> known;
  for (const auto& f : e.fields) known.push_back(f.name);
  return closest(n, known);
}

const FieldInfo* EntryInfo::field(const std::string& n) const {
  const std::string key = normalise(n);
  for (const auto& f : fields)
    if (f.name == key) return &f;
  return nullptr;
}

const Array* Built::array(const std::string& name) const {
  for (const auto& [k, a] : arrays)
    if (k == name) return &a;
  return nullptr;
}

const std::vector<EntryInfo>& entries() {
  static const std::vector<EntryInfo> e = [] {
    std::vector<EntryInfo> out;
    for (const auto& r : registry()) out.push_back(r.info);
    return out;
  }();
  return e;
}

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const auto& e : registry()) out.push_back(e.info.name);
  return out;
}

const EntryInfo& describe(const std::string& name) { return find(name).info; }

std::string help_text(const std::string& name) {
  const EntryInfo& e = describe(name);
  std::ostringstream os;
  os << e.name << " - " << e.summary << "\n  fills:  " << e.parts << "\n  source: " << e.source << "\n";
  if (!e.inputs.empty()) os << "  inputs: " << join(e.inputs, ", ") << "\n";
  for (const auto& f : e.fields) {
    os << "  --" << f.name << " " << (f.type == FieldType::choice ? join(f.choices, "|") : type_name(f.type))
       << " [" << f.default_text << "]";
    if (f.struct_default) os << " (struct default " << *f.struct_default << ")";
    os << "  " << f.help << "\n";
  }
  for (const auto& t : e.tables)
    os << "  table " << t.array << " " << t.shape << ": " << t.initialiser << "; load with --" << t.field << "\n";
  return os.str();
}

Values parse(const std::string& name, const std::map<std::string, std::string>& text) {
  const EntryInfo& e = describe(name);
  Values out;
  for (const auto& [k, v] : text) {
    const FieldInfo& f = find_field(e, k);
    out[f.name] = parse_value(e.name, f, v);
  }
  return out;
}

Values check(const std::string& name, const Values& typed) {
  const EntryInfo& e = describe(name);
  Values out;
  for (const auto& [k, v] : typed) {
    const FieldInfo& f = find_field(e, k);
    out[f.name] = check_value(e.name, f, v);
  }
  return out;
}

namespace {
/// Defaults < context.implied < values, each checked against the entry's fields.
Values merged(const detail::Entry& e, const Values& values, const Context& context) {
  Values all = check(e.info.name, context.implied);
  for (const auto& [k, v] : check(e.info.name, values)) all[k] = v;
  return all;
}
}  // namespace

Built build(const std::string& name, const Values& values, const Context& context) {
  const detail::Entry& e = find(name);
  Built b = e.build(merged(e, values, context));
  if (b.encoding.name.empty()) b.encoding.name = e.info.name;
  return b;
}

void build_into(const std::string& name, std::span<float> out, const Values& values, const Context& context) {
  const detail::Entry& e = find(name);
  if (!e.into) {
    std::string can;
    for (const auto& other : registry())
      if (other.into) can += (can.empty() ? "" : ", ") + other.info.name;
    bad("build_into('" + e.info.name + "'): this encoding cannot write into a caller's buffer (those that can: " + can +
        ")");
  }
  const Values all = merged(e, values, context);
  try {
    e.into(all, out);
  } catch (const std::invalid_argument& ex) {  // the builder's message under the call and entry
    throw std::invalid_argument("build_into('" + e.info.name + "'): " + ex.what());
  }
}

Gradients backward(const std::string& name, const Values& values, const Built& built, const EncodingGrad& grad,
                   const Context& context) {
  const detail::Entry& e = find(name);
  if (!e.backward) return {};
  return e.backward(merged(e, values, context), built, grad);
}

// ====================================================================== helpers of the entries

namespace detail {

std::size_t TextPositions::n_key() const {
  if (tokens <= 0) bad("positions: field 'tokens' must be positive, got " + std::to_string(tokens));
  if (!std::isfinite(offset) || offset < 0) bad("positions: field 'offset' must be finite and >= 0, got " + shortest(offset));
  if (offset + static_cast<double>(tokens) > 9007199254740992.0)
    bad("positions: field 'offset' " + shortest(offset) + " puts positions beyond 2^53, where float64 loses integers");
  return static_cast<std::size_t>(tokens);
}
std::size_t TextPositions::n_query() const {
  const std::int64_t q = query_tokens.value_or(tokens);
  if (q <= 0 || q > tokens)
    bad("positions: field 'query_tokens' must be in [1, tokens = " + std::to_string(tokens) + "], got " + std::to_string(q));
  return static_cast<std::size_t>(q);
}
DTensor TextPositions::keys() const {
  const std::size_t n = n_key();
  DTensor k = DTensor::from_shape({1, n, 1});
  for (std::size_t j = 0; j < n; ++j) k.data()[j] = offset + static_cast<double>(j);
  return k;
}
DTensor TextPositions::queries() const { return query_rows(keys(), n_query()); }

Tensor drop_batch(const Tensor& t) {
  Tensor out = t;
  out.reshape({t.shape()[1], t.shape()[2]});
  return out;
}
DTensor angles_2d(const DTensor& a) {
  DTensor out = a;
  out.reshape({a.shape()[2], a.shape()[3]});
  return out;
}
Tensor to_float(const std::vector<double>& v) {
  Tensor t = Tensor::from_shape({v.size()});
  for (std::size_t i = 0; i < v.size(); ++i) t(i) = static_cast<float>(v[i]);
  return t;
}
DTensor to_double(const std::vector<double>& v) {
  DTensor t = DTensor::from_shape({v.size()});
  std::copy(v.begin(), v.end(), t.begin());
  return t;
}
ITensor relation_2d(const Relation& r) {
  ITensor m = relation_indices(r);
  m.reshape({m.shape()[1], m.shape()[2]});
  return m;
}
DTensor query_rows(const DTensor& keys, std::size_t n_query) {
  const std::size_t n = keys.shape()[1];
  return xt::view(keys, xt::all(), xt::range(n - n_query, n), xt::all());
}
Built absolute(Encoding e, bool concat) {
  Built b;
  const Tensor& part = concat ? e.input_concat : e.input_add;
  b.arrays.emplace_back(concat ? "input_concat" : "input_add", drop_batch(part));
  b.tokens = b.query_tokens = part.shape()[1];
  b.encoding = std::move(e);
  return b;
}
const Tensor& built_tensor(const Built& b, const std::string& stem) {
  if (const Array* a = b.array(stem))
    if (const auto* t = std::get_if<Tensor>(a)) return *t;
  bad("backward: the built encoding has no float32 array '" + stem + "'");
}
std::uint64_t seed_of(std::int64_t seed) {
  if (seed < 0) bad("field 'seed' must be >= 0, got " + std::to_string(seed));
  return static_cast<std::uint64_t>(seed);
}

}  // namespace detail

}  // namespace posenc::catalogue
