// The relative and learnable text family. Each method is checked against a
// direct oracle that follows the paper's N x N (x D) formulation literally,
// written here independently of the library (relations, sinusoids and
// rescalings recomputed from their formulas), with both core implementations,
// masks, odd sizes and 1 vs 2 threads.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>

#include "posenc/attention.hpp"
#include "posenc/npy.hpp"
#include "posenc/relative.hpp"
#include "posenc/text.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using test::expect_invalid;
using test::max_abs_diff;
using test::positions;
using test::random_tensor;

constexpr double kInf = std::numeric_limits<double>::infinity();

// Literal attention for one (b, h): score(i, j) gives s_ij (-inf hides), value(i, j, c) the value row.
Tensor literal_attention(std::size_t nq, std::size_t nk, std::size_t dv, const std::function<double(std::size_t, std::size_t)>& score,
                         const std::function<double(std::size_t, std::size_t, std::size_t)>& value) {
  Tensor out = xt::zeros<float>(Shape{nq, dv});
  for (std::size_t i = 0; i < nq; ++i) {
    std::vector<double> s(nk);
    double mx = -kInf;
    for (std::size_t j = 0; j < nk; ++j) mx = std::max(mx, s[j] = score(i, j));
    if (mx == -kInf) continue;
    double z = 0;
    for (auto& x : s) z += (x = std::exp(x - mx));
    for (std::size_t c = 0; c < dv; ++c) {
      double acc = 0;
      for (std::size_t j = 0; j < nk; ++j) acc += s[j] / z * value(i, j, c);
      out(i, c) = static_cast<float>(acc);
    }
  }
  return out;
}

double dot(const Tensor& a, std::size_t b, std::size_t h, std::size_t i, const Tensor& c, std::size_t j) {
  double s = 0;
  for (std::size_t x = 0; x < a.shape()[3]; ++x) s += static_cast<double>(a(b, h, i, x)) * c(b, h, j, x);
  return s;
}

// Both core implementations against the literal oracle (per (b, h)), 1 and 2 threads bit-identical.
void check_against(const Tensor& q, const Tensor& k, const Tensor& v, const Encoding& e, const AttentionOptions& o,
                   const std::function<Tensor(std::size_t, std::size_t)>& oracle, double tol = 5e-5) {
  const Tensor ref = attention_reference(q, k, v, e, o);
  AttentionOptions t1 = o, t2 = o;
  t1.threads = 1;
  t1.query_block = 5;
  t1.key_block = 7;
  t2.threads = 2;
  t2.query_block = 5;
  t2.key_block = 7;
  const Tensor s1 = attention(q, k, v, e, t1), s2 = attention(q, k, v, e, t2), sd = attention(q, k, v, e, o);
  EXPECT_EQ(max_abs_diff(s1, s2), 0.0);
  for (std::size_t b = 0; b < q.shape()[0]; ++b)
    for (std::size_t h = 0; h < q.shape()[1]; ++h) {
      const Tensor want = oracle(b, h);
      const auto pick = [&](const Tensor& t) { return Tensor(xt::view(t, b, h, xt::all(), xt::all())); };
      EXPECT_LT(max_abs_diff(pick(ref), want), tol) << "reference, b " << b << " h " << h;
      EXPECT_LT(max_abs_diff(pick(s1), want), tol) << "streaming, b " << b << " h " << h;
      EXPECT_LT(max_abs_diff(pick(sd), want), tol) << "streaming default tiles, b " << b << " h " << h;
    }
}

TEST(Shaw, KeyAndValueTermsMatchThePaper) {
  const std::size_t n = 13, d = 8, dv = 6, heads = 2;
  const std::int64_t K = 3;
  const Tensor q = random_tensor({2, heads, n, d}, 1), k = random_tensor({2, heads, n, d}, 2),
               v = random_tensor({2, heads, n, dv}, 3);
  const ShawOptions opt{.clip = K};
  const ShawTables tab = shaw_init(opt, 1, d, dv, 0.5, 4);
  const Encoding e = shaw(positions(n), positions(n), tab, opt);
  for (bool causal : {false, true}) {
    AttentionOptions o;
    o.mask.causal = causal;
    check_against(q, k, v, e, o, [&](std::size_t b, std::size_t h) {
      auto rho = [&](std::size_t i, std::size_t j) {
        return static_cast<std::size_t>(std::clamp<std::int64_t>(std::int64_t(j) - std::int64_t(i), -K, K) + K);
      };
      return literal_attention(
          n, n, dv,
          [&](std::size_t i, std::size_t j) {
            if (causal && j > i) return -kInf;
            double s = dot(q, b, h, i, k, j);
            for (std::size_t c = 0; c < d; ++c) s += static_cast<double>(q(b, h, i, c)) * tab.key(0, rho(i, j), c);
            return s / std::sqrt(double(d));
          },
          [&](std::size_t i, std::size_t j, std::size_t c) { return double(v(b, h, j, c)) + tab.value(0, rho(i, j), c); });
    });
  }
}

TEST(Shaw, HfRelativeKeySignAndRangeCheck) {
  const std::size_t n = 9, d = 4;
  const Tensor q = random_tensor({1, 2, n, d}, 5), k = random_tensor({1, 2, n, d}, 6), v = random_tensor({1, 2, n, d}, 7);
  const ShawOptions opt{.hf_relative_key = true, .max_position_embeddings = 10};
  const ShawTables tab = shaw_init(opt, 2, d, d, 0.5, 8);
  EXPECT_EQ(tab.key.shape()[1], 19u);
  EXPECT_EQ(tab.value.size(), 1u);  // no value table in HF's relative_key (unset)
  const Encoding e = shaw(positions(n), positions(n), tab, opt);
  check_against(q, k, v, e, {}, [&](std::size_t b, std::size_t h) {
    return literal_attention(
        n, n, d,
        [&](std::size_t i, std::size_t j) {
          double s = dot(q, b, h, i, k, j);
          const std::size_t r = i - j + 9;  // distance + max_position_embeddings - 1
          for (std::size_t c = 0; c < d; ++c) s += static_cast<double>(q(b, h, i, c)) * tab.key(h, r, c);
          return s / 2.0;
        },
        [&](std::size_t, std::size_t j, std::size_t c) { return double(v(b, h, j, c)); });
  });
  // 12 tokens do not fit a table of max_position_embeddings = 10: an error, not a clamp.
  const Tensor q12 = random_tensor({1, 2, 12, d}, 9);
  expect_invalid([&] { attention(q12, q12, q12, shaw(positions(12), positions(12), tab, opt)); },
                 {"attention", "content_position[0]", "clipping is off"});
}

TEST(TransformerXL, MemoryKeepsRelativeDistances) {
  // M = 3 cached keys, Q = 5 queries: keys 0..7, queries at 3..7, r = i + M - j.
  const std::size_t m = 3, nq = 5, nk = 8, heads = 2, dh = 4, dmodel = 6;
  const TransformerXLOptions opt{.d_model = dmodel, .heads = heads, .head_dim = dh};
  const TransformerXLParams p = transformer_xl_init(opt, 0.5, 10);
  const Tensor q = random_tensor({1, heads, nq, dh}, 11), k = random_tensor({1, heads, nk, dh}, 12),
               v = random_tensor({1, heads, nk, dh}, 13);
  AttentionOptions o;
  o.mask.causal = true;  // bottom-right: query i sees keys j <= i + M
  for (std::int64_t clamp : {-1, 2}) {
    TransformerXLOptions oc = opt;
    oc.clamp_len = clamp;
    const Encoding e = transformer_xl(positions(nq, m), positions(nk), p, oc);
    check_against(q, k, v, e, o, [&](std::size_t b, std::size_t h) {
      return literal_attention(
          nq, nk, dh,
          [&](std::size_t i, std::size_t j) {
            const std::int64_t r0 = std::int64_t(i + m) - std::int64_t(j);
            if (r0 < 0) return -kInf;
            const double r = double(clamp > 0 ? std::min<std::int64_t>(r0, clamp) : r0);
            double s = 0;
            for (std::size_t c = 0; c < dh; ++c) {
              // W_R R_r for this head's channel c, R_r = [sin(r w) | cos(r w)], w_k = 1e4^(-2k/d_model)
              double wr = 0;
              for (std::size_t x = 0; x < dmodel / 2; ++x) {
                const double w = std::pow(1e4, -2.0 * double(x) / dmodel);
                wr += p.w_r(h * dh + c, x) * std::sin(r * w) + p.w_r(h * dh + c, dmodel / 2 + x) * std::cos(r * w);
              }
              s += (double(q(b, h, i, c)) + p.u(h, c)) * k(b, h, j, c) + (double(q(b, h, i, c)) + p.v(h, c)) * wr;
            }
            return s / std::sqrt(double(dh));
          },
          [&](std::size_t, std::size_t j, std::size_t c) { return double(v(b, h, j, c)); });
    });
  }
}

TEST(Tener, CodeAndPaperForms) {
  const std::size_t n = 11, heads = 2, dh = 8;
  const TenerOptions opt{.heads = heads, .head_dim = dh};
  const TenerParams p = tener_init(opt, 14);
  const Tensor q = random_tensor({1, heads, n, dh}, 15, 0.5), k = random_tensor({1, heads, n, dh}, 16, 0.5),
               v = random_tensor({1, heads, n, dh}, 17);
  // R_t = [sin(t w) | cos(t w)], w_k = exp(-k ln(1e4)/(m - 1)), m = dh/2: odd in t through the sine half.
  auto R = [&](double t, std::size_t c) {
    const std::size_t m = dh / 2;
    const double w = std::exp(-double(c % m) * std::log(1e4) / double(m - 1));
    return c < m ? std::sin(t * w) : std::cos(t * w);
  };
  const Tensor table = tener_sinusoid(-3, 3, dh);
  EXPECT_NEAR(table(6, 1), -table(0, 1), 1e-7);  // sin part odd: R_3 = -R_-3
  EXPECT_NEAR(table(6, 5), table(0, 5), 1e-7);   // cos part even
  for (bool paper : {false, true}) {
    TenerOptions o2 = opt;
    o2.paper_form = paper;
    const Encoding e = tener(positions(n), positions(n), p, o2);
    check_against(q, k, v, e, {}, [&](std::size_t b, std::size_t h) {
      return literal_attention(
          n, n, dh,
          [&](std::size_t i, std::size_t j) {
            const double jmi = double(j) - double(i);
            double s = 0;
            for (std::size_t c = 0; c < dh; ++c) {
              const double qi = q(b, h, i, c), kj = k(b, h, j, c), u = p.u(h, c), vv = p.v(h, c);
              if (!paper) s += (qi + vv) * kj + qi * R(jmi, c) + u * R(jmi, c) + kj * R(-jmi, c);
              else s += qi * kj + u * kj + (qi + vv) * R(-jmi, c);
            }
            return s;  // un-scaled, as the reference code
          },
          [&](std::size_t, std::size_t j, std::size_t c) { return double(v(b, h, j, c)); });
    });
  }
}

TEST(Huang, FourMethodsMatchTheirFormulas) {
  const std::size_t n = 10, heads = 2, d = 4;
  const std::int64_t D = 3;
  const Tensor q = random_tensor({1, heads, n, d}, 18), k = random_tensor({1, heads, n, d}, 19),
               v = random_tensor({1, heads, n, d}, 20);
  for (int method = 1; method <= 4; ++method) {
    const HuangOptions opt{.method = method, .max_distance = D};
    Tensor table = huang_init(opt, heads, d, 0.3, 21);
    if (method <= 3) table = table + random_tensor(Shape(table.shape().begin(), table.shape().end()), 22, 0.3);
    const Encoding e = huang(positions(n), positions(n), table, opt);
    AttentionOptions o;
    o.mask.causal = method == 2;
    check_against(q, k, v, e, o, [&](std::size_t b, std::size_t h) {
      return literal_attention(
          n, n, d,
          [&](std::size_t i, std::size_t j) {
            if (o.mask.causal && j > i) return -kInf;
            const std::int64_t imj = std::clamp<std::int64_t>(std::int64_t(i) - std::int64_t(j), -D, D);
            const std::size_t sgn = static_cast<std::size_t>(imj + D), ab = static_cast<std::size_t>(std::abs(imj));
            double s = 0;
            switch (method) {
              case 1: s = dot(q, b, h, i, k, j) * table(h, ab); break;
              case 2: s = dot(q, b, h, i, k, j) * table(h, sgn); break;
              case 3:
                for (std::size_t c = 0; c < d; ++c) s += double(q(b, h, i, c)) * k(b, h, j, c) * table(h, sgn, c);
                break;
              default:
                s = dot(q, b, h, i, k, j);
                for (std::size_t c = 0; c < d; ++c) s += (double(q(b, h, i, c)) + k(b, h, j, c)) * table(h, sgn, c);
            }
            return s / std::sqrt(double(d));
          },
          [&](std::size_t, std::size_t j, std::size_t c) { return double(v(b, h, j, c)); });
    });
  }
}

TEST(DaTransformer, ReluAndLearnedSigmoidRescaling) {
  const std::size_t n = 12, heads = 3, d = 4;
  DaParams p;
  p.v = test::make({3}, {0.5f, -1.0f, 2.0f});
  p.w = test::make({3}, {0.3f, -0.4f, 1.5f});
  const Tensor q = random_tensor({2, heads, n, d}, 23), k = random_tensor({2, heads, n, d}, 24),
               v = random_tensor({2, heads, n, d}, 25);
  const Encoding e = da_transformer(positions(n), positions(n), p);
  const Tensor resc = da_rescaling(p, 5);
  for (std::size_t h = 0; h < 3; ++h) EXPECT_NEAR(resc(h, 0), 1.0f, 1e-7);  // 1 at distance 0
  EXPECT_LT(resc(2, 5), 1 + std::exp(2.0));                                  // bounded by 1 + e^v
  AttentionOptions o;
  o.mask.key_lengths = {12, 7};
  check_against(q, k, v, e, o, [&](std::size_t b, std::size_t h) {
    return literal_attention(
        n, n, d,
        [&](std::size_t i, std::size_t j) {
          if (b == 1 && j >= 7) return -kInf;
          const double vh = p.v(h), wh = p.w(h), r = std::abs(double(i) - double(j));
          const double rhat = (1 + std::exp(vh)) / (1 + std::exp(vh - wh * r));
          return std::max(dot(q, b, h, i, k, j), 0.0) * rhat / std::sqrt(double(d));
        },
        [&](std::size_t, std::size_t j, std::size_t c) { return double(v(b, h, j, c)); });
  });
}

TEST(ReformerAxial, ConcatenatesFactorRowsFirstAxisSlowest) {
  const auto tables = reformer_axial_init({4, 8}, {3, 5}, 1.0, 26);
  const Encoding e = reformer_axial(tables, positions(32));
  ASSERT_EQ(e.input_add.shape()[2], 8u);
  for (std::size_t p = 0; p < 32; ++p)
    for (std::size_t c = 0; c < 8; ++c)
      EXPECT_EQ(e.input_add(0, p, c), c < 3 ? tables[0](p / 8, c) : tables[1](p % 8, c - 3));
  const auto three = reformer_axial_init({2, 3, 4}, {1, 1, 1}, 1.0, 27);
  const Encoding e3 = reformer_axial(three, positions(24));
  EXPECT_EQ(e3.input_add(0, 17, 0), three[0](1, 0));  // 17 = 1*12 + 1*4 + 1
  EXPECT_EQ(e3.input_add(0, 17, 1), three[1](1, 0));
  EXPECT_EQ(e3.input_add(0, 17, 2), three[2](1, 0));
  expect_invalid([&] { reformer_axial(tables, positions(33)); }, {"reformer_axial", "position 32", "32"});
  expect_invalid([] { reformer_axial_init({4}, {3}); }, {"reformer_axial_init", "'shape'"});
  expect_invalid([] { reformer_axial_init({4, 0}, {3, 3}); }, {"reformer_axial_init", "'shape'", "0"});
}

TEST(ContinuousMlp, EvaluatesTheMlpAndExtrapolates) {
  ContinuousMlp mlp({.hidden = 2, .output_dim = 1, .activation = Activation::relu, .reference_length = 4});
  mlp.w1 = test::make({2, 1}, {1.0f, -2.0f});
  mlp.b1 = test::make({2}, {0.5f, 1.0f});
  mlp.w2 = test::make({1, 2}, {3.0f, 1.0f});
  mlp.b2 = test::make({1}, {-1.0f});
  const Tensor out = mlp.encode(positions(9));  // positions past the training length 4 still evaluate
  for (int p = 0; p < 9; ++p) {
    const double x = p / 4.0;
    EXPECT_NEAR(out(0, p, 0), 3 * std::max(x + 0.5, 0.0) + std::max(-2 * x + 1, 0.0) - 1, 1e-6);
  }
  const auto dir = std::filesystem::temp_directory_path() / "posenc_mlp_test";
  std::filesystem::create_directories(dir);
  mlp.save(dir.string());
  const ContinuousMlp back = ContinuousMlp::load(dir.string(), mlp.config());
  EXPECT_EQ(max_abs_diff(back.encode(positions(9)), out), 0.0);
  expect_invalid([&] { ContinuousMlp::load(dir.string(), {.hidden = 3, .output_dim = 1}); },
                 {"ContinuousMlp::load", "'w1'", "[2, 1]", "[3, 1]"});
  std::filesystem::remove_all(dir);
  expect_invalid([] { ContinuousMlp({.output_dim = 0}); }, {"ContinuousMlp", "'output_dim'", "0"});
}

TEST(LearnedFourier, FeaturesThenMlp) {
  LearnedFourier lf({.fourier_dim = 2, .hidden = 1, .output_dim = 1});
  lf.w_r = test::make({1, 1, 1}, {0.7f});
  lf.w1 = test::make({1, 1, 2}, {1.0f, 2.0f});
  lf.b1 = test::make({1, 1}, {0.1f});
  lf.w2 = test::make({1, 1, 1}, {1.5f});
  lf.b2 = test::make({1, 1}, {0.2f});
  const Tensor out = lf.encode(positions(6, 100));
  auto gelu = [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); };
  for (int t = 0; t < 6; ++t) {
    // The parameters as stored (float): 0.7f, 0.1f, 0.2f are not exact in binary.
    const double p = 100 + t, a = double(0.7f) * p;
    const double f0 = std::cos(a) / std::sqrt(2.0), f1 = std::sin(a) / std::sqrt(2.0);
    EXPECT_NEAR(out(0, t, 0), 1.5 * gelu(f0 + 2 * f1 + double(0.1f)) + double(0.2f), 1e-6);
  }
  // Seeded initialisation: W_r ~ N(0, 1/gamma^2).
  LearnedFourier big({.fourier_dim = 4096, .output_dim = 8, .gamma = 4.0}, 3);
  double s2 = 0;
  for (float w : big.w_r) s2 += double(w) * w;
  EXPECT_NEAR(std::sqrt(s2 / big.w_r.size()), 0.25, 0.02);
  expect_invalid([] { LearnedFourier({.fourier_dim = 3, .output_dim = 4}); }, {"LearnedFourier", "'fourier_dim'", "3"});
  expect_invalid([] { LearnedFourier({.groups = 3, .output_dim = 4}); }, {"LearnedFourier", "divisible", "3"});
}

TEST(RelativeErrors, BadShapesAndParameters) {
  expect_invalid([] { shaw_rows({.clip = 0}); }, {"shaw", "'clip'", "0"});
  expect_invalid([] { shaw_rows({.clip = -2}); }, {"shaw", "'clip'", "-2"});
  const ShawOptions opt{.clip = 2};
  ShawTables bad = shaw_init(opt, 1, 4, 4);
  bad.key = random_tensor({1, 4, 4}, 1);
  expect_invalid([&] { shaw(positions(5), positions(5), bad, opt); }, {"shaw", "key table", "5", "[1, 4, 4]"});
  // A table with the wrong head dimension is caught when it meets the attention shapes.
  const ShawTables wrong = shaw_init(opt, 1, 6, 4);
  const Tensor q = random_tensor({1, 1, 5, 4}, 2);
  expect_invalid([&] { attention(q, q, q, shaw(positions(5), positions(5), wrong, opt)); },
                 {"attention", "content_position[0].table", "6", "4"});
  expect_invalid([] { huang_init({.method = 5}, 1, 4); }, {"huang", "'method'", "5"});
  expect_invalid([] { huang(positions(4), positions(4), random_tensor({1, 3}, 1), {.method = 1, .max_distance = 3}); },
                 {"huang", "table", "4", "[1, 3]"});
  TransformerXLOptions t{.d_model = 6, .heads = 2, .head_dim = 4};
  TransformerXLParams p = transformer_xl_init(t);
  p.u = random_tensor({2, 3}, 1);
  expect_invalid([&] { transformer_xl(positions(3), positions(3), p, t); }, {"transformer_xl", "'u'", "[2, 4]", "[2, 3]"});
  expect_invalid([] { transformer_xl_init({.d_model = 5, .heads = 1, .head_dim = 4}); }, {"'d_model'", "5"});
  DaParams da{random_tensor({2}, 1), random_tensor({3}, 2)};
  expect_invalid([&] { da_transformer(positions(3), positions(3), da); }, {"da_rescaling", "'v'", "'w'"});
  expect_invalid([] { tener_sinusoid(0, 3, 3); }, {"tener_sinusoid", "'head_dim'", "3"});
}

}  // namespace
}  // namespace posenc

namespace posenc {
namespace {

std::string relative_data(const std::string& rel) { return std::string(POSENC_TEST_DATA) + "/" + rel; }

// HF transformers' BertSelfAttention, relative_key and relative_key_query
// (tests/data/gen_hf_bert_relative.py): posenc's Shaw (hf_relative_key) and Huang method 4.
TEST(RelativeReference, HfBertRelativeKeyAndKeyQuery) {
  const Tensor q = load_npy(relative_data("hf_bert_relative/q.npy")), k = load_npy(relative_data("hf_bert_relative/k.npy")),
               v = load_npy(relative_data("hf_bert_relative/v.npy")), table = load_npy(relative_data("hf_bert_relative/table.npy"));
  const std::size_t heads = q.shape()[1], n = q.shape()[2], dh = q.shape()[3];
  const std::int64_t max_pos = static_cast<std::int64_t>(table.shape()[0] + 1) / 2;
  Tensor t3 = table;
  t3.reshape({1, table.shape()[0], table.shape()[1]});
  const DTensor p = positions(n);
  const ShawOptions so{.value_term = false, .hf_relative_key = true, .max_position_embeddings = max_pos};
  const Encoding key_only = shaw(p, p, ShawTables{t3, {}}, so);
  const Encoding key_query = huang(p, p, t3, HuangOptions{.method = 4, .max_distance = max_pos - 1, .clip = false});
  for (auto [enc, file] : {std::pair{&key_only, "hf_bert_relative/out_relative_key.npy"},
                           std::pair{&key_query, "hf_bert_relative/out_relative_key_query.npy"}}) {
    const Tensor want = load_npy(relative_data(file));  // [1, N, H * dh]
    for (const Tensor& got : {attention(q, k, v, *enc), attention_reference(q, k, v, *enc)})
      for (std::size_t h = 0; h < heads; ++h)
        for (std::size_t i = 0; i < n; ++i)
          for (std::size_t c = 0; c < dh; ++c) EXPECT_NEAR(got(0, h, i, c), want(0, i, h * dh + c), 2e-6) << file;
  }
}

// kimiyoung/transformer-xl RelPartialLearnableMultiHeadAttn with 3 memory tokens
// (tests/data/gen_txl_relative.py): the attention vector before o_net.
TEST(RelativeReference, TransformerXlWithMemory) {
  const Tensor q = load_npy(relative_data("txl_relative/q.npy")), k = load_npy(relative_data("txl_relative/k.npy")),
               v = load_npy(relative_data("txl_relative/v.npy"));
  TransformerXLParams p{load_npy(relative_data("txl_relative/w_r.npy")), load_npy(relative_data("txl_relative/u.npy")),
                        load_npy(relative_data("txl_relative/v_bias.npy"))};
  const std::size_t heads = q.shape()[1], nq = q.shape()[2], nk = k.shape()[2], dh = q.shape()[3];
  const TransformerXLOptions o{.d_model = static_cast<std::int64_t>(p.w_r.shape()[1]),
                               .heads = static_cast<std::int64_t>(heads), .head_dim = static_cast<std::int64_t>(dh)};
  const Encoding e = transformer_xl(positions(nq, static_cast<double>(nk - nq)), positions(nk), p, o);
  AttentionOptions causal;
  causal.mask.causal = true;
  const Tensor want = load_npy(relative_data("txl_relative/attn_vec.npy"));  // [Q, H * dh]
  for (const Tensor& got : {attention(q, k, v, e, causal), attention_reference(q, k, v, e, causal)})
    for (std::size_t h = 0; h < heads; ++h)
      for (std::size_t i = 0; i < nq; ++i)
        for (std::size_t c = 0; c < dh; ++c) EXPECT_NEAR(got(0, h, i, c), want(i, h * dh + c), 2e-6);
}

// fastnlp/TENER RelativeMultiHeadAttn (scale=False), a batch with padded keys
// (tests/data/gen_tener_relative.py): posenc's TENER in the code form.
TEST(RelativeReference, TenerSource) {
  const Tensor q = load_npy(relative_data("tener_relative/q.npy")), k = load_npy(relative_data("tener_relative/k.npy")),
               v = load_npy(relative_data("tener_relative/v.npy"));
  const ITensor mask = load_npy_int(relative_data("tener_relative/mask.npy"));
  const TenerParams p{load_npy(relative_data("tener_relative/u.npy")), load_npy(relative_data("tener_relative/v_bias.npy"))};
  const std::size_t batch = q.shape()[0], heads = q.shape()[1], n = q.shape()[2], dh = q.shape()[3];
  const Encoding e = tener(positions(n), positions(n), p,
                           {.heads = static_cast<std::int64_t>(heads), .head_dim = static_cast<std::int64_t>(dh)});
  AttentionOptions o;
  for (std::size_t b = 0; b < batch; ++b) {
    std::int64_t len = 0;
    for (std::size_t j = 0; j < n; ++j) len += mask(b, j);
    o.mask.key_lengths.push_back(len);
  }
  const Tensor want = load_npy(relative_data("tener_relative/out.npy"));  // [B, N, H * dh]
  for (const Tensor& got : {attention(q, k, v, e, o), attention_reference(q, k, v, e, o)})
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t h = 0; h < heads; ++h)
        for (std::size_t i = 0; i < n; ++i)
          for (std::size_t c = 0; c < dh; ++c) EXPECT_NEAR(got(b, h, i, c), want(b, i, h * dh + c), 3e-6);
}

}  // namespace
}  // namespace posenc
