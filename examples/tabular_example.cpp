// Tabular modality example: Tab-PET on the UCI wine recognition data (178 wines, 13 chemical
// measurements; Aeberhard & Forina, via scikit-learn's copy), fed to an FT-Transformer-style
// attention layer: a CLS token and one token per column, the PE concatenated to each token.
//
//   build/examples/posenc_tabular_example [OUT_DIR] [TABLE.csv]   (default: examples_out, wine)
//
// Writes OUT_DIR/tabular_graph.png: the Spearman feature graph |W| (13 x 13) | the Tab-PET
// encoding per column (13 x 2k: k lowest non-trivial, then k highest Laplacian eigenvectors,
// z-scored) | the Chow-Liu tree, and prints the chosen k and eigenvalues.
#include <filesystem>
#include <iostream>

#include "common.hpp"
#include "pictures.hpp"
#include "posenc/posenc.hpp"

int main(int argc, char** argv) {
  using namespace posenc;
  const std::string out = argc > 1 ? argv[1] : "examples_out";
  const std::string path = argc > 2 ? argv[2] : std::string(POSENC_EXAMPLE_DATA) + "/wine.csv";
  std::filesystem::create_directories(out);

  const Table table = read_table_csv(path);
  const TabPet spearman = tabpet(table);
  const TabPet chowliu = tabpet(table, {.graph = {.method = FeatureGraphMethod::chowliu}});
  std::cout << "table: " << table.rows << " rows x " << table.columns.size() << " columns -> "
            << spearman.features.names.size() << " features\n";
  for (const auto* r : {&spearman, &chowliu}) {
    std::cout << (r == &spearman ? "spearman" : "chow-liu") << ": k = " << r->pe.k << ", PE eigenvalues";
    for (double v : r->pe.selected) std::cout << " " << v;
    std::cout << "\n";
  }

  // One layer over [CLS | 13 column tokens], tokens of width 48 + the 2k PE channels (alpha = 0.5).
  const std::int64_t pe_dim = static_cast<std::int64_t>(spearman.pe.columns_pe.shape()[1]);
  const std::int64_t dim = 48 + pe_dim + (4 - pe_dim % 4) % 4, heads = 4;
  const Encoding enc = tabpet_encoding(spearman.pe.columns_pe, 0.5, 1, dim - 48 - pe_dim);
  const MultiHeadAttention layer({.model_dim = dim, .heads = heads}, /*seed=*/10);
  const Tensor x = example::random_tokens(1 + static_cast<std::int64_t>(table.columns.size()), 48, 12, 0.5);
  const Tensor xe = apply_input(enc, x);
  example::report("tab-pet (concat_fixed)", enc, xe, layer.forward(xe, enc));

  const std::size_t F = spearman.graph.weights.shape()[0];
  std::vector<double> w(F * F), tree(F * F);
  for (std::size_t i = 0; i < F * F; ++i) {
    w[i] = std::abs(spearman.graph.weights.data()[i]);
    tree[i] = chowliu.graph.weights.data()[i];
  }
  const Tensor& pe = spearman.pe.columns_pe;
  std::vector<double> pv(pe.begin(), pe.end());
  plot::write_png(out + "/tabular_graph.png",
                  plot::hstack({plot::heatmap(w, static_cast<int>(F), static_cast<int>(F), 16),
                                plot::heatmap(pv, static_cast<int>(pe.shape()[0]), static_cast<int>(pe.shape()[1]), 16),
                                plot::heatmap(tree, static_cast<int>(F), static_cast<int>(F), 16)}));
  std::cout << "wrote " << out << "/tabular_graph.png (Spearman |W| | Tab-PET per column | Chow-Liu tree)\n";
  return 0;
}
