// The one name table of every enum the catalogue reads. The first name is canonical (what
// describe() and the files show); the aliases are the other spellings the reference configs use.
#include "posenc/catalogue.hpp"

namespace posenc::catalogue {

#define POSENC_ENUM_TABLE(E, ...)                                   \
  template <>                                                       \
  const std::vector<EnumName<E>>& enum_table<E>() {                 \
    static const std::vector<EnumName<E>> table = {__VA_ARGS__};    \
    return table;                                                   \
  }

POSENC_ENUM_TABLE(PairLayout, {PairLayout::halves, "halves", {"neox"}},
                  {PairLayout::interleaved, "interleaved", {"adjacent", "gptj"}})
POSENC_ENUM_TABLE(RopeScaling, {RopeScaling::none, "default", {"none"}}, {RopeScaling::linear, "linear", {}},
                  {RopeScaling::ntk, "ntk", {"static_ntk"}}, {RopeScaling::dynamic, "dynamic", {"dynamic_ntk"}},
                  {RopeScaling::yarn, "yarn", {}}, {RopeScaling::longrope, "longrope", {}},
                  {RopeScaling::llama3, "llama3", {}})
POSENC_ENUM_TABLE(SinusoidLayout, {SinusoidLayout::interleaved, "interleaved", {}},
                  {SinusoidLayout::blocked, "blocked", {}})
POSENC_ENUM_TABLE(SinusoidExponent, {SinusoidExponent::paper, "paper", {}},
                  {SinusoidExponent::t2t, "t2t", {"fairseq"}})
POSENC_ENUM_TABLE(Activation, {Activation::gelu, "gelu", {}}, {Activation::relu, "relu", {}},
                  {Activation::tanh, "tanh", {}})
POSENC_ENUM_TABLE(PositionScaling, {PositionScaling::divide, "divide", {}}, {PositionScaling::none, "none", {}},
                  {PositionScaling::minus1to1, "minus1to1", {}})
POSENC_ENUM_TABLE(Interpolation, {Interpolation::bicubic, "bicubic", {}}, {Interpolation::bilinear, "bilinear", {"linear"}},
                  {Interpolation::nearest, "nearest", {}})
POSENC_ENUM_TABLE(SinCos2dLayout, {SinCos2dLayout::mae, "mae", {}}, {SinCos2dLayout::timm, "timm", {}},
                  {SinCos2dLayout::timm_interleaved, "timm_interleaved", {}})
POSENC_ENUM_TABLE(Rope2dLayout, {Rope2dLayout::eva, "eva", {}}, {Rope2dLayout::rope_vit, "rope_vit", {}},
                  {Rope2dLayout::qwen2vl, "qwen2vl", {}})
POSENC_ENUM_TABLE(SinCos3dLayout, {SinCos3dLayout::scenic, "scenic", {}},
                  {SinCos3dLayout::positional_encodings, "positional_encodings", {}})
POSENC_ENUM_TABLE(VivitInit, {VivitInit::resize, "resize", {}}, {VivitInit::tile, "tile", {}},
                  {VivitInit::resize_tile, "resize_tile", {}})
POSENC_ENUM_TABLE(TableAdaptation, {TableAdaptation::crop_or_interpolate, "crop_or_interpolate", {}},
                  {TableAdaptation::interpolate, "interpolate", {}})
POSENC_ENUM_TABLE(LatLonGrid, {LatLonGrid::with_poles, "with_poles", {}},
                  {LatLonGrid::without_poles, "without_poles", {}})
POSENC_ENUM_TABLE(Sphere2VecVariant, {Sphere2VecVariant::sphere_c, "sphere_c", {"spherec"}},
                  {Sphere2VecVariant::sphere_c_plus, "sphere_c_plus", {"spherecplus"}},
                  {Sphere2VecVariant::sphere_m, "sphere_m", {"spherem"}},
                  {Sphere2VecVariant::sphere_m_plus, "sphere_m_plus", {"spheremplus"}},
                  {Sphere2VecVariant::grid, "grid", {}}, {Sphere2VecVariant::theory, "theory", {}})
POSENC_ENUM_TABLE(SphericalConvention, {SphericalConvention::locationencoder, "locationencoder", {}},
                  {SphericalConvention::colatitude, "colatitude", {}})
POSENC_ENUM_TABLE(PathChoice, {PathChoice::floyd_warshall, "floyd_warshall", {}},
                  {PathChoice::bfs_tree, "bfs_tree", {"bfs"}})
POSENC_ENUM_TABLE(DegreeKind, {DegreeKind::in, "in", {}}, {DegreeKind::out, "out", {}},
                  {DegreeKind::total, "total", {}})
POSENC_ENUM_TABLE(LaplacianKind, {LaplacianKind::symmetric, "sym", {"symmetric"}},
                  {LaplacianKind::random_walk, "rw", {"random_walk"}},
                  {LaplacianKind::combinatorial, "comb", {"combinatorial"}})
POSENC_ENUM_TABLE(EigenSolver, {EigenSolver::automatic, "auto", {"automatic"}}, {EigenSolver::dense, "dense", {}},
                  {EigenSolver::sparse, "sparse", {}})
POSENC_ENUM_TABLE(FeatureGraphMethod, {FeatureGraphMethod::spearman, "spearman", {}},
                  {FeatureGraphMethod::pearson, "pearson", {}}, {FeatureGraphMethod::chowliu, "chowliu", {"chow_liu"}})
POSENC_ENUM_TABLE(ColumnType, {ColumnType::numeric, "numeric", {}}, {ColumnType::categorical, "categorical", {}},
                  {ColumnType::boolean, "boolean", {}})

#undef POSENC_ENUM_TABLE

}  // namespace posenc::catalogue
