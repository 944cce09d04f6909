// posenc/datasets.hpp: the shipped scikit-learn tables (examples/data/sklearn) and the CSV loader.
//
// Oracles, independent of the loader and of the export script:
//  - sample, attribute and class counts and the min/max summary statistics printed in
//    scikit-learn 1.2.1's sklearn/datasets/descr/*.rst (digits, wine_data, breast_cancer, iris,
//    diabetes, linnerud);
//  - the digits test set's per-class counts 0..4 from the UCI repository's page of the dataset
//    (archive.ics.uci.edu/dataset/80: "No of examples in testing set 0: 178 1: 182 2: 177 3: 183 4: 181");
//  - first rows copied by hand from scikit-learn's own data files (sklearn/datasets/data/:
//    wine_data.csv, breast_cancer.csv, iris.csv, diabetes_data_raw.csv.gz, diabetes_target.csv.gz,
//    digits.csv.gz, linnerud_exercise.csv, linnerud_physiological.csv).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "posenc/datasets.hpp"
#include "support/helpers.hpp"

namespace posenc::train {
namespace {

using posenc::test::expect_invalid;

std::map<std::int64_t, std::int64_t> class_counts(const TableData& d) {
  std::map<std::int64_t, std::int64_t> counts;
  for (std::size_t i = 0; i < d.targets.size(); ++i) ++counts[static_cast<std::int64_t>(d.targets(i))];
  return counts;
}

/// min and max of feature column `name`.
std::pair<float, float> column_range(const TableData& d, const std::string& name) {
  const auto it = std::find(d.columns.begin(), d.columns.end(), name);
  EXPECT_NE(it, d.columns.end()) << name;
  if (it == d.columns.end()) return {0.0f, 0.0f};
  const auto f = static_cast<std::size_t>(it - d.columns.begin());
  float lo = d.features(0, f), hi = lo;
  for (std::size_t s = 0; s < d.size(); ++s) {
    lo = std::min(lo, d.features(s, f));
    hi = std::max(hi, d.features(s, f));
  }
  return {lo, hi};
}

void expect_row(const TableData& d, std::size_t row, const std::vector<float>& values) {
  ASSERT_EQ(values.size(), d.feature_count());
  for (std::size_t f = 0; f < values.size(); ++f) EXPECT_EQ(d.features(row, f), values[f]) << d.columns[f];
}

/// A scratch folder per test (ctest runs test cases as parallel processes).
struct Scratch {
  std::filesystem::path dir;
  explicit Scratch(const std::string& tag)
      : dir(std::filesystem::temp_directory_path() / ("posenc_datasets_" + tag + "_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(dir);
  }
  ~Scratch() { std::filesystem::remove_all(dir); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream((dir / name).string()) << text;
    return (dir / name).string();
  }
};

TEST(Dataset, Names) {
  EXPECT_EQ(dataset_names(), (std::vector<std::string>{"breast_cancer", "diabetes", "digits", "iris", "linnerud", "wine"}));
  for (const auto& name : dataset_names()) {
    const DatasetInfo info = dataset_info(name);
    EXPECT_EQ(info.name, name);
    EXPECT_EQ(info.file, name + ".csv");
    EXPECT_FALSE(info.description.empty());
  }
}

TEST(Dataset, DataDirectory) {
  const char* old = std::getenv("POSENC_DATA_DIR");
  const std::string saved = old ? old : "";
  ::unsetenv("POSENC_DATA_DIR");
  const std::string dir = data_directory();
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(dir) / "digits.csv")) << dir;
  EXPECT_EQ(std::filesystem::path(dir).filename(), "sklearn") << dir;
  {
    Scratch s("dir");
    ::setenv("POSENC_DATA_DIR", s.dir.c_str(), 1);
    EXPECT_EQ(data_directory(), s.dir.string());
    expect_invalid([] { load_dataset("iris"); }, {"load_dataset", "iris.csv", "POSENC_DATA_DIR"});
    // A file of the wrong size under the right name is refused.
    s.write("iris.csv", "a,b,target\n1,2,0\n3,4,1\n");
    expect_invalid([] { load_dataset("iris"); }, {"load_dataset", "2 rows x 2 features", "150 x 4"});
  }
  if (old) ::setenv("POSENC_DATA_DIR", saved.c_str(), 1);
  else ::unsetenv("POSENC_DATA_DIR");
}

TEST(Dataset, Digits) {
  const TableData d = load_dataset("digits");
  // descr/digits.rst: 1797 instances, 64 attributes (8x8 image of integer pixels 0..16), 10 classes.
  EXPECT_EQ(d.name, "digits");
  ASSERT_EQ(d.size(), 1797u);
  ASSERT_EQ(d.feature_count(), 64u);
  EXPECT_TRUE(d.classification);
  EXPECT_EQ(d.classes, 10);
  EXPECT_EQ(d.class_names.front(), "0");
  EXPECT_EQ(d.columns.front(), "pixel_0_0");
  EXPECT_EQ(d.columns[9], "pixel_1_1");
  EXPECT_EQ(d.columns.back(), "pixel_7_7");
  EXPECT_EQ(d.target_column, "target");
  EXPECT_EQ(xt::amin(d.features)(), 0.0f);
  EXPECT_EQ(xt::amax(d.features)(), 16.0f);
  for (float v : d.features) EXPECT_EQ(v, std::floor(v));
  const auto counts = class_counts(d);
  ASSERT_EQ(counts.size(), 10u);
  // UCI: the test set's classes 0..4.
  EXPECT_EQ(counts.at(0), 178);
  EXPECT_EQ(counts.at(1), 182);
  EXPECT_EQ(counts.at(2), 177);
  EXPECT_EQ(counts.at(3), 183);
  EXPECT_EQ(counts.at(4), 181);
  // sklearn/datasets/data/digits.csv.gz, first row: a 0.
  expect_row(d, 0, {0, 0, 5,  13, 9, 1,  0,  0, 0, 0, 13, 15, 10, 15, 5,  0, 0, 3,  15, 2, 0, 11,
                    8, 0, 0,  4,  12, 0, 0, 8, 8, 0,  0,  5,  8,  0, 0,  9, 8, 0,  0,  4, 11, 0, 1,
                    12, 7, 0, 0, 2,  14, 5, 10, 12, 0, 0, 0, 0,  6,  13, 10, 0, 0, 0});
  EXPECT_EQ(d.targets(0), 0.0f);
  const ITensor labels = d.labels();
  ASSERT_EQ(labels.size(), 1797u);
  EXPECT_EQ(labels(0), 0);
  EXPECT_EQ(labels(1), 1);  // digits.csv.gz, second row: a 1
  // As images: row-major 8 x 8.
  const Tensor images = table_images(d, 8, 8);
  ASSERT_EQ(images.shape(), (Tensor::shape_type{1797, 8, 8}));
  EXPECT_EQ(images(0, 0, 2), 5.0f);
  EXPECT_EQ(images(0, 1, 2), 13.0f);
  EXPECT_EQ(images(0, 7, 4), 10.0f);
  EXPECT_EQ(images(1796, 7, 7), d.features(1796, 63));
}

TEST(Dataset, Wine) {
  const TableData d = load_dataset("wine");
  // descr/wine_data.rst: 178 instances, 13 numeric attributes, class_0 (59), class_1 (71), class_2 (48).
  ASSERT_EQ(d.size(), 178u);
  ASSERT_EQ(d.feature_count(), 13u);
  EXPECT_TRUE(d.classification);
  EXPECT_EQ(d.classes, 3);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"class_0", "class_1", "class_2"}));
  EXPECT_EQ(class_counts(d), (std::map<std::int64_t, std::int64_t>{{0, 59}, {1, 71}, {2, 48}}));
  EXPECT_EQ(d.columns.front(), "alcohol");
  EXPECT_EQ(d.columns[11], "od280/od315_of_diluted_wines");
  // Summary statistics: Magnesium 70..162, Proline 278..1680, Malic acid 0.74..5.80, Hue 0.48..1.71.
  EXPECT_EQ(column_range(d, "magnesium"), std::make_pair(70.0f, 162.0f));
  EXPECT_EQ(column_range(d, "proline"), std::make_pair(278.0f, 1680.0f));
  EXPECT_EQ(column_range(d, "malic_acid"), std::make_pair(0.74f, 5.80f));
  EXPECT_EQ(column_range(d, "hue"), std::make_pair(0.48f, 1.71f));
  // wine_data.csv, first row.
  expect_row(d, 0, {14.23f, 1.71f, 2.43f, 15.6f, 127, 2.8f, 3.06f, 0.28f, 2.29f, 5.64f, 1.04f, 3.92f, 1065});
  EXPECT_EQ(d.targets(0), 0.0f);
  EXPECT_EQ(d.targets(177), 2.0f);
}

TEST(Dataset, BreastCancer) {
  const TableData d = load_dataset("breast_cancer");
  // descr/breast_cancer.rst: 569 instances, 30 attributes, 212 malignant, 357 benign.
  ASSERT_EQ(d.size(), 569u);
  ASSERT_EQ(d.feature_count(), 30u);
  EXPECT_EQ(d.classes, 2);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"malignant", "benign"}));
  EXPECT_EQ(class_counts(d), (std::map<std::int64_t, std::int64_t>{{0, 212}, {1, 357}}));
  EXPECT_EQ(d.columns.front(), "mean radius");
  EXPECT_EQ(d.columns[10], "radius error");
  EXPECT_EQ(d.columns[20], "worst radius");
  // Summary statistics (the ones printed exactly): radius (mean) 6.981..28.11, area (worst) 185.2..4254.0,
  // concavity (mean) 0.0..0.427 (0.4268 in the data, printed to 3 digits).
  EXPECT_EQ(column_range(d, "mean radius"), std::make_pair(6.981f, 28.11f));
  EXPECT_EQ(column_range(d, "worst area"), std::make_pair(185.2f, 4254.0f));
  EXPECT_EQ(column_range(d, "mean concavity").first, 0.0f);
  EXPECT_NEAR(column_range(d, "mean concavity").second, 0.427f, 5e-4f);
  // breast_cancer.csv, first row (malignant).
  expect_row(d, 0, {17.99f, 10.38f,  122.8f,  1001,    0.1184f, 0.2776f, 0.3001f, 0.1471f,  0.2419f, 0.07871f,
                    1.095f, 0.9053f, 8.589f,  153.4f,  0.006399f, 0.04904f, 0.05373f, 0.01587f, 0.03003f, 0.006193f,
                    25.38f, 17.33f,  184.6f,  2019,    0.1622f, 0.6656f, 0.7119f, 0.2654f,  0.4601f, 0.1189f});
  EXPECT_EQ(d.targets(0), 0.0f);
}

TEST(Dataset, Iris) {
  const TableData d = load_dataset("iris");
  // descr/iris.rst: 150 instances (50 in each of three classes), 4 attributes; sepal length 4.3..7.9,
  // sepal width 2.0..4.4, petal length 1.0..6.9, petal width 0.1..2.5.
  ASSERT_EQ(d.size(), 150u);
  ASSERT_EQ(d.feature_count(), 4u);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
  EXPECT_EQ(class_counts(d), (std::map<std::int64_t, std::int64_t>{{0, 50}, {1, 50}, {2, 50}}));
  EXPECT_EQ(column_range(d, "sepal length (cm)"), std::make_pair(4.3f, 7.9f));
  EXPECT_EQ(column_range(d, "sepal width (cm)"), std::make_pair(2.0f, 4.4f));
  EXPECT_EQ(column_range(d, "petal length (cm)"), std::make_pair(1.0f, 6.9f));
  EXPECT_EQ(column_range(d, "petal width (cm)"), std::make_pair(0.1f, 2.5f));
  expect_row(d, 0, {5.1f, 3.5f, 1.4f, 0.2f});  // iris.csv
  expect_row(d, 1, {4.9f, 3.0f, 1.4f, 0.2f});
}

TEST(Dataset, Diabetes) {
  const TableData d = load_dataset("diabetes");
  // descr/diabetes.rst: 442 instances, 10 numeric predictive columns, a quantitative target.
  ASSERT_EQ(d.size(), 442u);
  ASSERT_EQ(d.feature_count(), 10u);
  EXPECT_FALSE(d.classification);
  EXPECT_EQ(d.classes, 0);
  EXPECT_TRUE(d.class_names.empty());
  EXPECT_EQ(d.columns, (std::vector<std::string>{"age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"}));
  // The raw (unscaled) copy: diabetes_data_raw.csv.gz and diabetes_target.csv.gz, first rows.
  expect_row(d, 0, {59, 2, 32.1f, 101.0f, 157, 93.2f, 38.0f, 4.0f, 4.8598f, 87});
  expect_row(d, 1, {48, 1, 21.6f, 87.0f, 183, 103.2f, 70.0f, 3.0f, 3.8918f, 69});
  EXPECT_EQ(d.targets(0), 151.0f);
  EXPECT_EQ(d.targets(1), 75.0f);
  EXPECT_EQ(d.targets(2), 141.0f);
  for (std::size_t s = 0; s < d.size(); ++s) EXPECT_TRUE(d.features(s, 1) == 1.0f || d.features(s, 1) == 2.0f);
  expect_invalid([&] { (void)d.labels(); }, {"TableData::labels", "regression"});
}

TEST(Dataset, Linnerud) {
  // descr/linnerud.rst: 20 instances, 3 exercise variables (Chins, Situps, Jumps), 3 physiological
  // targets (Weight, Waist, Pulse). linnerud_exercise.csv / linnerud_physiological.csv, first row:
  // 5 162 60 / 191 36 50.
  const TableData w = load_dataset("linnerud");
  ASSERT_EQ(w.size(), 20u);
  EXPECT_EQ(w.columns, (std::vector<std::string>{"Chins", "Situps", "Jumps"}));
  EXPECT_EQ(w.target_column, "Weight");
  EXPECT_FALSE(w.classification);
  expect_row(w, 0, {5, 162, 60});
  EXPECT_EQ(w.targets(0), 191.0f);
  const TableData p = load_dataset("linnerud", "Pulse");
  EXPECT_EQ(p.columns, w.columns);
  EXPECT_EQ(p.targets(0), 50.0f);
  EXPECT_EQ(load_dataset("linnerud", "Waist").targets(0), 36.0f);
  expect_invalid([] { load_dataset("linnerud", "weight"); }, {"load_dataset", "'target_column'", "did you mean 'Weight'"});
  expect_invalid([] { load_dataset("wine", "class"); }, {"load_dataset", "'target_column' = 'class'", "not a target"});
}

TEST(Dataset, UnknownName) {
  expect_invalid([] { load_dataset("digit"); }, {"load_dataset", "parameter 'name' = 'digit'", "did you mean 'digits'"});
  expect_invalid([] { load_dataset("breast-cancer"); }, {"did you mean 'breast_cancer'"});
  expect_invalid([] { dataset_info("mnist"); }, {"dataset_info", "'mnist'", "wine"});
}

TEST(Dataset, TableCsv) {
  Scratch s("csv");
  // Text target: classes are the labels sorted as strings.
  const TableData t = load_table_csv(s.write("text.csv", "x,y,label\n1,2,dog\n3,4,cat\n5,6,dog\n"), "label");
  EXPECT_EQ(t.columns, (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(t.classification);
  EXPECT_EQ(t.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(t.targets(0), 1.0f);
  EXPECT_EQ(t.targets(1), 0.0f);
  EXPECT_EQ(t.features(2, 1), 6.0f);
  // The target need not be last; automatic: 0 .. K-1 all present -> classification.
  const TableData c = load_table_csv(s.write("ids.csv", "target,a\n1,0.5\n0,1.5\n2,2.5\n1,3.5\n"));
  EXPECT_TRUE(c.classification);
  EXPECT_EQ(c.classes, 3);
  EXPECT_EQ(c.class_names, (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(c.features(3, 0), 3.5f);
  // ... otherwise regression (1..3, 0 absent), unless classification is asked for.
  const std::string gaps = s.write("gaps.csv", "a,target\n1,1\n2,3\n3,2\n");
  EXPECT_FALSE(load_table_csv(gaps).classification);
  const TableData g = load_table_csv(gaps, "target", TargetKind::classification);
  EXPECT_TRUE(g.classification);
  EXPECT_EQ(g.classes, 4);
  EXPECT_FALSE(load_table_csv(s.write("reg.csv", "a,target\n1,0\n2,1\n"), "target", TargetKind::regression).classification);
  // drop leaves columns out.
  const TableData dr = load_table_csv(s.write("drop.csv", "id,a,b,target\nx1,1,2,0.5\nx2,3,4,1.5\n"), "target",
                                      TargetKind::automatic, {"id", "b"});
  EXPECT_EQ(dr.columns, (std::vector<std::string>{"a"}));
  EXPECT_FALSE(dr.classification);
  EXPECT_EQ(dr.targets(1), 1.5f);
}

TEST(Dataset, BadInput) {
  Scratch s("bad");
  expect_invalid([&] { load_table_csv(s.write("nt.csv", "a,b,labels\n1,2,0\n")); },
                 {"load_table_csv", "parameter 'target_column' = 'target'", "names no column", "a, b, labels"});
  expect_invalid([&] { load_table_csv(s.write("near.csv", "a,b,targets\n1,2,0\n")); }, {"did you mean 'targets'"});
  expect_invalid([&] { load_table_csv(s.write("ragged.csv", "a,b,target\n1,2,0\n3,4\n")); },
                 {"load_table_csv", "ragged.csv:3", "ragged row"});
  expect_invalid([&] { load_table_csv(s.write("text.csv", "a,b,target\n1,x,0\n2,y,1\n")); },
                 {"load_table_csv", "column 'b'", "holds text", "'drop'"});
  expect_invalid([&] { load_table_csv(s.write("miss.csv", "a,b,target\n1,2,0\n3,NA,1\n")); },
                 {"load_table_csv", "column 'b'", "missing cell in data row 2"});
  expect_invalid([&] { load_table_csv(s.write("tmiss.csv", "a,target\n1,0\n2,\n3,1\n")); },
                 {"load_table_csv", "target column 'target'", "missing cell in data row 2"});
  expect_invalid([&] { load_table_csv(s.write("big.csv", "a,target\n1e300,0\n")); },
                 {"load_table_csv", "column 'a'", "does not fit float32"});
  expect_invalid([&] { load_table_csv(s.write("reg.csv", "a,target\n1,x\n"), "target", TargetKind::regression); },
                 {"load_table_csv", "'kind' = regression", "holds text"});
  expect_invalid([&] { load_table_csv(s.write("cls.csv", "a,target\n1,0\n2,1.5\n"), "target", TargetKind::classification); },
                 {"load_table_csv", "'kind' = classification", "1.5", "data row 2"});
  expect_invalid([&] { load_table_csv(s.write("neg.csv", "a,target\n1,0\n2,-1\n"), "target", TargetKind::classification); },
                 {"-1", "data row 2"});
  expect_invalid([&] { load_table_csv(s.write("only.csv", "target\n1\n")); }, {"load_table_csv", "no feature column"});
  expect_invalid([&] { load_table_csv(s.write("dt.csv", "a,target\n1,0\n"), "target", TargetKind::automatic, {"target"}); },
                 {"load_table_csv", "'drop'", "target column 'target'"});
  expect_invalid([&] { load_table_csv((s.dir / "none.csv").string()); }, {"load_table_csv", "cannot open", "none.csv"});
  const TableData d = load_table_csv(s.write("ok.csv", "a,b,target\n1,2,0\n3,4,1\n"));
  expect_invalid([&] { table_images(d, 3, 1); }, {"table_images", "3 x 1", "feature count 2"});
  expect_invalid([&] { table_images(d, 0, 2); }, {"table_images", "'height' = 0"});
}

}  // namespace
}  // namespace posenc::train
