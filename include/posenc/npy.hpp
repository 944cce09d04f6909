// posenc/npy.hpp — reading and writing NumPy .npy files (little-endian, C order).
//
// Files are read into float32, float64 or int64 tensors whatever their stored
// numeric dtype (f4, f8, i4, i8, u1, b1 ...); writing goes to a temporary file
// in the same directory which is then renamed, so a failed write never leaves
// a partial file behind.
#pragma once

#include <string>

#include "posenc/tensor.hpp"

namespace posenc {

/// Load any numeric .npy as float32. Throws std::invalid_argument naming the function, the path
/// and the bad header field for a file that is not a valid .npy: the header length and the
/// shape are checked against the file's own size before anything is allocated (a file never
/// makes the reader allocate more than it holds), shape products are checked for overflow,
/// negative or non-integer dimensions are rejected. float64 values beyond float32's range load
/// as +-inf. `require_finite`: NaN or +-inf (or a float64 beyond float32) is an error naming the
/// file and the flat index; use it where the file holds learned parameters.
Tensor load_npy(const std::string& path, bool require_finite = false);
/// Load any numeric .npy as float64 (same checks; `require_finite` as above).
DTensor load_npy_double(const std::string& path, bool require_finite = false);
/// Load an integer or integral-valued .npy as int64: integer dtypes directly (uint64 above
/// INT64_MAX is an error), float dtypes only when every value is finite, integral and inside
/// the int64 range (otherwise an error naming the value and its flat index).
ITensor load_npy_int(const std::string& path);

/// What a .npy header says (npy_info): dtype and shape.
struct NpyInfo {
  std::string dtype;  ///< NumPy's name of the element type
  Shape shape;        ///< dimensions, outermost first ([] for a scalar)
};
/// Reads only the header of a .npy: dtype as NumPy names it ("float32", "float64", "int64",
/// "uint8", "bool", ...) and the shape. The same header checks as load_npy (a malformed or
/// oversized header throws std::invalid_argument naming npy_info and the path).
NpyInfo npy_info(const std::string& path);

/// Write a tensor atomically (temporary file + rename). dtype: <f4, <f8, <i8.
void save_npy(const std::string& path, const Tensor& t);
void save_npy(const std::string& path, const DTensor& t);  ///< The same for float64 (<f8).
void save_npy(const std::string& path, const ITensor& t);  ///< The same for int64 (<i8).

/// Write text atomically (temporary file + rename): used for JSON and CSV outputs.
void write_file_atomic(const std::string& path, const std::string& contents);

}  // namespace posenc
