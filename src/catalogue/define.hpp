// src/catalogue/define.hpp — private: how the entries in src/catalogue/<header>.cpp are declared.
//
// An entry binds its fields to the members of a parameter struct P (the method's option
// struct, possibly with the positions it reads and its learnable tables around it):
//
//   struct T5Params { T5Options o; TextPositions pos; std::int64_t heads = 8; Learnable table; };
//   Def<T5Params>("t5", "summary", "parts", "source")
//       .field("bidirectional", [](T5Params& p) -> auto& { return p.o.bidirectional; }, "help")
//       ...
//       .build([](const T5Params& p) { ... return Built{...}; });
//
// Defaults are read from P{} (after `preset`, which gives values to members the option struct
// leaves required); the member's C++ type decides the field type.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "posenc/catalogue.hpp"

namespace posenc::catalogue::detail {

[[noreturn]] inline void bad(const std::string& msg) { throw std::invalid_argument(msg); }

// ------------------------------------------------------------------ member type -> field type

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
constexpr bool has_enum_table = std::is_enum_v<T>;

/// The field type and conversions of a member type T (not optional).
template <class T>
struct Conv {
  static FieldType type() {
    if constexpr (std::is_same_v<T, bool>) return FieldType::boolean;
    else if constexpr (std::is_enum_v<T>) return FieldType::choice;
    else if constexpr (std::is_integral_v<T>) return FieldType::integer;
    else if constexpr (std::is_floating_point_v<T>) return FieldType::real;
    else if constexpr (std::is_same_v<T, std::string>) return FieldType::text;
    else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) return FieldType::integer_list;
    else if constexpr (std::is_same_v<T, std::vector<double>>) return FieldType::real_list;
    else if constexpr (std::is_same_v<T, Tensor>) return FieldType::tensor;
    else if constexpr (std::is_same_v<T, DTensor>) return FieldType::dtensor;
    else if constexpr (std::is_same_v<T, ITensor>) return FieldType::itensor;
    else if constexpr (std::is_same_v<T, std::vector<Tensor>>) return FieldType::tensor_list;
    else static_assert(sizeof(T) == 0, "catalogue: unsupported member type");
  }
  static std::vector<std::string> choices() {
    if constexpr (std::is_enum_v<T>) return enum_choices<T>();
    else return {};
  }
  static std::map<std::string, std::string> aliases() {
    std::map<std::string, std::string> out;
    if constexpr (std::is_enum_v<T>)
      for (const auto& e : enum_table<T>())
        for (const auto& a : e.aliases) out[normalise(a)] = e.name;
    return out;
  }
  static Value to_value(const T& v) {
    if constexpr (std::is_same_v<T, bool>) return v;
    else if constexpr (std::is_enum_v<T>) return enum_name(v);
    else if constexpr (std::is_integral_v<T>) return static_cast<std::int64_t>(v);
    else if constexpr (std::is_floating_point_v<T>) return static_cast<double>(v);
    else return v;
  }
  /// `v` already has the field's type (parse / check converted it).
  static T from_value(const Value& v, const std::string& what) {
    if constexpr (std::is_same_v<T, bool>) return std::get<bool>(v);
    else if constexpr (std::is_enum_v<T>) return enum_value<T>(std::get<std::string>(v), what);
    else if constexpr (std::is_integral_v<T>) return static_cast<T>(std::get<std::int64_t>(v));
    else if constexpr (std::is_floating_point_v<T>) return static_cast<T>(std::get<double>(v));
    else return std::get<T>(v);
  }
};

// ------------------------------------------------------------------ the type-erased entry

struct Entry {
  EntryInfo info;
  /// Build from values already converted to the fields' types (every name known).
  std::function<Built(const Values& ordered_values)> build;
  /// Set with Def::backward: the builder's vector-Jacobian product (catalogue.hpp backward()).
  std::function<Gradients(const Values& values, const Built& built, const EncodingGrad& grad)> backward;
  /// Set with Def::into: the table written into a caller's buffer (catalogue.hpp build_into()).
  std::function<void(const Values& values, std::span<float> out)> into;
};

/// Registration of the entries of one file (text.cpp, image.cpp, ...).
void add_text(std::vector<Entry>& out);
void add_rotary(std::vector<Entry>& out);
void add_relative(std::vector<Entry>& out);
void add_image(std::vector<Entry>& out);
void add_video(std::vector<Entry>& out);
void add_spectrogram(std::vector<Entry>& out);
void add_sphere(std::vector<Entry>& out);
void add_graph(std::vector<Entry>& out);
void add_tabular(std::vector<Entry>& out);

// ------------------------------------------------------------------ Def<P>

template <class P>
class Def {
 public:
  Def(std::string name, std::string summary, std::string parts, std::string source, std::string header) {
    info_.name = std::move(name);
    info_.summary = std::move(summary);
    info_.parts = std::move(parts);
    info_.source = std::move(source);
    info_.header = std::move(header);
  }

  /// Values for members the option struct leaves required (0 = unset): applied to P{} before
  /// anything else; describe() reports the struct's own default next to the catalogue's.
  Def& preset(std::function<void(P&)> f) {
    preset_ = std::move(f);
    return *this;
  }

  /// A field bound through an accessor `[](P& p) -> auto& { return p.o.member; }`.
  template <class Access>
  Def& field(const std::string& name, Access access, std::string help, std::string group = "options") {
    using M = std::remove_reference_t<decltype(access(std::declval<P&>()))>;
    using T = typename unwrap<M>::type;
    FieldInfo f;
    f.name = name;
    f.type = Conv<T>::type();
    f.choices = Conv<T>::choices();
    f.aliases = Conv<T>::aliases();
    f.help = std::move(help);
    f.group = std::move(group);
    const std::string what = info_.name + ": field '" + name + "'";
    Slot s;
    s.info = f;
    s.set = [access, what](P& p, const Value& v) { access(p) = Conv<T>::from_value(v, what); };
    s.get = [access](P& p) -> std::optional<Value> {
      if constexpr (is_optional<M>::value) {
        if (!access(p)) return std::nullopt;
        return Conv<T>::to_value(*access(p));
      } else {
        return Conv<T>::to_value(access(p));
      }
    };
    slots_.push_back(std::move(s));
    return *this;
  }
  /// A field bound to a direct member.
  template <class M>
  Def& member(const std::string& name, M P::*m, std::string help, std::string group = "options") {
    return field(name, [m](P& p) -> M& { return p.*m; }, std::move(help), std::move(group));
  }

  /// Names users type for `field` (suggested, never accepted): FieldInfo::hints.
  Def& hint(const std::string& field, std::vector<std::string> names) {
    for (auto& s : slots_)
      if (s.info.name == field) s.info.hints = std::move(names);
    return *this;
  }

  /// The builder's vector-Jacobian product: EncodingGrad -> the gradients of the tables by field.
  Def& backward(std::function<Gradients(const P&, const Built&, const EncodingGrad&)> f) {
    backward_ = std::move(f);
    info_.backward = true;
    return *this;
  }

  /// The builder's `_into` form: writes build()'s array `array` into a caller's buffer.
  Def& into(std::string array, std::function<void(const P&, std::span<float>)> f) {
    into_ = std::move(f);
    info_.into = std::move(array);
    return *this;
  }

  Def& input(std::string what) {
    info_.inputs.push_back(std::move(what));
    return *this;
  }
  Def& table(TableInfo t) {
    info_.tables.push_back(std::move(t));
    return *this;
  }
  Def& build(std::function<Built(const P&)> f) {
    build_ = std::move(f);
    return *this;
  }

  /// Reads the defaults from P{} and hands over the type-erased entry.
  Entry finish() {
    P base{}, preset{};
    if (preset_) preset_(preset);
    for (auto& s : slots_) {
      const std::optional<Value> d = s.get(preset), own = s.get(base);
      s.info.default_value = d;
      s.info.default_text = d ? value_text(*d) : "(unset)";
      const std::string own_text = own ? value_text(*own) : "(unset)";
      if (own_text != s.info.default_text) s.info.struct_default = own_text;
      info_.fields.push_back(s.info);
    }
    Entry e;
    e.info = info_;
    auto slots = std::make_shared<std::vector<Slot>>(std::move(slots_));
    auto make = [slots, pre = preset_](const Values& values) {
      P p{};
      if (pre) pre(p);
      for (const auto& s : *slots)
        if (auto it = values.find(s.info.name); it != values.end()) s.set(p, it->second);
      return p;
    };
    e.build = [make, fn = build_](const Values& values) { return fn(make(values)); };
    if (backward_)
      e.backward = [make, fn = backward_](const Values& values, const Built& b, const EncodingGrad& g) {
        return fn(make(values), b, g);
      };
    if (into_) e.into = [make, fn = into_](const Values& values, std::span<float> out) { fn(make(values), out); };
    return e;
  }

 private:
  template <class M>
  struct unwrap {
    using type = M;
  };
  template <class M>
  struct unwrap<std::optional<M>> {
    using type = M;
  };
  struct Slot {
    FieldInfo info;
    std::function<void(P&, const Value&)> set;
    std::function<std::optional<Value>(P&)> get;
  };
  EntryInfo info_;
  std::vector<Slot> slots_;
  std::function<void(P&)> preset_;
  std::function<Built(const P&)> build_;
  std::function<Gradients(const P&, const Built&, const EncodingGrad&)> backward_;
  std::function<void(const P&, std::span<float>)> into_;
};

// ------------------------------------------------------------------ shared inputs and helpers

/// Text positions: keys offset .. offset + tokens - 1, queries the last query_tokens of them.
struct TextPositions {
  std::int64_t tokens = 16;
  std::optional<std::int64_t> query_tokens;
  double offset = 0;
  std::size_t n_key() const;
  std::size_t n_query() const;
  DTensor keys() const;     ///< [1, N, 1]
  DTensor queries() const;  ///< [1, Nq, 1]
};
/// Adds the fields tokens, query_tokens and offset bound to `access(p)`.
template <class P, class Access>
Def<P>& text_positions(Def<P>& d, Access access) {
  d.input("text positions");
  d.field("tokens", [access](P& p) -> auto& { return access(p).tokens; },
          "key tokens N (positions offset .. offset+N-1); attend/apply take it from the tensors", "positions");
  d.field("query_tokens", [access](P& p) -> auto& { return access(p).query_tokens; },
          "query tokens (the last ones of the N; default N)", "positions");
  d.field("offset", [access](P& p) -> auto& { return access(p).offset; },
          "position of the first token (cached tokens before it)", "positions");
  return d;
}

/// A learnable table's usual fields: std and seed (its loading field is declared by the entry).
struct Init {
  double std = 0.02;
  std::int64_t seed = 0;
};
template <class P, class Access>
Def<P>& init_fields(Def<P>& d, Access access, const std::string& std_help = "N(0, std^2) initialisation") {
  d.field("std", [access](P& p) -> auto& { return access(p).std; }, std_help, "table");
  d.field("seed", [access](P& p) -> auto& { return access(p).seed; }, "initialisation seed", "table");
  return d;
}

Tensor drop_batch(const Tensor& t);   ///< [1, N, d] -> [N, d]
DTensor angles_2d(const DTensor& a);  ///< [1, 1, N, P] -> [N, P]
Tensor to_float(const std::vector<double>& v);
DTensor to_double(const std::vector<double>& v);
ITensor relation_2d(const Relation& r);  ///< index matrix [1, Nq, Nk] -> [Nq, Nk]
/// The last n_query rows of [1, N, A] positions.
DTensor query_rows(const DTensor& keys, std::size_t n_query);
/// An input-side Built: the part as "input_add" / "input_concat" [N, d].
Built absolute(Encoding e, bool concat = false);
std::uint64_t seed_of(std::int64_t seed);
/// The float array `stem` of a build (the table it actually used), for the backward functions.
const Tensor& built_tensor(const Built& b, const std::string& stem);

/// b with its key and query token counts set to n (the builders whose token count is the grid's or the points').
inline Built sized(Built b, std::size_t n) {
  b.tokens = b.query_tokens = n;
  return b;
}

}  // namespace posenc::catalogue::detail
