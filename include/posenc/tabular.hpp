// posenc/tabular.hpp — Tab-PET: positions of a table's columns from the graph of their
// dependencies (Leng, Ghosh & Motani, AAAI 2026, arXiv 2511.13338; code kentridgeai/Tab-PET).
//
// Pipeline: a CSV table -> preprocessing (numeric rows with missing values dropped, categories
// one-hot with at most 10 levels, every feature z-scored) -> a feature graph W (Spearman by
// default, Pearson, or a Chow-Liu tree over mutual information) -> A = max(|W|, |W|^T) -> the
// symmetric-normalised Laplacian -> its k lowest non-trivial and k highest eigenvectors (k chosen
// by the reference's eigenvalue-gap rule) -> per-column z-scores -> one row per original column
// (one-hot rows averaged) -> alpha * PE concatenated to the feature tokens.
// Reference behaviour, quirks and where posenc departs: docs/methods.md#tab-pet and #tab-pet-departures.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "posenc/encoding.hpp"

namespace posenc {

// ------------------------------------------------------------------ tables

/// The type of a table column, inferred from its cells unless overridden.
enum class ColumnType {
  numeric,      ///< every present cell parses as a finite number
  categorical,  ///< anything else
  boolean,      ///< every present cell is true/false (any case); one-hot like a category (pandas bool)
};

/// One column of a Table: its name, type, and (for text columns) the raw cells.
struct TableColumn {
  std::string name;                       ///< header name (or "0" .. "C-1" without a header)
  ColumnType type = ColumnType::numeric;  ///< inferred or overridden type
  std::vector<std::string> cells;    ///< categorical and boolean columns: raw text, one per row
  std::vector<std::uint8_t> missing; ///< 1 where the cell is a missing token
};

/// A table read from CSV (read_table_csv) or built in memory (make_table).
struct Table {
  std::vector<TableColumn> columns;  ///< in file order, dropped columns left out
  std::size_t rows = 0;              ///< data rows
  DTensor values;  ///< [columns, rows]: the numeric value of every cell (NaN where missing or text)
  std::int64_t find(const std::string& name) const;  ///< column index or -1
};

/// Options of read_table_csv and make_table. Defaults in brackets.
struct TableCsvOptions {
  char delimiter = ',';  ///< [','] field separator
  /// Cells read as missing (pandas' defaults that matter): "", NA, NaN, nan, N/A, NULL, null, None, ?.
  std::vector<std::string> missing_tokens{"", "NA", "NaN", "nan", "N/A", "n/a", "NULL", "null", "None", "?"};
  std::map<std::string, ColumnType> types{};  ///< overrides of the inferred types, by column name
  std::vector<std::string> drop{};            ///< columns left out (e.g. the target)
  /// The first row: "yes" (default) names the columns; "no" is data and the columns are named
  /// "0" .. "C-1" (pandas' header=None); "auto" never drops a row silently: the first row is data
  /// when every field fits its column's type as the other rows define it (then named "0" ..),
  /// else a header if every field is non-numeric text, else an error naming line 1.
  std::string header = "yes";
};
/// A CSV with a header row (see `header`); quoted fields ("" escapes a quote); blank lines
/// skipped; a UTF-8 byte-order mark is skipped. Types are inferred per column unless overridden.
/// Errors name the file, line and column: ragged rows, an unterminated quote, a duplicate or empty
/// header name, a column that is entirely missing, an override or drop naming no column, a
/// numeric override on text, a number that is not finite (inf, nan not listed as missing, 1e400)
/// in a numeric column (it never turns the column categorical; in a column that also holds text
/// it is just another category).
Table read_table_csv(const std::string& path, const TableCsvOptions& options = {});
/// The same from memory: names and one vector of cells per column.
Table make_table(const std::vector<std::string>& names, const std::vector<std::vector<std::string>>& columns,
                 const TableCsvOptions& options = {});

// ------------------------------------------------------------------ preprocessing

/// Options of tabpet_preprocess (the reference's defaults: 10 levels, top 9 + "Other").
struct TabularPreprocessOptions {
  std::int64_t max_levels = 10;  ///< more distinct categories than this: keep the most frequent keep_levels + "Other"
  std::int64_t keep_levels = 9;  ///< levels kept by frequency when a column has more than max_levels [9]
  /// Rows used (after nothing else); empty = all. The reference subsamples 5000 rows with sklearn's
  /// RNG, which cannot be matched, so posenc takes the caller's indices (or `subsample`).
  std::vector<std::int64_t> rows{};
  std::int64_t subsample = 0;   ///< > 0: this many rows drawn uniformly without replacement (seeded)
  std::uint64_t seed = 42;      ///< seed of `subsample` [42]
};

/// The preprocessed features (graph nodes) and their provenance.
struct FeatureMatrix {
  DTensor values;                            ///< [rows, F] z-scored (population std; constant -> 0)
  std::vector<std::string> names;            ///< F feature names: numeric columns, then "col_level" one-hots
  std::vector<std::int64_t> source_column;   ///< [F] index of the original column (Table::columns)
  std::vector<std::string> columns;          ///< original column names
  std::vector<ColumnType> column_types;      ///< type of each original column
  std::int64_t rows_dropped = 0;             ///< rows dropped for missing numeric values
};
/// The reference's preprocessing: rows with a missing numeric value dropped; in categorical and
/// boolean columns a missing cell is the level "Missing"; with more than max_levels levels the
/// keep_levels most frequent stay (ties: first seen) and the rest become "Other"; one-hot with every
/// level, levels sorted as strings (sklearn's OneHotEncoder); numeric features first (table order),
/// then the one-hot blocks; every feature z-scored with the population std (constant -> zeros).
FeatureMatrix tabpet_preprocess(const Table& table, const TabularPreprocessOptions& options = {});

// ------------------------------------------------------------------ feature graph

/// How the feature graph W is estimated (`docs/methods.md#tab-pet`).
enum class FeatureGraphMethod {
  spearman,  ///< rank correlation (average ranks for ties), the default
  pearson,   ///< linear correlation
  chowliu,   ///< maximum spanning tree (Kruskal) of mutual information over 10 uniform bins, MI > 0 only
};
/// Options of estimate_feature_graph. Defaults in brackets.
struct FeatureGraphOptions {
  FeatureGraphMethod method = FeatureGraphMethod::spearman;  ///< [spearman]
  std::int64_t bins = 10;  ///< Chow-Liu discretisation (sklearn KBinsDiscretizer 'uniform')
  double threshold = 0.0;  ///< > 0: |W| below it set to 0 (sparsification)
  std::int64_t top_k = 0;  ///< > 0: keep each feature's top_k |W| (union over both ends)
};
/// The signed feature graph W and the features that had to be zeroed.
struct FeatureGraph {
  DTensor weights;                          ///< [F, F] signed, diagonal 0
  std::vector<std::int64_t> constant;       ///< features with zero variance: their weights are 0
};
/// W from the z-scored features [rows, F]. A constant feature has undefined correlations (the
/// reference propagates NaN into the Laplacian); posenc gives it zero weights and lists it. Two
/// features give the 2 x 2 matrix (the reference returns a 1 x 1 zero for Spearman there).
FeatureGraph estimate_feature_graph(const DTensor& features, const FeatureGraphOptions& options = {});

// ------------------------------------------------------------------ the encoding

/// Options of tabpet_pe. Defaults in brackets.
struct TabPetOptions {
  std::int64_t k = 0;          ///< 0 = automatic (the reference's rule); else k_first = k_last = k
  bool deterministic_sign = true;  ///< largest-|entry| positive per eigenvector (graph.hpp); false: raw LAPACK
};
/// What tabpet_pe returns.
struct TabPetResult {
  DTensor adjacency;                    ///< [F, F] A = max(|W|, |W|^T)
  std::vector<double> eigenvalues;      ///< [F] all, ascending
  std::vector<double> selected;         ///< [2k] eigenvalues of the PE columns
  std::int64_t k = 0;                   ///< eigenvectors taken at each end of the spectrum
  Tensor features_pe;                   ///< [F, 2k] per feature node, column z-scored (unbiased std, float32)
  Tensor columns_pe;                    ///< [C, 2k] per original column (one-hot rows averaged; none -> 0)
  std::vector<std::string> warnings;    ///< e.g. n <= 2k (repeated columns)
};
/// The reference's automatic k from ascending eigenvalues of L: low = #{lambda[1:] <= 0.75}; with
/// more than 3 of them, a gap > max(10 median gap, 0.5) cuts low at the first such gap's index + 1;
/// k = max(2, min(low, 10)).
std::int64_t tabpet_auto_k(const std::vector<double>& eigenvalues);
/// From W [F, F] (any method, or an external adjacency): A, L = I - D^-1/2 A D^-1/2 (zero degree
/// -> 1), dense eigh, PE = [v_1 .. v_k | v_{F-k} .. v_{F-1}] (numpy slicing: columns repeat when
/// F <= 2k, with a warning), z-scored per column with the unbiased std in float32 (0 -> 1), then
/// aggregated to `n_columns` original columns through source_column [F].
TabPetResult tabpet_pe(const DTensor& weights, const std::vector<std::int64_t>& source_column, std::int64_t n_columns,
                       const TabPetOptions& options = {});

/// Options of the whole pipeline tabpet(), one member per step.
struct TabPetPipelineOptions {
  TabularPreprocessOptions preprocess{};  ///< step 1: tabpet_preprocess
  FeatureGraphOptions graph{};            ///< step 2: estimate_feature_graph
  TabPetOptions pe{};                     ///< step 3: tabpet_pe
};
/// Everything tabpet() computes, one member per step.
struct TabPet {
  FeatureMatrix features;  ///< the preprocessed features
  FeatureGraph graph;      ///< W
  TabPetResult pe;         ///< the Laplacian PE per feature and per column
};
/// preprocess -> estimate_feature_graph -> tabpet_pe.
TabPet tabpet(const Table& table, const TabPetPipelineOptions& options = {});

/// FT-Transformer's token order: the numeric columns first, then the categorical and boolean ones
/// (each group in table order), as indices into FeatureMatrix::columns. The reference hands the
/// PE over in table order, so tokens and PE rows disagree whenever a categorical column precedes a
/// numeric one; take the rows of columns_pe in this order before tabpet_encoding
/// (xt::view(pe, xt::keep(order), xt::all())). Table order is the reference's (misaligned) behaviour.
std::vector<std::int64_t> ftt_token_order(const FeatureMatrix& features);

/// The integration (FT-Transformer "concat_fixed"): input_concat [1, P + C, pe_dim + pad] =
/// alpha * clip(PE, -10, 10) per column token, zeros for the P leading tokens (CLS) and the pad.
/// Throws for a non-finite alpha.
Encoding tabpet_encoding(const Tensor& columns_pe, double alpha, std::int64_t prefix_tokens = 1, std::int64_t pad = 0);

}  // namespace posenc
