// Changed values for every catalogue field (tests/test_catalogue.cpp builds each entry with them,
// tests/test_cli_catalogue.cpp runs `posenc encode` with them): a learnable table is the default
// build's table halved, a few fields get hand-picked values, the rest a generic change of their
// default; companions() are the fields that must change together with another.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "posenc/catalogue.hpp"
#include "posenc/npy.hpp"

namespace posenc::test {

namespace cat = catalogue;
namespace fs = std::filesystem;

template <class T>
xt::xarray<T> half(const cat::Array& a) {
  return std::visit([](const auto& t) {
    xt::xarray<T> out = xt::xarray<T>::from_shape(t.shape());
    std::transform(t.begin(), t.end(), out.begin(), [](auto x) { return static_cast<T>(x * 0.5); });
    return out;
  }, a);
}

/// Arrays to load a table from: the default build's array, halved.
inline std::vector<cat::Value> table_candidates(const cat::EntryInfo& e, const cat::FieldInfo& f, const cat::Built& base) {
  std::vector<cat::Value> out;
  for (const auto& t : e.tables) {
    if (t.field != f.name) continue;
    if (f.type == cat::FieldType::tensor_list) {
      std::vector<Tensor> list;
      for (std::size_t a = 0; const cat::Array* arr = base.array("table_" + std::to_string(a)); ++a) list.push_back(half<float>(*arr));
      out.push_back(list);
    } else if (const cat::Array* arr = base.array(t.array)) {
      if (f.type == cat::FieldType::tensor) out.push_back(half<float>(*arr));
      if (f.type == cat::FieldType::real_list) {
        const Tensor h = half<float>(*arr);
        out.push_back(std::vector<double>(h.begin(), h.end()));
      }
    }
  }
  return out;
}

inline std::vector<cat::Value> special_candidates(const std::string& entry, const std::string& field, const fs::path& tmp,
                                           const cat::Built& base) {
  if (field == "points") return {DTensor{{0.0, 10.0}, {30.0, -20.0}, {-120.0, 45.0}, {170.0, 89.0}, {-179.0, -60.0}}};
  if (field == "valid") {
    ITensor v = xt::ones<std::int64_t>({14, 14});
    xt::view(v, xt::all(), 12) = 0;
    return {v};
  }
  if (field == "edges") {
    ITensor e = ITensor::from_shape({12, 2});
    for (std::int64_t i = 0; i < 12; ++i) e(i, 0) = i, e(i, 1) = (i + 1) % 12;
    return {e};
  }
  if (field == "weights" && entry != "continuous_mlp" && entry != "learned_fourier")
    return {std::vector<double>(14, 2.0)};  // the example graph's 14 edges
  if (field == "weights") {  // a directory of .npy files named as the arrays
    const fs::path dir = tmp / (entry + "_weights");
    fs::create_directories(dir);
    for (const auto& [stem, a] : base.arrays)
      if (const auto* t = std::get_if<Tensor>(&a); t && stem != "input_add") save_npy((dir / (stem + ".npy")).string(), *t);
    return {dir.string()};
  }
  if (field == "edge_features") return {ITensor(xt::ones<std::int64_t>({14, 2}))};
  if (field == "segments") return {std::string("text:2,image:1x2x2,video:2x2x2@0.5,text:1")};
  if (field == "values") {
    DTensor m = DTensor::from_shape({40, 4});
    for (std::size_t r = 0; r < 40; ++r)
      for (std::size_t c = 0; c < 4; ++c) m(r, c) = std::sin(0.3 * r * (c + 1)) + (c == 1 ? m(r, 0) : 0.0);
    return {m};
  }
  if (field == "csv") {
    const fs::path p = tmp / "table.csv";
    std::ofstream f(p);
    f << "a,b,c,d\n";
    for (int r = 0; r < 30; ++r) f << r << "," << r * r % 7 << "," << std::sin(r) << "," << (r % 2 ? "x" : "y") << "\n";
    return {p.string()};
  }
  if (field == "drop") return {std::string("x4")};
  if (field == "source_grid") return {std::string("without_poles")};
  return {};
}

inline std::vector<cat::Value> generic_candidates(const cat::FieldInfo& f) {
  std::vector<cat::Value> out;
  const auto& d = f.default_value;
  switch (f.type) {
    case cat::FieldType::boolean: out.push_back(d ? !std::get<bool>(*d) : true); break;
    case cat::FieldType::integer: {
      const std::int64_t v = d ? std::get<std::int64_t>(*d) : 0;
      for (std::int64_t c : {v * 2, v / 2, v + 4, v - 4, v + 1, v - 1, std::int64_t{8}, std::int64_t{4}, std::int64_t{2},
                             std::int64_t{12}, std::int64_t{1}, std::int64_t{3}, std::int64_t{32}})
        if (c != v) out.push_back(c);
      break;
    }
    case cat::FieldType::real: {
      const double v = d ? std::get<double>(*d) : 0.0;
      for (double c : {v * 0.5, v * 2, v + 1, 0.5, 2.0, 1.5})
        if (c != v) out.push_back(c);
      break;
    }
    case cat::FieldType::choice:
      for (const auto& c : f.choices)
        if (!d || c != std::get<std::string>(*d)) out.push_back(c);
      break;
    case cat::FieldType::integer_list: {
      std::vector<std::int64_t> v = d ? std::get<std::vector<std::int64_t>>(*d) : std::vector<std::int64_t>{};
      if (v.size() > 1) {
        std::vector<std::int64_t> r(v.rbegin(), v.rend());
        out.push_back(r);
        std::rotate(v.begin(), v.begin() + 1, v.end());
        out.push_back(v);
      }
      out.push_back(std::vector<std::int64_t>{10, 11, 11});
      out.push_back(std::vector<std::int64_t>{128, 64});
      break;
    }
    case cat::FieldType::real_list: out.push_back(std::vector<double>(32, 1.0)); break;
    default: break;
  }
  return out;
}

/// Fields that only change together with another (the library checks them against each other).
inline cat::Values companions(const std::string& entry, const std::string& field, const cat::Value& v) {
  cat::Values out;
  if (entry == "fourier_features" && (field == "ref_height" || field == "ref_width"))
    out[field == "ref_height" ? "ref_width" : "ref_height"] = std::int64_t{16};
  if (entry == "timesformer" && (field == "source_height" || field == "source_width"))
    out[field == "source_height" ? "source_width" : "source_height"] = v;  // a square source grid
  if (entry == "relative_bias_2d" && field == "class_token") out["prefix_tokens"] = std::int64_t{1};
  if (entry == "relative_bias_2d" && field == "prefix_tokens") out["class_token"] = true;
  if (entry == "mrope" && field == "head_dim") out["mrope_section"] = std::vector<std::int64_t>{8, 12, 12};
  return out;
}

}  // namespace posenc::test
