// posenc Python module (posenc._posenc): the catalogue, the attention core and its backward,
// rotations, graph encodings and Tab-PET. The Python package (posenc/__init__.py) wraps it.
#include <pybind11/stl.h>

#include <memory>

#include "convert.hpp"
#include "parts.hpp"
#include "posenc/attention.hpp"
#include "posenc/gradients.hpp"
#include "posenc/rotary.hpp"

namespace posenc::python {

void bind_extras(py::module_& m);  // extras.cpp: graph encodings, Tab-PET

namespace {

namespace cat = catalogue;

/// A built catalogue entry, shared with Python; arrays are views it keeps alive.
struct Built {
  std::string entry;
  cat::Built b;
};

py::dict field_dict(const cat::FieldInfo& f) {
  py::dict d;
  d["name"] = f.name;
  d["type"] = f.type == cat::FieldType::choice ? std::string("choice") : cat::type_name(f.type);
  d["choices"] = f.choices;
  d["default"] = f.default_value ? to_python(*f.default_value) : py::none();
  d["default_text"] = f.default_text;
  d["struct_default"] = f.struct_default ? py::cast(*f.struct_default) : py::none();
  d["help"] = f.help;
  d["group"] = f.group;
  return d;
}

py::dict entry_dict(const cat::EntryInfo& e) {
  py::dict d;
  d["name"] = e.name;
  d["summary"] = e.summary;
  d["parts"] = e.parts;
  d["source"] = e.source;
  d["header"] = e.header;
  d["inputs"] = e.inputs;
  py::list fields, tables;
  for (const auto& f : e.fields) fields.append(field_dict(f));
  for (const auto& t : e.tables)
    tables.append(py::dict(py::arg("field") = t.field, py::arg("array") = t.array, py::arg("shape") = t.shape,
                           py::arg("initialiser") = t.initialiser, py::arg("std_field") = t.std_field,
                           py::arg("seed_field") = t.seed_field, py::arg("part") = t.part));
  d["fields"] = fields;
  d["tables"] = tables;
  d["into"] = e.into;
  return d;
}

cat::Values typed_values(const std::string& name, const py::dict& params) {
  cat::Values typed;
  for (const auto& [k, v] : params) {
    if (v.is_none()) continue;
    const std::string key = py::str(k);
    typed[key] = to_value(v, name + ": field '" + key + "'");
  }
  return typed;
}

std::shared_ptr<Built> encode(const std::string& name, const py::dict& params) {
  const cat::Values typed = typed_values(name, params);
  auto out = std::make_shared<Built>();
  out->entry = cat::describe(name).name;
  py::gil_scoped_release release;
  out->b = cat::build(name, cat::check(name, typed));
  return out;
}

/// catalogue::build_into on a caller's NumPy buffer: float32, C-contiguous and writeable (else
/// TypeError / ValueError naming 'out'); its size is checked by the library (both sizes named).
void encode_into(const std::string& name, const py::dict& params, const py::object& out) {
  py::array a = output_array(out, "posenc.encode_into", "float32");
  std::span<float> buf;
  if (!output_span(a, buf))
    throw py::type_error("posenc.encode_into: 'out' must have dtype float32, got " + std::string(py::str(a.dtype())));
  const cat::Values typed = typed_values(name, params);
  py::gil_scoped_release release;
  try {
    cat::build_into(name, buf, typed);
  } catch (const std::invalid_argument& e) {  // name the call the user made, then the builder's message
    const std::string what = e.what(), inner = "build_into";  // "build_into('NAME'): ..." from the catalogue
    throw std::invalid_argument("posenc.encode_into" + (what.rfind(inner + "('", 0) == 0
                                                            ? what.substr(inner.size())
                                                            : ": " + what));
  }
}

py::dict arrays_of(const py::object& self) {
  const auto& b = self.cast<const Built&>().b;
  py::dict d;
  for (const auto& [k, a] : b.arrays) d[py::str(k)] = view_array(a, self);
  return d;
}

py::dict parts_of(const py::object& self) {
  auto& e = self.cast<Built&>().b.encoding;
  py::dict d;
  for_each_part(e, [&](const std::string& path, const auto& t) {
    if (is_set(t)) d[py::str(path)] = view_numpy(t, self);
  });
  return d;
}

py::dict metadata_of(const Built& b) {
  py::dict d;
  for (const auto& [k, v] : b.b.metadata) d[py::str(k)] = to_python(v);
  if (b.b.encoding.scale) d["logit_scale"] = *b.b.encoding.scale;
  if (!b.b.encoding.rotation.empty()) {
    d["pairs"] = b.b.encoding.rotation.pairs;
    d["pair_layout"] = cat::enum_name(b.b.encoding.rotation.layout);
    d["magnitude"] = b.b.encoding.rotation.magnitude;
  }
  return d;
}

/// The encoding with some parts replaced (posenc.torch passes its parameters here).
Encoding with_parts(const Encoding& base, const py::dict& parts) {
  Encoding e = base;
  std::vector<std::string> known;
  for (const auto& [k, v] : parts) {
    const std::string path = py::str(k);
    bool found = false;
    for_each_part(e, [&](const std::string& p, auto& t) {
      if (p != path) return;
      using T = std::decay_t<decltype(t)>;
      if (!is_set(t)) throw std::invalid_argument("posenc.attention: part '" + path + "' is empty in this encoding");
      T given = std::is_same_v<T, Tensor> ? T(to_tensor(v, path.c_str())) : T(to_dtensor(v, path.c_str()));
      if (given.shape() != t.shape())
        throw std::invalid_argument("posenc.attention: part '" + path + "' must have shape " + shape_string(t) + ", got " +
                                    shape_string(given));
      t = std::move(given);
      found = true;
    });
    if (!found) {
      for_each_part(e, [&](const std::string& p, const auto& t) {
        if (is_set(t)) known.push_back(p);
      });
      const std::string guess = cat::closest(path, known);
      throw std::invalid_argument("posenc.attention: unknown part '" + path + "'" +
                                  (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
    }
  }
  return e;
}

AttentionOptions options_of(bool causal, const py::object& key_lengths, const py::object& query_segments,
                            const py::object& key_segments, const py::object& scale, int threads) {
  AttentionOptions o;
  o.mask.causal = causal;
  if (!key_lengths.is_none()) {
    const ITensor l = to_itensor(key_lengths, "key_lengths");
    o.mask.key_lengths.assign(l.begin(), l.end());
  }
  if (!query_segments.is_none()) o.mask.query_segments = to_itensor(query_segments, "segments");
  if (!key_segments.is_none()) o.mask.key_segments = to_itensor(key_segments, "segments");
  if (!scale.is_none()) o.scale = scale.cast<double>();
  o.threads = threads;
  return o;
}

const Encoding& encoding_of(const py::object& enc, const Encoding& none) {
  return enc.is_none() ? none : enc.cast<const Built&>().b.encoding;
}

py::tuple attention_forward(const py::object& q, const py::object& k, const py::object& v, const py::object& enc,
                            const py::dict& parts, bool causal, const py::object& key_lengths, const py::object& qseg,
                            const py::object& kseg, const py::object& scale, int threads, bool reference) {
  const Encoding none;
  const Encoding e = with_parts(encoding_of(enc, none), parts);
  const AttentionOptions o = options_of(causal, key_lengths, qseg, kseg, scale, threads);
  Tensor tq = to_tensor(q, "q"), tk = to_tensor(k, "k"), tv = to_tensor(v, "v"), out;
  AttentionStats stats;
  {
    py::gil_scoped_release release;
    out = reference ? attention_reference(tq, tk, tv, e, o, &stats) : attention(tq, tk, tv, e, o, &stats);
  }
  return py::make_tuple(to_numpy(std::move(out)), to_numpy(std::move(stats.log_sum_exp)));
}

py::tuple attention_backward_py(const py::object& q, const py::object& k, const py::object& v, const py::object& enc,
                                const py::dict& parts, bool causal, const py::object& key_lengths, const py::object& qseg,
                                const py::object& kseg, const py::object& scale, int threads, const py::object& out,
                                const py::object& lse, const py::object& d_out, const std::vector<std::string>& wanted) {
  const Encoding none;
  const Encoding e = with_parts(encoding_of(enc, none), parts);
  const AttentionOptions o = options_of(causal, key_lengths, qseg, kseg, scale, threads);
  const Tensor tq = to_tensor(q, "q"), tk = to_tensor(k, "k"), tv = to_tensor(v, "v");
  const Tensor to = to_tensor(out, "out"), dout = to_tensor(d_out, "d_out");
  AttentionStats stats{to_tensor(lse, "log_sum_exp")};
  AttentionGrads g;
  {
    py::gil_scoped_release release;
    g = attention_backward(tq, tk, tv, e, o, to, stats, dout, wanted.empty() ? GradRequest{} : GradRequest::all(e));
  }
  py::dict grads;
  for_each_part(g.encoding, [&](const std::string& path, auto& t) {
    if (std::find(wanted.begin(), wanted.end(), path) == wanted.end()) return;
    using T = std::decay_t<decltype(t)>;
    if (!is_set(t)) throw std::invalid_argument("posenc.attention: no gradient for part '" + path + "'");
    grads[py::str(path)] = to_numpy(T(std::move(t)));
  });
  return py::make_tuple(to_numpy(std::move(g.dq)), to_numpy(std::move(g.dk)), to_numpy(std::move(g.dv)), grads);
}

/// The rotation of a built encoding and the side named by `side`, for the function `fn`.
std::pair<const Rotation*, RotarySide> rotation_side(const py::object& enc, const std::string& side,
                                                     const std::string& fn) {
  const Encoding& e = enc.cast<const Built&>().b.encoding;
  if (e.rotation.empty()) throw std::invalid_argument(fn + ": encoding '" + e.name + "' has no rotation");
  if (side != "query" && side != "key")
    throw std::invalid_argument(fn + ": parameter 'side' must be 'query' or 'key', got '" + side + "'");
  return {&e.rotation, side == "query" ? RotarySide::query : RotarySide::key};
}

py::array apply_rotation(const py::object& x, const py::object& enc, const std::string& side) {
  const auto [rotation, s] = rotation_side(enc, side, "posenc.apply_rotation");
  Tensor t = to_tensor(x, "x"), out;
  {
    py::gil_scoped_release release;
    out = apply_rotary(t, *rotation, s);
  }
  return to_numpy(std::move(out));
}

/// cos and sin of a rotation for one side: new float32 arrays [batch, heads, tokens, pairs], or
/// written into the caller's (cos, sin) buffers of that size (float32, C order, writeable).
py::tuple rotary_table_py(const py::object& enc, const std::string& side, const py::object& out) {
  const std::string fn = "posenc.rotary_table";
  const auto [rotation, s] = rotation_side(enc, side, fn);
  const DTensor& angles = s == RotarySide::query ? rotation->query_angles : rotation->key_angles;
  py::array c, sn;
  if (out.is_none()) {
    const std::vector<py::ssize_t> shape(angles.shape().begin(), angles.shape().end());
    c = py::array_t<float>(shape);
    sn = py::array_t<float>(shape);
  } else {
    if (!py::isinstance<py::tuple>(out) && !py::isinstance<py::list>(out))
      throw py::type_error(fn + ": parameter 'out' must be a (cos, sin) pair of arrays, got " +
                           std::string(py::str(py::type::of(out).attr("__name__"))));
    const py::sequence pair = out;
    if (pair.size() != 2)
      throw py::type_error(fn + ": parameter 'out' must be a (cos, sin) pair of arrays, got " +
                           std::to_string(pair.size()) + " items");
    c = output_array(pair[0], fn, "float32");
    sn = output_array(pair[1], fn, "float32");
  }
  std::span<float> cs, ss;
  if (!output_span(c, cs) || !output_span(sn, ss))
    throw py::type_error(fn + ": 'out' arrays must have dtype float32, got " + std::string(py::str(c.dtype())) +
                         " and " + std::string(py::str(sn.dtype())));
  if (cs.size() != angles.size() || ss.size() != angles.size())
    throw std::invalid_argument(fn + ": parameter 'out' must be two arrays of batch x heads x tokens x pairs = " +
                                shape_string(angles) + " = " + std::to_string(angles.size()) +
                                " elements each, got " + std::to_string(cs.size()) + " and " +
                                std::to_string(ss.size()));
  {
    py::gil_scoped_release release;
    try {
      rotary_table_into(*rotation, s, cs, ss);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(fn + ": " + e.what());
    }
  }
  return py::make_tuple(c, sn);
}

}  // namespace

}  // namespace posenc::python

PYBIND11_MODULE(_posenc, m) {
  using namespace posenc::python;
  namespace cat = posenc::catalogue;
  m.doc() = "posenc: positional encodings for transformers (C++ core)";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const py::builtin_exception& e) {  // TypeError & co. raised by the binding itself
      e.set_error();
    } catch (const std::runtime_error& e) {  // the library's numerical errors: ValueError, as its caller errors
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  m.def("names", &cat::names, "every catalogue entry's name");
  m.def("entries", [] {
    py::list l;
    for (const auto& e : cat::entries()) l.append(entry_dict(e));
    return l;
  });
  m.def("describe", [](const std::string& n) { return entry_dict(cat::describe(n)); }, py::arg("name"));
  m.def("help_text", &cat::help_text, py::arg("name"));
  m.def("parse", [](const std::string& n, const std::map<std::string, std::string>& text) {
    py::dict d;
    for (const auto& [k, v] : cat::parse(n, text)) d[py::str(k)] = to_python(v);
    return d;
  });
  py::class_<Built, std::shared_ptr<Built>>(m, "Built")
      .def_property_readonly("entry", [](const Built& b) { return b.entry; })
      .def_property_readonly("name", [](const Built& b) { return b.b.encoding.name; })
      .def_property_readonly("tokens", [](const Built& b) { return b.b.tokens; })
      .def_property_readonly("query_tokens", [](const Built& b) { return b.b.query_tokens; })
      .def_property_readonly("arrays", &arrays_of)
      .def_property_readonly("parts", &parts_of)
      .def_property_readonly("metadata", &metadata_of)
      .def("array_names", [](const Built& b) {
        std::vector<std::string> n;
        for (const auto& [k, a] : b.b.arrays) n.push_back(k);
        return n;
      });
  m.def("encode", &encode, py::arg("name"), py::arg("params"));
  m.def("encode_into", &encode_into, py::arg("name"), py::arg("params"), py::arg("out"));
  m.def("attention_forward", &attention_forward, py::arg("q"), py::arg("k"), py::arg("v"), py::arg("encoding"),
        py::arg("parts"), py::arg("causal"), py::arg("key_lengths"), py::arg("query_segments"), py::arg("key_segments"),
        py::arg("scale"), py::arg("threads"), py::arg("reference") = false);
  m.def("attention_backward", &attention_backward_py, py::arg("q"), py::arg("k"), py::arg("v"), py::arg("encoding"),
        py::arg("parts"), py::arg("causal"), py::arg("key_lengths"), py::arg("query_segments"), py::arg("key_segments"),
        py::arg("scale"), py::arg("threads"), py::arg("out"), py::arg("log_sum_exp"), py::arg("d_out"), py::arg("wanted"));
  m.def("apply_rotation", &apply_rotation, py::arg("x"), py::arg("encoding"), py::arg("side") = "query");
  m.def("rotary_table", &rotary_table_py, py::arg("encoding"), py::arg("side"), py::arg("out"));
  bind_extras(m);
}
