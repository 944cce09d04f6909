// posenc Python module: NumPy <-> posenc tensors, Python values <-> catalogue values.
//
// Inputs (q, k, v, x, tables): float32 arrays are read as they are (a C-contiguous array is
// copied once, with one memcpy, into the library's owning tensor: the C++ API takes owning
// xtensor arrays); float64 and float16 arrays are converted to float32; any other dtype
// (integers, booleans, complex, objects) raises TypeError naming the argument.
// Outputs: the library's tensor is moved to the heap and handed to NumPy without a copy; the
// array owns it through a capsule and never aliases an input.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <span>
#include <string>

#include "posenc/catalogue.hpp"

namespace posenc::python {

namespace py = pybind11;

/// A float32 tensor from a NumPy array (see the policy above).
Tensor to_tensor(const py::handle& obj, const char* what);
/// A float64 / int64 tensor (any real / integer dtype converted; others TypeError).
DTensor to_dtensor(const py::handle& obj, const char* what);
ITensor to_itensor(const py::handle& obj, const char* what);

/// Move a tensor into a NumPy array (no copy).
template <class T>
py::array to_numpy(xt::xarray<T>&& t) {
  auto* heap = new xt::xarray<T>(std::move(t));
  py::capsule owner(heap, [](void* p) { delete static_cast<xt::xarray<T>*>(p); });
  std::vector<py::ssize_t> shape(heap->shape().begin(), heap->shape().end());
  return py::array_t<T>(shape, heap->data(), owner);
}
/// A read-only NumPy view of a tensor that `owner` keeps alive.
template <class T>
py::array view_numpy(const xt::xarray<T>& t, const py::handle& owner) {
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  py::array_t<T> a(shape, t.data(), owner);
  py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return a;
}
py::object view_array(const catalogue::Array& a, const py::handle& owner);

/// A caller's output buffer `out` as an array: a NumPy array, C-contiguous, aligned and writeable
/// (TypeError / ValueError naming `fn` and 'out', with `types` the dtypes it may have).
py::array output_array(const py::object& out, const std::string& fn, const std::string& types);
/// Whether `a` holds T (equivalent dtypes count, as NumPy's own checks do) and, if so, its elements.
template <class T>
bool output_span(py::array& a, std::span<T>& span) {
  if (!py::array_t<T>::check_(a)) return false;
  span = std::span<T>(static_cast<T*>(a.mutable_data()), static_cast<std::size_t>(a.size()));
  return true;
}
py::object to_python(const catalogue::Value& v);

/// A Python value (bool, int, float, str, list, ndarray) as a catalogue value.
catalogue::Value to_value(const py::handle& obj, const std::string& what);

}  // namespace posenc::python
