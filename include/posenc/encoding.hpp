// posenc/encoding.hpp — the one encoding contract shared by every method and modality.
//
// Adding a position signal to token content expands an attention score into
// content-content, content-position, position-content and position-position
// terms. The attention core (posenc/attention.hpp) evaluates, per batch b,
// head h, query i and key j:
//
//   s_ij = scale * [ sum_c (R_i q_i)_c (R_j k_j)_c W_c          rotation         (RoPE family, XPos)
//                                                               W = prod_w w_h[rho_w(i,j)], 1 if none (Huang 3)
//                  + sum_c (q_i + c_h) . aK_h[rho_c(i,j)]       content_position (Shaw, Transformer-XL, TENER, Huang 4)
//                  + sum_p k_j . aQ_h[rho_p(i,j)]               position_content (Huang 4, TENER)
//                  + u_h . k_j ]                                content_bias     (Transformer-XL, TENER)
//        + sum_b b_h(i, j)                                      biases           (ALiBi, T5, Swin/BEiT, Graphormer)
//   s_ij <- g(s_ij) * prod_m m_h[rho_m(i,j)]                    multipliers, g = ReLU if score_relu
//   p_ij  = softmax_j(s_ij + mask_ij)
//   out_i = sum_j p_ij (v_j + sum_v aV_h[rho_v(i,j)])           value            (Shaw)
//
// plus the input-side parts input_add (added to token embeddings) and
// input_concat (concatenated to them), which the caller or the attention layer
// applies with apply_input(). scale is 1/sqrt(head_dim) unless the encoding or
// the caller sets it. Position-position biases are added to the *scaled*
// logits, as ALiBi, T5, Swin and Graphormer do.
//
// Relative terms are indexed, not materialised: each carries a Relation, a
// rule that the core evaluates per tile from the query and key positions.
// Queries and keys carry their own positions, so cross-attention, KV caches
// and one-token decoding need no special cases.
//
// Shapes: "H|1" means either the number of query heads or 1 (shared by all
// heads); "B|1" likewise for the batch. All tensors are row-major.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "posenc/tensor.hpp"

/// posenc: positional encodings for transformers behind one encoding contract
/// (Encoding, this header) and one shared attention core (posenc/attention.hpp).
/// Formulas, defaults and sources of every method: docs/methods.md.
namespace posenc {

// --------------------------------------------------------------------- relations

/// How a relation rho(i, j) is computed from positions.
enum class RelationKind {
  offset,     ///< r = direction * (p_key - p_query) on axis 0, optionally clipped to [min, max]
  distance,   ///< r = |p_key - p_query| on axis 0, optionally clipped to [0, max]
  euclidean,  ///< r = || p_key - p_query ||_2 over all axes (a real value; for slope biases)
  t5_bucket,  ///< r = T5 log bucket of n = p_key - p_query (Raffel et al. 2020, HF T5)
  geodesic,   ///< r = great-circle angle between unit vectors (radians); optional log buckets
  index,      ///< r = indices[b, i, j], an explicit integer matrix (shortest paths, 2D windows)
};

/// A relation rho(i, j) between query i and key j, evaluated per tile by the core.
///
/// Positions are `[B|1, tokens, axes]` doubles (axes >= 1). For table lookups
/// the relation yields an integer index in [0, size); for slope biases it
/// yields a real value. Build one with the static constructors below.
struct Relation {
  RelationKind kind = RelationKind::offset;  ///< the rule [offset]
  DTensor query_positions;  ///< [B|1, Nq, A]
  DTensor key_positions;    ///< [B|1, Nk, A]
  int direction = 1;        ///< offset: +1 gives key - query (Shaw, T5, TENER), -1 query - key (HF BERT, ALiBi, Transformer-XL)
  bool bounded = false;     ///< offset/distance: whether [min, max] applies
  bool clip = true;         ///< bounded: clamp into [min, max] (true) or reject positions outside it (false)
  std::int64_t min = 0;     ///< offset/distance: smallest index value
  std::int64_t max = 0;     ///< offset/distance: largest index value
  bool bidirectional = true;        ///< t5_bucket
  std::int64_t num_buckets = 32;    ///< t5_bucket
  std::int64_t max_distance = 128;  ///< t5_bucket
  std::vector<std::int32_t> bucket_of_distance;  ///< t5_bucket: bucket for m = 0.. (saturates after the last entry)
  double resolution = 0;    ///< geodesic buckets: angle of one exact bucket (radians)
  double max_angle = 0;     ///< geodesic buckets: angle where the log buckets saturate (radians)
  ITensor indices;          ///< index: [B|1, Nq, Nk]
  std::int64_t size = 0;    ///< number of distinct indices (table rows); 0 for value-only relations

  /// r = direction * (p_key - p_query), clipped (clip = true) or checked (clip = false) to [min, max].
  /// Index = r - min, size = max - min + 1. Unbounded when min > max is not given (use offset_unbounded).
  static Relation offset(const DTensor& query_positions, const DTensor& key_positions, int direction,
                         std::int64_t min, std::int64_t max, bool clip = true);
  /// r = direction * (p_key - p_query) without bounds: a value for slope biases (ALiBi), no index.
  static Relation offset_unbounded(const DTensor& query_positions, const DTensor& key_positions, int direction);
  /// r = min(|p_key - p_query|, max) (clip) ; index = r ; size = max + 1. max < 0 means unbounded (value only).
  static Relation distance(const DTensor& query_positions, const DTensor& key_positions, std::int64_t max = -1,
                           bool clip = true);
  /// r = || p_key - p_query ||_2 over all axes (value only).
  static Relation euclidean(const DTensor& query_positions, const DTensor& key_positions);
  /// T5 bucket of n = p_key - p_query: see posenc/text.hpp t5_bucket() for the formula.
  static Relation t5(const DTensor& query_positions, const DTensor& key_positions, bool bidirectional,
                     std::int64_t num_buckets, std::int64_t max_distance);
  /// Great-circle angle d = 2 atan2(|u_i - u_j|, |u_i + u_j|) between unit vectors [B|1, N, 3]
  /// (accurate near 0 and pi, unlike acos). With num_buckets > 0 it also has an index:
  /// with e = B/2 and m = d / resolution, m < e gives floor(m), otherwise
  /// min(B - 1, e + floor(ln(m/e) / ln(max_angle/(e resolution)) (B - e))) (T5-style).
  static Relation geodesic(const DTensor& query_unit_vectors, const DTensor& key_unit_vectors,
                           std::int64_t num_buckets = 0, double resolution = 0.0, double max_angle = 3.141592653589793);
  /// An explicit index matrix [B|1, Nq, Nk] with values in [0, size).
  static Relation explicit_index(const ITensor& indices, std::int64_t size);

  std::size_t batch() const;     ///< B|1 of the relation (1 when it broadcasts)
  std::size_t n_query() const;   ///< Nq, the number of query positions
  std::size_t n_key() const;     ///< Nk, the number of key positions
  bool has_index() const { return size > 0; }  ///< true when the relation indexes a table (size > 0)
};

/// The relation's index matrix [B|1, Nq, Nk] (for plots, files and tests; the core never builds it).
ITensor relation_indices(const Relation& relation);
/// The relation's real values [B|1, Nq, Nk] (offsets, distances, euclidean distances).
DTensor relation_values(const Relation& relation);

/// The T5 relative bucket of n = j - i (HF `T5Attention._relative_position_bucket`).
/// Bidirectional: B' = num_buckets / 2, buckets [0, B') for n <= 0 and
/// [B', 2B') for n > 0, m = |n|. Unidirectional: B' = num_buckets, m = max(-n, 0)
/// (the future maps to bucket 0). With e = B'/2: m < e gives m; otherwise
/// min(B' - 1, e + trunc(ln(m/e) / ln(D/e) * (B' - e))) evaluated in float32 like the
/// reference; the logarithm is taken only for m >= e (no log(0)).
/// Requires e >= 1 and max_distance > e.
std::int64_t t5_relative_bucket(std::int64_t relative_position, bool bidirectional, std::int64_t num_buckets,
                                std::int64_t max_distance);

// --------------------------------------------------------------------- parts

/// How the rotated channels are paired (`docs/methods.md#pair-layout`).
enum class PairLayout {
  halves,       ///< channel k pairs with k + d_r/2 (GPT-NeoX, HF Llama)
  interleaved,  ///< channel 2k pairs with 2k+1 (GPT-J, Meta LLaMA, EVA/timm)
};

/// The rotation of q and k (RoPE family). Pair k of a token is rotated by its
/// angle: (a, b) -> (a cos t - b sin t, a sin t + b cos t), and multiplied by
/// magnitude * exp(log_scale). Channels past 2 * pairs pass unchanged.
struct Rotation {
  PairLayout layout = PairLayout::halves;  ///< channel pairing [halves]
  std::int64_t pairs = 0;   ///< rotated pairs (rotary_dim / 2); 0 = no rotation
  DTensor query_angles;     ///< [B|1, H|1, Nq, pairs] radians
  DTensor key_angles;       ///< [B|1, H|1, Nk, pairs] radians
  DTensor query_log_scale;  ///< optional (XPos): same shape as query_angles, or empty
  DTensor key_log_scale;    ///< optional (XPos): same shape as key_angles, or empty
  double magnitude = 1.0;   ///< applied to q and k (YaRN / LongRoPE attention factor); logits scale by its square
  bool empty() const { return pairs == 0; }  ///< true when nothing is rotated (pairs == 0)
};

/// Relative vectors a[rho] per head: the content-position (q . a), the
/// position-content (k . a) or the value-side (a added to v) term.
struct RelativeVectors {
  Relation relation;  ///< rho(i, j): the table row of each (query, key) pair
  Tensor table;       ///< [H|1, R, d] (d = head_dim, or value dim for value terms), R = relation.size
  Tensor query_bias;  ///< content-position only, optional [H|1, d]: (q_i + c_h) . a[rho] (Transformer-XL v)
};

/// A position-position bias b_h(i, j).
enum class BiasKind {
  slope,  ///< b = -slopes[h] * value(rho)          (ALiBi and its 2D / geodesic cousins)
  table,  ///< b = table[h, index(rho)]             (T5, Swin/BEiT, Graphormer)
  dense,  ///< b = dense[b, h, i, j]                (only when nothing else fits)
};

/// One position-position bias b_h(i, j), added to the scaled logits: a slope times a relation
/// value, a table looked up by a relation index, or a dense tensor (see BiasKind).
struct Bias {
  BiasKind kind = BiasKind::table;  ///< which member below holds the bias [table]
  Relation relation;  ///< slope, table
  Tensor slopes;      ///< slope: [H]
  Tensor table;       ///< table: [H|1, R]; an entry of -inf masks the pairs that index it (Graphormer)
  Tensor dense;       ///< dense: [B|1, H|1, Nq, Nk]
};

/// A multiplicative term m_h(i, j) = table[h, index(rho)] (Huang 1-2, DA-Transformer).
struct Multiplier {
  Relation relation;  ///< rho(i, j): the table entry of each (query, key) pair
  Tensor table;  ///< [H|1, R]
};

// --------------------------------------------------------------------- the Encoding

/// The parts a method fills. An empty part is a no-op; see combine().
struct Encoding {
  std::string name;                               ///< e.g. "rope", "alibi+rope" (informative)
  Tensor input_add;                               ///< [B|1, N, D] added to token embeddings, or empty
  Tensor input_concat;                            ///< [B|1, N, Dc] concatenated to token embeddings, or empty
  Rotation rotation;                              ///< rotation of q and k
  std::vector<RelativeVectors> content_weights;   ///< per-channel weights w[rho] inside q.k (Huang method 3)
  std::vector<RelativeVectors> content_position;  ///< q_i . aK[rho]
  std::vector<RelativeVectors> position_content;  ///< k_j . aQ[rho]
  std::vector<RelativeVectors> value;             ///< aV[rho] added to v_j
  Tensor content_bias;                            ///< [H|1, d]: u_h . k_j, or empty
  std::vector<Bias> biases;                       ///< position-position biases, summed
  std::vector<Multiplier> multipliers;            ///< multiplicative terms, multiplied
  bool score_relu = false;                        ///< g = ReLU before the multipliers (DA-Transformer)
  std::optional<double> scale;                    ///< logit scale the method implies (T5: 1); else 1/sqrt(d)

  /// True when no part is filled (NoPE).
  bool empty() const;
  /// True when any term needs the relation machinery or rotation of the core.
  bool has_score_terms() const;
};

/// Merge two encodings: angles add (same layout and pairs), log-scales add,
/// magnitudes multiply, input_add adds, input_concat concatenates, relative
/// terms, biases and multipliers accumulate, ReLU if either asks, and scales
/// must agree when both set one. Throws std::invalid_argument on conflicts.
Encoding combine(const Encoding& a, const Encoding& b);

/// Check every part against the attention shapes: batch B, query heads H,
/// Nq queries, Nk keys, head dim d and value dim dv. Throws
/// std::invalid_argument naming `fn`, the part and the bad shape.
void validate(const Encoding& enc, std::size_t batch, std::size_t heads, std::size_t n_query,
              std::size_t n_key, std::size_t head_dim, std::size_t value_dim, const char* fn = "validate");

/// Apply the input-side parts to token embeddings x [..., N, D]:
/// returns concat(x + input_add, input_concat) along the last axis. input_add
/// and input_concat broadcast over leading axes ([B|1, N, D]).
Tensor apply_input(const Encoding& enc, const Tensor& x);

}  // namespace posenc
