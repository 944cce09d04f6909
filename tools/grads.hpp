// `posenc attend ... --grad-output dO.npy --grads DIR`: the backward of the
// shared core and, for encodings whose learnable parameters enter the scores,
// the gradients of those parameters through the builders' backward functions.
//
// Only score-term tables get gradients here: those of the catalogue entries
// with a backward function (catalogue::backward; EntryInfo::backward), e.g.
// bias tables and slopes, relative key/value tables, Transformer-XL / TENER
// biases, Huang tables, DA-Transformer's v and w, RoPE-Mixed frequencies.
// Input-side tables (TableInfo::part empty) are added to the token
// embeddings, which attend never sees: for those --grads writes dq, dk and dv
// only, and grads.json says why.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "posenc/attention.hpp"
#include "posenc/gradients.hpp"
#include "jobs.hpp"
#include "staging.hpp"

namespace posenc::cli {

/// The gradient of one learnable table, as `attend --grads` writes it: DIR/<file>.npy.
struct ParamGrad {
  std::string file;  ///< the field that loads the table, e.g. "table", "key_table", "slopes"
  Tensor grad;       ///< the table's shape
  std::string of;    ///< what it is the gradient of (for grads.json)
};

/// What attend --grads computes.
struct AttendGrads {
  AttentionGrads core;               ///< dq, dk, dv and the encoding's part gradients
  std::vector<ParamGrad> parameters;  ///< one per learnable score-term table (catalogue::backward)
};

/// `posenc list -v` and grads.json: the files attend --grads writes for an entry, or why none.
std::string grads_note(const catalogue::EntryInfo& entry);

/// The core's backward (attention_backward, or attention_backward_reference when `reference`)
/// for L = sum(d_out * out), asking for the part gradients only when the encoding has a
/// backward mapping, then that mapping.
AttendGrads attend_backward(const Job& job, const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options,
                            const Tensor& out, const AttentionStats& stats, const Tensor& d_out, bool reference);

/// Stages dq.npy, dk.npy, dv.npy, one <parameter>.npy per learnable parameter and grads.json
/// (each file's shape and what it is the gradient of; `inputs` names the files read).
void write_grads(Staging& dir, const Job& job, const AttendGrads& grads, const nlohmann::json& inputs);

/// The --grads value as a directory path: "DIR/" -> "DIR". Throws a one-line error naming the
/// option when it is empty, names an existing non-directory, its parent does not exist, or it is
/// a non-empty directory and `force` is not set (staging.hpp: output_directory).
std::string grads_directory(const std::string& value, bool force);

}  // namespace posenc::cli
