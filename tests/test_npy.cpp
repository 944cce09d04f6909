// .npy files: round trips, dtype conversion, errors, and atomic writes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "posenc/npy.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("posenc_npy_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                                            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::create_directories(d);
  return d;
}

TEST(Npy, RoundTripsEveryDtype) {
  const fs::path d = temp_dir();
  const Tensor f = test::random_tensor({2, 3, 5}, 1);
  save_npy((d / "f.npy").string(), f);
  EXPECT_EQ(test::max_abs_diff(load_npy((d / "f.npy").string()), f), 0.0);
  DTensor g = f;
  g *= 1e-3;
  save_npy((d / "g.npy").string(), g);
  EXPECT_EQ(test::max_abs_diff(load_npy_double((d / "g.npy").string()), g), 0.0);
  ITensor i = ITensor::from_shape({7});
  for (std::size_t t = 0; t < 7; ++t) i(t) = static_cast<std::int64_t>(t) * 1000000007LL;
  save_npy((d / "i.npy").string(), i);
  EXPECT_EQ(test::max_abs_diff(load_npy_int((d / "i.npy").string()), i), 0.0);
  // float64 files load as float32; 1-d shapes keep the trailing comma convention.
  EXPECT_EQ(load_npy((d / "g.npy").string()).shape()[2], 5u);
  EXPECT_EQ(load_npy((d / "i.npy").string()).dimension(), 1u);
  fs::remove_all(d);
}

TEST(Npy, ReadsAHandWrittenNumpyHeader) {
  // Bytes as numpy 1.x writes np.array([[1, 2], [3, 4]], dtype='<i4').
  const fs::path d = temp_dir();
  std::string header = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size());
  bytes += '\0';
  bytes += header;
  const std::int32_t vals[] = {1, 2, 3, 4};
  bytes.append(reinterpret_cast<const char*>(vals), sizeof vals);
  std::ofstream((d / "h.npy").string(), std::ios::binary) << bytes;
  const Tensor t = load_npy((d / "h.npy").string());
  EXPECT_EQ(t(1, 0), 3.0f);
  EXPECT_EQ(t(1, 1), 4.0f);
  const NpyInfo info = npy_info((d / "h.npy").string());  // the header above, without the data
  EXPECT_EQ(info.dtype, "int32");
  EXPECT_EQ(info.shape, (Shape{2, 2}));
  fs::remove_all(d);
}

TEST(Npy, InfoReadsDtypeAndShapeAndChecksTheHeader) {
  const fs::path d = temp_dir();
  save_npy((d / "f.npy").string(), Tensor::from_shape({3, 1, 4}));
  save_npy((d / "i.npy").string(), ITensor::from_shape({5}));
  const NpyInfo f = npy_info((d / "f.npy").string()), i = npy_info((d / "i.npy").string());
  EXPECT_EQ(f.dtype, "float32");
  EXPECT_EQ(f.shape, (Shape{3, 1, 4}));
  EXPECT_EQ(i.dtype, "int64");
  EXPECT_EQ(i.shape, (Shape{5}));
  std::ofstream((d / "bad.npy").string(), std::ios::binary) << "not a numpy file";
  try {
    npy_info((d / "bad.npy").string());
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("npy_info"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad.npy"), std::string::npos) << e.what();
  }
  fs::remove_all(d);
}

TEST(Npy, ErrorsNameTheFile) {
  const fs::path d = temp_dir();
  test::expect_invalid([&] { load_npy((d / "missing.npy").string()); }, {"load_npy", "missing.npy"});
  std::ofstream((d / "bad.npy").string()) << "not numpy";
  test::expect_invalid([&] { load_npy((d / "bad.npy").string()); }, {"load_npy", "bad.npy", "magic"});
  test::expect_invalid([&] { save_npy((d / "nodir" / "x.npy").string(), Tensor(test::random_tensor({2}, 1))); },
                       {"write_file_atomic", "nodir"});
  // No temporary is left behind.
  std::size_t files = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(d)) ++files;
  EXPECT_EQ(files, 1u);
  fs::remove_all(d);
}

}  // namespace
}  // namespace posenc
