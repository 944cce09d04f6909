// posenc/datasets.hpp — small real datasets for training studies: numeric tables read from CSV
// (the training component; posenc/trainer.hpp trains, posenc/tasks.hpp has the synthetic tasks).
//
// The project ships offline copies of the small datasets that come inside scikit-learn's package
// data (exported once from scikit-learn 1.2.1, Debian python3-sklearn; nothing is downloaded):
// examples/data/sklearn/<name>.csv, described in examples/data/README.md (source, citation,
// licence, the command that wrote each file). Every file has a header row with scikit-learn's
// feature names, one row per sample and the target column(s) last:
//
//   name           samples  features  target                    classes
//   digits            1797        64  digit 0..9                10 (pixel_<row>_<col>: 8x8 image, 0..16)
//   wine               178        13  cultivar class_0..2        3 (59 / 71 / 48)
//   breast_cancer      569        30  0 malignant, 1 benign      2 (212 / 357)
//   iris               150         4  setosa, versicolor, virg.  3 (50 each)
//   diabetes           442        10  disease progression        regression (raw, unscaled features)
//   linnerud            20         3  Weight, Waist or Pulse     regression (three targets, one chosen)
//
// Features are float32 as the rest of the training component; the CSVs hold the exact values
// (integers as integers, floats as their shortest round-trip decimal form).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "posenc/tensor.hpp"

namespace posenc::train {

/// How load_table_csv reads the target column.
enum class TargetKind {
  /// Classification when the column is text (or true/false), or when its values are exactly the
  /// integers 0 .. K-1 with every one of them present; regression otherwise. A regression target
  /// that happens to hold 0 .. K-1 needs TargetKind::regression.
  automatic,
  /// Class ids: text labels (sorted as strings, as scikit-learn's LabelEncoder) or integers >= 0
  /// (classes = largest + 1; absent ids allowed).
  classification,
  /// Real values: a numeric column, taken as it is.
  regression,
};

/// A numeric table split into features and one target: what load_table_csv and load_dataset return.
struct TableData {
  std::string name;                   ///< the dataset's name (load_dataset) or the file's path (load_table_csv)
  std::vector<std::string> columns;   ///< [F] feature column names, in file order
  Tensor features;                    ///< [S, F] float32, one row per sample
  Tensor targets;                     ///< [S] float32: class ids 0 .. classes-1 as floats, or the regression value
  std::string target_column;          ///< the header name of the target column
  bool classification = false;        ///< true: targets are class ids
  std::int64_t classes = 0;           ///< number of classes (0 for regression)
  std::vector<std::string> class_names;  ///< [classes] what each class id means (empty for regression)
  /// [F] or empty (every feature numeric): per feature, empty for a numeric column; for a text column read
  /// with load_table_csv(..., text_levels = true) its K levels sorted as strings (scikit-learn's LabelEncoder;
  /// a missing cell is the level "Missing", as Tab-PET's preprocessing), the feature's value being the level
  /// index 0 .. K-1
  std::vector<std::vector<std::string>> levels;
  /// S, the number of samples (rows).
  std::size_t size() const { return features.dimension() == 2 ? features.shape()[0] : 0; }
  /// F, the number of features.
  std::size_t feature_count() const { return features.dimension() == 2 ? features.shape()[1] : 0; }
  /// The targets as int64 class ids [S] (e.g. for posenc::train::Dataset::labels); throws
  /// std::invalid_argument for a regression table.
  ITensor labels() const;
};

/// Reads any CSV with a header row into features and a target (the CSV reader of posenc/tabular.hpp:
/// quoted fields, blank lines skipped; its errors name the file and line). `target_column` names the
/// target; `drop` lists other columns left out (e.g. other targets, ids). Every remaining column is
/// a feature and must be numeric without missing cells (posenc::read_table_csv's missing tokens:
/// "", NA, NaN, ?, ...) and fit float32. Throws std::invalid_argument naming the function, the
/// parameter and the value: a file that cannot be read, a ragged row, a target_column naming no
/// column (with the closest name), a text feature column, a missing cell (column and data row), a
/// target that does not fit `kind`, no feature column left. With `text_levels` a text (or boolean) feature
/// column is read as categories instead of throwing: TableData::levels, the value its level index.
TableData load_table_csv(const std::string& path, const std::string& target_column = "target",
                         TargetKind kind = TargetKind::automatic, const std::vector<std::string>& drop = {},
                         bool text_levels = false);

/// What a shipped dataset is (dataset_info): its file, size, target and meaning.
struct DatasetInfo {
  std::string name;                  ///< a name of dataset_names(), e.g. "digits"
  std::string file;                  ///< the file name inside data_directory(), e.g. "digits.csv"
  std::string description;           ///< one line: what the samples and the target are, and the source
  std::int64_t samples = 0;          ///< S, the rows of the file
  std::int64_t features = 0;         ///< F, the feature columns
  std::vector<std::string> targets;  ///< the target columns; the first is load_dataset's default, the others are dropped
  bool classification = false;       ///< true: the target is a class id
  std::vector<std::string> class_names;  ///< class id -> meaning, as scikit-learn's target_names (empty for regression)
};

/// The shipped datasets: "breast_cancer", "diabetes", "digits", "iris", "linnerud", "wine" (sorted).
std::vector<std::string> dataset_names();

/// The description of a shipped dataset; an unknown name throws std::invalid_argument with the closest name.
DatasetInfo dataset_info(const std::string& name);

/// The directory holding the shipped CSVs: the environment variable POSENC_DATA_DIR when it is set
/// and not empty; else the source tree's examples/data/sklearn (fixed when the library is compiled)
/// when it exists; else the installed copy (<prefix>/share/posenc/data/sklearn), whether or not it
/// exists (load_dataset then names it in its error).
std::string data_directory();

/// A shipped dataset from data_directory() (dataset_names(); the table above). `target_column`
/// chooses among the dataset's target columns ("" = the first: "target", linnerud "Weight"); the
/// other target columns are left out of the features. The file must have the rows and columns of
/// dataset_info(); class_names come from it. Throws std::invalid_argument for an unknown name (with
/// the closest one), a target_column that is not one of the dataset's targets, a missing or
/// different file (naming the path and POSENC_DATA_DIR).
TableData load_dataset(const std::string& name, const std::string& target_column = "");

/// The features of an image table as images [S, height, width] (row-major pixels: feature
/// r * width + c is pixel (r, c); digits: pixel_<r>_<c>, height = width = 8). Throws
/// std::invalid_argument when height * width is not the table's feature count or either is < 1.
Tensor table_images(const TableData& data, std::int64_t height, std::int64_t width);

}  // namespace posenc::train
