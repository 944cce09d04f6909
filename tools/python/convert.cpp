#include "convert.hpp"

#include <pybind11/stl.h>

#include <cstring>

namespace posenc::python {

namespace {

py::dtype dtype_of(const py::array& a) { return a.dtype(); }

[[noreturn]] void type_error(const std::string& what, const std::string& expected, const py::handle& obj) {
  std::string got = py::str(py::type::of(obj).attr("__name__"));
  if (py::isinstance<py::array>(obj)) got = "array of dtype " + std::string(py::str(obj.attr("dtype")));
  throw py::type_error(what + ": expected " + expected + ", got " + got);
}

template <class T>
xt::xarray<T> copy_from(const py::array& a) {
  // A C-contiguous array of the right dtype: one memcpy; anything else: NumPy makes it so first.
  auto c = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(a);
  std::vector<std::size_t> shape(c.shape(), c.shape() + c.ndim());
  xt::xarray<T> t = xt::xarray<T>::from_shape(shape);
  if (t.size()) std::memcpy(t.data(), c.data(), t.size() * sizeof(T));
  return t;
}

}  // namespace

py::array output_array(const py::object& out, const std::string& fn, const std::string& types) {
  if (!py::isinstance<py::array>(out))
    throw py::type_error(fn + ": 'out' must be a NumPy array of " + types + ", got " +
                         std::string(py::str(py::type::of(out).attr("__name__"))));
  auto a = py::reinterpret_borrow<py::array>(out);
  const int flags = py::detail::array_proxy(a.ptr())->flags;
  if (!(flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_)) throw py::value_error(fn + ": 'out' must be C-contiguous");
  if (!(flags & py::detail::npy_api::NPY_ARRAY_ALIGNED_)) throw py::value_error(fn + ": 'out' must be aligned");
  if (!(flags & py::detail::npy_api::NPY_ARRAY_WRITEABLE_)) throw py::value_error(fn + ": 'out' must be writeable");
  return a;
}

Tensor to_tensor(const py::handle& obj, const char* what) {
  if (!py::isinstance<py::array>(obj)) type_error(what, "a NumPy float32 array", obj);
  const py::array a = py::reinterpret_borrow<py::array>(obj);
  const char kind = dtype_of(a).kind();
  if (kind != 'f') type_error(what, "a floating-point array (float32; float64 and float16 are converted)", obj);
  return copy_from<float>(a);
}

DTensor to_dtensor(const py::handle& obj, const char* what) {
  if (!py::isinstance<py::array>(obj)) type_error(what, "a NumPy array of real numbers", obj);
  const py::array a = py::reinterpret_borrow<py::array>(obj);
  const char kind = dtype_of(a).kind();
  if (kind != 'f' && kind != 'i' && kind != 'u') type_error(what, "an array of real numbers", obj);
  return copy_from<double>(a);
}

ITensor to_itensor(const py::handle& obj, const char* what) {
  if (!py::isinstance<py::array>(obj)) type_error(what, "a NumPy integer array", obj);
  const py::array a = py::reinterpret_borrow<py::array>(obj);
  const char kind = dtype_of(a).kind();
  if (kind != 'i' && kind != 'u' && kind != 'b') type_error(what, "an integer array", obj);
  return copy_from<std::int64_t>(a);
}

py::object view_array(const catalogue::Array& a, const py::handle& owner) {
  return std::visit([&](const auto& t) -> py::object { return view_numpy(t, owner); }, a);
}

py::object to_python(const catalogue::Value& v) {
  return std::visit(
      [](const auto& x) -> py::object {
        using V = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<V, Tensor> || std::is_same_v<V, DTensor> || std::is_same_v<V, ITensor>)
          return to_numpy(V(x));
        else if constexpr (std::is_same_v<V, std::vector<Tensor>>) {
          py::list l;
          for (const auto& t : x) l.append(to_numpy(Tensor(t)));
          return l;
        } else
          return py::cast(x);
      },
      v);
}

catalogue::Value to_value(const py::handle& obj, const std::string& what) {
  if (py::isinstance<py::bool_>(obj)) return obj.cast<bool>();
  if (py::isinstance<py::int_>(obj)) return obj.cast<std::int64_t>();
  if (py::isinstance<py::float_>(obj)) return obj.cast<double>();
  if (py::isinstance<py::str>(obj)) return obj.cast<std::string>();
  if (py::isinstance<py::array>(obj)) {
    const py::array a = py::reinterpret_borrow<py::array>(obj);
    const char kind = a.dtype().kind();
    if (kind == 'f' && a.dtype().itemsize() == 8) return to_dtensor(obj, what.c_str());
    if (kind == 'f') return to_tensor(obj, what.c_str());
    if (kind == 'i' || kind == 'u' || kind == 'b') return to_itensor(obj, what.c_str());
    type_error(what, "a numeric array", obj);
  }
  if (py::isinstance<py::list>(obj) || py::isinstance<py::tuple>(obj)) {
    const py::sequence s = py::reinterpret_borrow<py::sequence>(obj);
    bool ints = true, arrays = s.size() > 0;
    for (const auto& item : s) {
      ints = ints && py::isinstance<py::int_>(item) && !py::isinstance<py::bool_>(item);
      arrays = arrays && py::isinstance<py::array>(item);
    }
    if (arrays) {
      std::vector<Tensor> out;
      for (const auto& item : s) out.push_back(to_tensor(item, what.c_str()));
      return out;
    }
    if (ints) return s.cast<std::vector<std::int64_t>>();
    for (const auto& item : s)
      if (!py::isinstance<py::int_>(item) && !py::isinstance<py::float_>(item))
        type_error(what, "a list of numbers", item);
    return s.cast<std::vector<double>>();
  }
  type_error(what, "a bool, int, float, str, list or NumPy array", obj);
}

}  // namespace posenc::python
