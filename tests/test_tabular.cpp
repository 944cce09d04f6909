// Tab-PET against the official code run on committed tables (tests/data/gen_tabpet.py), hand cases
// for the preprocessing and the automatic k, the departures from the reference, and bad input.
#include <gtest/gtest.h>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>

#include "posenc/npy.hpp"
#include "posenc/tabular.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using test::expect_invalid;

const std::string kData = std::string(POSENC_TEST_DATA) + "/tabular/";

std::vector<std::string> lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

/// Columns equal up to one sign per column (the eigenvector sign is arbitrary in the reference).
void expect_equal_up_to_sign(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  for (std::size_t c = 0; c < got.shape()[1]; ++c) {
    double same = 0, flip = 0;
    for (std::size_t i = 0; i < got.shape()[0]; ++i) {
      same = std::max(same, std::abs(double(got(i, c)) - want(i, c)));
      flip = std::max(flip, std::abs(double(got(i, c)) + want(i, c)));
    }
    EXPECT_LT(std::min(same, flip), tol) << what << " column " << c;
  }
}

TEST(TabPet, MatchesTheOfficialCodeOnWineAndAMixedTable) {
  const std::pair<const char*, FeatureGraphMethod> methods[] = {{"spearman", FeatureGraphMethod::spearman},
                                                                {"pearson", FeatureGraphMethod::pearson},
                                                                {"chowliu", FeatureGraphMethod::chowliu}};
  for (const char* table : {"wine", "mixed"}) {
    const Table t = read_table_csv(kData + table + ".csv");
    const FeatureMatrix fm = tabpet_preprocess(t);
    EXPECT_EQ(fm.names, lines(kData + table + "_names.txt")) << table;
    for (const auto& [name, method] : methods) {
      const std::string stem = kData + table + "_" + name + "_", what = std::string(table) + " " + name;
      const FeatureGraph g = estimate_feature_graph(fm.values, {.method = method});
      EXPECT_LT(test::max_abs_diff(g.weights, load_npy_double(stem + "W.npy")), 1e-12) << what;
      const TabPetResult r = tabpet_pe(g.weights, fm.source_column, std::int64_t(fm.columns.size()));
      const DTensor eig = load_npy_double(stem + "eig.npy");
      for (std::size_t i = 0; i < r.eigenvalues.size(); ++i) EXPECT_NEAR(r.eigenvalues[i], eig(i), 1e-10) << what;
      EXPECT_EQ(r.k, load_npy_int(stem + "k.npy")(0)) << what;
      expect_equal_up_to_sign(r.features_pe, load_npy(stem + "pe.npy"), 2e-5, what + " pe");
      expect_equal_up_to_sign(r.columns_pe, load_npy(stem + "cols.npy"), 2e-5, what + " columns");
    }
  }
}

TEST(TabPet, ReadingTypesAndPreprocessingByHand) {
  const Table t = make_table({"x", "c", "b", "y"}, {{"1", "2", "NA", "4", "5"},
                                                   {"u", "", "v", "u", "w"},
                                                   {"true", "False", "TRUE", "", "false"},
                                                   {"3", "3", "3", "3", "3"}});
  EXPECT_EQ(t.columns[0].type, ColumnType::numeric);
  EXPECT_EQ(t.columns[1].type, ColumnType::categorical);
  EXPECT_EQ(t.columns[2].type, ColumnType::boolean);
  const FeatureMatrix fm = tabpet_preprocess(t);
  EXPECT_EQ(fm.rows_dropped, 1);  // the NA in x
  // Numeric first (x, y), then c's levels sorted (Missing, u, w: v was on the dropped row), then b's.
  EXPECT_EQ(fm.names[0], "x");
  EXPECT_EQ(fm.names[1], "y");
  EXPECT_EQ(fm.names[2], "c_Missing");
  EXPECT_EQ(fm.names[3], "c_u");
  EXPECT_EQ(fm.names[4], "c_w");
  EXPECT_EQ(fm.names[5], "b_False");
  EXPECT_EQ(fm.names[6], "b_Missing");
  EXPECT_EQ(fm.names[7], "b_false");
  EXPECT_EQ(fm.names[8], "b_true");
  // z-scores: x = 1, 2, 4, 5 -> mean 3, population std sqrt(2.5); the constant y -> zeros.
  EXPECT_NEAR(fm.values(0, 0), -2 / std::sqrt(2.5), 1e-12);
  EXPECT_EQ(fm.values(2, 1), 0.0);
  // FT-Transformer tokens: numeric columns (x, y) first, then c and b.
  EXPECT_EQ(ftt_token_order(fm), (std::vector<std::int64_t>{0, 3, 1, 2}));
  // More than 10 levels: the 9 most frequent stay, the rest become "Other".
  std::vector<std::string> cells;
  for (int level = 0; level < 12; ++level)
    for (int r = 0; r < 20 - level; ++r) cells.push_back(std::string("L").append(std::to_string(10 + level)));
  std::vector<std::string> num(cells.size(), "1");
  for (std::size_t i = 0; i < num.size(); ++i) num[i] = std::to_string(i % 7);
  const FeatureMatrix many = tabpet_preprocess(make_table({"n", "k"}, {num, cells}));
  EXPECT_EQ(many.names.size(), 1u + 10u);
  EXPECT_EQ(many.names[1], "k_L10");
  EXPECT_EQ(many.names.back(), "k_Other");
}

TEST(TabPet, AutomaticKRule) {
  // Few low eigenvalues: k = max(2, count).
  EXPECT_EQ(tabpet_auto_k({0, 0.2, 1.0, 1.5}), 2);
  EXPECT_EQ(tabpet_auto_k({0, 0.1, 0.2, 0.3, 0.4, 0.5, 1.0}), 5);
  // A gap > max(10 median gap, 0.5) among more than 3 low values cuts after it.
  EXPECT_EQ(tabpet_auto_k({0, 0.01, 0.02, 0.03, 0.6, 0.61, 0.62, 1.0}), 3);
  // Capped at 10.
  std::vector<double> many(20);
  for (int i = 0; i < 20; ++i) many[std::size_t(i)] = 0.03 * i;
  EXPECT_EQ(tabpet_auto_k(many), 10);
}

TEST(TabPet, DeparturesConstantColumnsTwoColumnsAndSmallGraphs) {
  // A constant column: finite output, zero weights, a warning (the reference gives NaN).
  const Table t = make_table({"a", "b", "z"}, {{"1", "2", "3", "4", "6"}, {"2", "1", "4", "3", "5"},
                                                {"7", "7", "7", "7", "7"}});
  const TabPet r = tabpet(t);
  for (float v : r.pe.features_pe) EXPECT_TRUE(std::isfinite(v));
  EXPECT_EQ(r.graph.weights(0, 2), 0.0);
  ASSERT_EQ(r.graph.constant.size(), 1u);
  EXPECT_FALSE(r.pe.warnings.empty());
  // Two columns: the full 2 x 2 Spearman matrix (the reference returns a 1 x 1 zero).
  const FeatureGraph two = estimate_feature_graph(tabpet_preprocess(make_table({"a", "b"}, {{"1", "2", "3"}, {"3", "1", "2"}})).values);
  EXPECT_NEAR(two.weights(0, 1), -0.5, 1e-12);
  // n <= 2k: the columns repeat as numpy slicing gives them, with a warning.
  DTensor w = {{0, 1, 0, 0}, {1, 0, 1, 0}, {0, 1, 0, 1}, {0, 0, 1, 0}};
  const TabPetResult small = tabpet_pe(w, {0, 1, 2, 3}, 4, {.k = 2});
  EXPECT_EQ(small.features_pe.shape()[1], 4u);
  EXPECT_EQ(small.selected[1], small.selected[2]);  // columns 1, 2 | 2, 3
  EXPECT_FALSE(small.warnings.empty());
  // Integration: alpha * clip(PE, +-10), zeros for the CLS token and the pad.
  Tensor pe = {{1.0f, 20.0f}, {-3.0f, 0.5f}};
  const Encoding e = tabpet_encoding(pe, 0.5, 1, 2);
  EXPECT_EQ(e.input_concat.shape()[1], 3u);
  EXPECT_EQ(e.input_concat.shape()[2], 4u);
  EXPECT_EQ(e.input_concat(0, 0, 0), 0.0f);
  EXPECT_EQ(e.input_concat(0, 1, 1), 5.0f);
  EXPECT_EQ(e.input_concat(0, 2, 0), -1.5f);
  EXPECT_EQ(e.input_concat(0, 2, 3), 0.0f);
}

/// Spearman's rho by the definition: average ranks (a stable sort, ties by ==), then Pearson's r of
/// the ranks in long double; 0 for a constant column.
double naive_spearman(const std::vector<double>& x, const std::vector<double>& y) {
  auto ranks = [](const std::vector<double>& v) {
    std::vector<std::size_t> o(v.size());
    std::iota(o.begin(), o.end(), 0);
    std::stable_sort(o.begin(), o.end(), [&](auto a, auto b) { return v[a] < v[b]; });
    std::vector<long double> r(v.size());
    for (std::size_t i = 0; i < o.size();) {
      std::size_t j = i + 1;
      while (j < o.size() && v[o[j]] == v[o[i]]) ++j;
      for (std::size_t k = i; k < j; ++k) r[o[k]] = (i + 1 + j) / 2.0L;
      i = j;
    }
    return r;
  };
  const auto rx = ranks(x), ry = ranks(y);
  const long double mx = std::accumulate(rx.begin(), rx.end(), 0.0L) / rx.size();
  const long double my = std::accumulate(ry.begin(), ry.end(), 0.0L) / ry.size();
  long double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < rx.size(); ++i) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) * (rx[i] - mx);
    syy += (ry[i] - my) * (ry[i] - my);
  }
  return sxx == 0 || syy == 0 ? 0.0 : static_cast<double>(sxy / std::sqrt(sxx * syy));
}

TEST(TabPet, SpearmanAgainstTheDefinitionWithTiesAndOnAnyThreadCount) {
  // Columns: continuous; few integer levels (long tie groups); -0 and +0 mixed with tiny values; a
  // spread of a few ulps around 1; two levels (a one-hot); constant; correlated with the first.
  const std::size_t n = 3001, F = 7;
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal;
  DTensor X = DTensor::from_shape({n, F});
  for (std::size_t i = 0; i < n; ++i) {
    const double a = normal(rng);
    X(i, 0) = a;
    X(i, 1) = static_cast<double>(rng() % 5);
    X(i, 2) = rng() % 3 == 0 ? (rng() % 2 ? 0.0 : -0.0) : normal(rng) * 1e-300;
    X(i, 3) = 1.0 + static_cast<double>(rng() % 4) * 2.220446049250313e-16;
    X(i, 4) = rng() % 7 == 0 ? 1.0 : 0.0;
    X(i, 5) = 7.0;
    X(i, 6) = a + 0.3 * normal(rng);
  }
  std::vector<std::vector<double>> cols(F, std::vector<double>(n));
  for (std::size_t f = 0; f < F; ++f)
    for (std::size_t i = 0; i < n; ++i) cols[f][i] = X(i, f);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const FeatureGraph one = estimate_feature_graph(X);
  omp_set_num_threads(2);
  const FeatureGraph two = estimate_feature_graph(X);
  omp_set_num_threads(threads);
  EXPECT_EQ(std::memcmp(one.weights.data(), two.weights.data(), F * F * sizeof(double)), 0);
  EXPECT_EQ(one.constant, (std::vector<std::int64_t>{5}));
  for (std::size_t a = 0; a < F; ++a)
    for (std::size_t b = 0; b < F; ++b)
      EXPECT_NEAR(one.weights(a, b), a == b ? 0.0 : naive_spearman(cols[a], cols[b]), 1e-14) << a << ", " << b;
}

TEST(TabPet, PipelineEqualsTheStepsBitForBitOnAnyThreadCount) {
  // tabpet() ranks straight from the preprocessing; the steps go through FeatureMatrix::values.
  const auto path = (std::filesystem::temp_directory_path() / "posenc_tabpet_pipeline.csv").string();
  {
    std::mt19937_64 rng(9);
    std::normal_distribution<double> normal;
    std::ofstream out(path);
    out << "a,b,c,k,d\n";
    for (int r = 0; r < 4000; ++r) {
      const double a = normal(rng);
      out << a << "," << a + normal(rng) << "," << (rng() % 9) << "," << "xyz"[rng() % 3] << ","
          << (r == 7 ? std::string("NA") : std::to_string(normal(rng))) << "\n";
    }
  }
  const Table t = read_table_csv(path);
  for (auto method : {FeatureGraphMethod::spearman, FeatureGraphMethod::pearson, FeatureGraphMethod::chowliu}) {
    TabPetPipelineOptions o;
    o.graph.method = method;
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    const TabPet one = tabpet(t, o);
    omp_set_num_threads(2);
    const TabPet two = tabpet(read_table_csv(path), o);
    omp_set_num_threads(threads);
    const FeatureMatrix fm = tabpet_preprocess(t);
    const FeatureGraph steps = estimate_feature_graph(fm.values, o.graph);
    auto same = [](const auto& a, const auto& b) {
      return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(*a.data())) == 0;
    };
    EXPECT_TRUE(same(one.features.values, fm.values));
    EXPECT_TRUE(same(one.features.values, two.features.values));
    EXPECT_TRUE(same(one.graph.weights, steps.weights));
    EXPECT_TRUE(same(one.graph.weights, two.graph.weights));
    EXPECT_TRUE(same(one.pe.columns_pe, two.pe.columns_pe));
  }
  std::filesystem::remove(path);
}

TEST(TabPet, ReaderReadsNumbersInPlaceAsTheCellParserDoes) {
  // read_table_csv reads a plain number where it stands; make_table parses each cell on its own.
  // Blanks, '+', CRLF, exponents, -0, half-written numbers, text, missing tokens, a quoted row.
  const std::vector<std::vector<std::string>> rows = {
      {" 1.5", "+2", "3 ", "-0", "abc"},      {"1e5", "1E-3", ".5", "5.", "1.2.3"},
      {"NA", "\t7\t", "-.25", "0x10", "inf"}, {"2.5e-310", "1e-400", "-1.0e+2", "nan", ""},
      {"4", "5", "6", "7", "1e400"},          {"6", "", "7", "8", "9"},
      {"6", "7", "", "8", "9"},          {"9007199254740993", "0.1", "-3", "8", "x y"}};
  for (const char delim : {',', ';', '|', '\t'}) {
    std::string text = "p" + std::string(1, delim) + "q" + delim + "r" + delim + "s" + delim + "t\r\n";
    for (const auto& row : rows) {
      for (std::size_t c = 0; c < row.size(); ++c) {
        std::string cell = row[c];
        if (delim == '\t') std::erase(cell, '\t');
        text += (c ? std::string(1, delim) : "") + cell;
      }
      text += "\r\n";
    }
    text += "\"11\"" + std::string(1, delim) + "12" + delim + "13" + delim + "14" + delim + "\"q\"\n";
    // A quote inside a field is an ordinary character; a quoted field may hold the delimiter.
    text += "15" + std::string(1, delim) + "a\"b" + delim + "17" + delim + "\"x" + delim + "y\"" + delim + "19\n";
    const auto path = (std::filesystem::temp_directory_path() / "posenc_tabular_inplace.csv").string();
    std::ofstream(path, std::ios::binary) << text;
    const Table got = read_table_csv(path, {.delimiter = delim});
    std::vector<std::vector<std::string>> cols(5);
    for (const auto& row : rows)
      for (std::size_t c = 0; c < 5; ++c) {
        std::string cell = row[c];
        if (delim == '\t') std::erase(cell, '\t');
        cols[c].push_back(cell);
      }
    for (std::size_t c = 0; c < 5; ++c) cols[c].push_back(std::to_string(11 + c));
    cols[4].back() = "q";
    for (std::size_t c = 0; c < 5; ++c) cols[c].push_back(std::to_string(15 + c));
    cols[1].back() = "a\"b";
    cols[3].back() = "x" + std::string(1, delim) + "y";
    const Table want = make_table({"p", "q", "r", "s", "t"}, cols);
    ASSERT_EQ(got.rows, want.rows) << delim;
    for (std::size_t c = 0; c < 5; ++c) {
      EXPECT_EQ(got.columns[c].type, want.columns[c].type) << delim << " column " << c;
      EXPECT_EQ(got.columns[c].missing, want.columns[c].missing) << delim << " column " << c;
      for (std::size_t r = 0; r < got.rows; ++r) {
        const double a = got.values(c, r), b = want.values(c, r);
        EXPECT_TRUE((std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0)
            << delim << " column " << c << " row " << r << ": " << a << " vs " << b;
      }
    }
    std::filesystem::remove(path);
  }
}

TEST(TabPet, BadInput) {
  const auto dir = std::filesystem::temp_directory_path() / "posenc_tabular_test";
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream((dir / name).string()) << text;
    return (dir / name).string();
  };
  expect_invalid([&] { read_table_csv(write("r.csv", "a,b\n1,2\n3\n")); }, {"r.csv:3", "ragged"});
  // Rows of bare numbers (read as one run) one field too wide, or with an empty field after them.
  expect_invalid([&] { read_table_csv(write("r2.csv", "a,b\n1,2\n3,4,5\n")); }, {"r2.csv:3", "got 3", "ragged"});
  expect_invalid([&] { read_table_csv(write("r3.csv", "a,b\n1,2\n3,4,\n")); }, {"r3.csv:3", "got 3", "ragged"});
  // A blank before a quoted field mid-row: the quote still opens it (the delimiter inside is text).
  {
    const Table t = read_table_csv(write("b.csv", "a,b,c\n1, \"x,y\",3\n2,z,4\n"));
    ASSERT_EQ(t.rows, 2u);
    EXPECT_EQ(t.columns[1].type, ColumnType::categorical);
    EXPECT_EQ(t.values(2, 0), 3.0);
    EXPECT_EQ(t.values(2, 1), 4.0);
  }
  // Tab-separated, an empty field before a quoted one: three fields (the blank skipped before a
  // quote is never the delimiter itself).
  {
    const Table t = read_table_csv(write("t.tsv", "a\tb\tc\n1\t\t\"x\"\n2\t5\t\"y\"\n"), {.delimiter = '\t'});
    ASSERT_EQ(t.rows, 2u);
    EXPECT_EQ(t.columns[1].missing, (std::vector<std::uint8_t>{1, 0}));
    EXPECT_EQ(t.values(1, 1), 5.0);
  }
  // A row too wide, with the delimiter inside a quoted field: three fields, not four.
  expect_invalid([&] { read_table_csv(write("w.csv", "a,b\n1,2\n1,2,\"x,y\"\n")); }, {"w.csv:3", "got 3", "ragged"});
  expect_invalid([&] { read_table_csv(write("m.csv", "a,b\n1,NA\n2,\n")); }, {"column 'b'", "entirely missing"});
  expect_invalid([&] { read_table_csv(write("d.csv", "a,a\n1,2\n")); }, {"d.csv:1", "duplicate"});
  expect_invalid([&] { read_table_csv(write("q.csv", "a,b\n1,\"x\n")); }, {"q.csv:2", "unterminated"});
  expect_invalid([&] { read_table_csv(write("t.csv", "a,b\n1,x\n"), {.types = {{"b", ColumnType::numeric}}}); },
                 {"'b'", "declared numeric"});
  expect_invalid([&] { read_table_csv(write("o.csv", "a\n1\n"), {.drop = {"zz"}}); }, {"'drop'", "zz"});
  expect_invalid([&] { read_table_csv((dir / "none.csv").string()); }, {"cannot open"});
  expect_invalid([] { tabpet_encoding(xt::ones<float>({1, 1}), NAN); }, {"tabpet_encoding", "'alpha'"});
  expect_invalid([] { tabpet_pe(DTensor{{0, 1}, {1, 0}}, {0, 1}, 2, {.k = -1}); }, {"tabpet_pe", "'k'"});
  expect_invalid([] { estimate_feature_graph(DTensor{{1, NAN}, {2, 3}}); }, {"estimate_feature_graph", "non-finite"});
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace posenc
