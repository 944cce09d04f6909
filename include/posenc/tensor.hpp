// posenc/tensor.hpp — the tensor types of the public API.
//
// This is the only public header that names xtensor. Every public tensor is
// row-major. Token grids are flattened with the last axis fastest.
//
//   Tensor   float32   activations, tables, biases            (public numbers)
//   DTensor  float64   positions, angles, frequencies         (computed in double)
//   ITensor  int64     relation indices, segment ids, lengths
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

namespace posenc {

using Tensor = xt::xarray<float>;           ///< float32: activations, tables, biases (the public numbers)
using DTensor = xt::xarray<double>;         ///< float64: positions, angles, frequencies
using ITensor = xt::xarray<std::int64_t>;   ///< int64: relation indices, segment ids, lengths
using Shape = std::vector<std::size_t>;     ///< a tensor shape, outermost axis first

/// Whether an optional tensor part is filled. A default-constructed xarray is
/// a 0-d scalar of size 1, so "unset" means no axes or no elements.
template <class T>
bool is_set(const xt::xarray<T>& t) {
  return t.dimension() > 0 && t.size() > 0;
}

/// "[2, 3, 4]" — used in error messages.
std::string shape_string(const Shape& shape);

/// The shape of a tensor as "[2, 3, 4]" (error messages).
template <class T>
std::string shape_string(const xt::xarray<T>& t) {
  return shape_string(Shape(t.shape().begin(), t.shape().end()));
}

}  // namespace posenc
