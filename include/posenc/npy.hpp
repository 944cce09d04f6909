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

/// Load any numeric .npy as float32. Throws std::invalid_argument (bad file) naming the path.
Tensor load_npy(const std::string& path);
/// Load any numeric .npy as float64.
DTensor load_npy_double(const std::string& path);
/// Load an integer or integral-valued .npy as int64.
ITensor load_npy_int(const std::string& path);

/// Write a tensor atomically (temporary file + rename). dtype: <f4, <f8, <i8.
void save_npy(const std::string& path, const Tensor& t);
void save_npy(const std::string& path, const DTensor& t);
void save_npy(const std::string& path, const ITensor& t);

/// Write text atomically (temporary file + rename): used for JSON and CSV outputs.
void write_file_atomic(const std::string& path, const std::string& contents);

}  // namespace posenc
