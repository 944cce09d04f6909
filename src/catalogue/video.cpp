// Catalogue entries of posenc/video.hpp: 3D sin-cos, VideoMAE, 3D axial RoPE, TimeSformer,
// ViViT tables from an image ViT, Qwen2-VL M-RoPE.
#include <sstream>

// GCC 12 reports MropeOptions::mrope_section of a value-initialised parameter struct as
// "maybe uninitialized" when the entry copies it (a false positive of -Wmaybe-uninitialized).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "catalogue/define.hpp"
#include "posenc/text.hpp"
#include "posenc/video.hpp"

namespace posenc::catalogue::detail {

namespace {

struct Tubelets {
  std::int64_t frames = 8, height = 14, width = 14;
  VideoGrid grid() const {
    if (frames <= 0 || height <= 0 || width <= 0)
      bad("video grid: fields 'frames', 'height', 'width' must be positive, got " + std::to_string(frames) + ", " +
          std::to_string(height) + ", " + std::to_string(width));
    return {frames, height, width};
  }
};
template <class P, class Access>
Def<P>& tubelets(Def<P>& d, Access access) {
  d.input("video grid (T x H x W tubelets, row-major)");
  d.field("frames", [access](P& p) -> auto& { return access(p).frames; }, "tubelets along time T", "grid");
  d.field("height", [access](P& p) -> auto& { return access(p).height; }, "grid rows H", "grid");
  d.field("width", [access](P& p) -> auto& { return access(p).width; }, "grid columns W", "grid");
  return d;
}

struct SinCos3dP {
  SinCos3dOptions o;
  Tubelets t;
};
Entry sincos_3d_entry() {
  using P = SinCos3dP;
  Def<P> d("sincos_3d", "fixed 3D sin-cos over the tubelet grid", "input_add",
           "scenic get_fixed_sincos_position_embedding; positional-encodings PositionalEncoding3D", "video");
  d.preset([](P& p) { p.o.dim = 768; })
      .field("dim", [](P& p) -> auto& { return p.o.dim; }, "width C (scenic: multiple of 6)")
      .field("temperature", [](P& p) -> auto& { return p.o.temperature; }, "T")
      .field("layout", [](P& p) -> auto& { return p.o.layout; },
             "scenic [sin t|cos t|sin x|cos x|sin y|cos y] or positional_encodings")
      .field("prefix_tokens", [](P& p) -> auto& { return p.o.prefix_tokens; }, "zero rows first", "grid");
  tubelets(d, [](P& p) -> auto& { return p.t; });
  const auto options = [](const P& p) {
    SinCos3dOptions o = p.o;
    o.grid = p.t.grid();
    return o;
  };
  d.build([options](const P& p) { return absolute(sincos_3d(options(p))); });
  d.into("input_add", [options](const P& p, std::span<float> out) { sincos_3d_table_into(options(p), out); });
  return d.finish();
}

struct VideoMaeP {
  std::int64_t dim = 768;
  Tubelets t;
};
Entry videomae_entry() {
  using P = VideoMaeP;
  Def<P> d("videomae", "VideoMAE: the 1D sinusoid over all T*H*W tubelet tokens", "input_add",
           "MCG-NJU/VideoMAE get_sinusoid_encoding_table", "video");
  d.member("dim", &P::dim, "width");
  tubelets(d, [](P& p) -> auto& { return p.t; });
  d.build([](const P& p) { return absolute(videomae_sinusoid(p.t.grid(), p.dim)); });
  return d.finish();
}

struct Rope3dP {
  Rope3dOptions o;
  std::int64_t prefix_tokens = 0;
  Tubelets t;
};
Entry rope_3d_entry() {
  using P = Rope3dP;
  Def<P> d("rope_3d", "3D axial RoPE: pair blocks for t, y and x", "rotation",
           "axial RoPE over (t, h, w) (video DiTs); sections as M-RoPE", "video");
  d.preset([](P& p) { p.o.head_dim = 64; })
      .field("head_dim", [](P& p) -> auto& { return p.o.head_dim; }, "head dimension (even)")
      .field("base", [](P& p) -> auto& { return p.o.base; }, "theta_k = base^(-k/sections[a])")
      .field("sections", [](P& p) -> auto& { return p.o.sections; },
             "pairs per axis t,h,w (empty: h = w = floor(P/3), t the rest)")
      .field("layout", [](P& p) -> auto& { return p.o.layout; }, "interleaved (adjacent) or halves")
      .member("prefix_tokens", &P::prefix_tokens, "unrotated tokens first", "grid");
  tubelets(d, [](P& p) -> auto& { return p.t; });
  d.build([](const P& p) {
    const VideoGrid g = p.t.grid();
    const DTensor pos = video_positions(g.t, g.h, g.w, p.prefix_tokens);
    Built b;
    b.encoding = rope_3d(pos, pos, p.o);
    b.arrays.emplace_back("angles", angles_2d(b.encoding.rotation.key_angles));
    b.arrays.emplace_back("positions", DTensor(xt::view(pos, 0, xt::all(), xt::all())));
    b.tokens = b.query_tokens = pos.shape()[1];
    return b;
  });
  return d.finish();
}

struct TimesformerP {
  TimesformerOptions o;
  std::int64_t dim = 768;
  std::optional<std::int64_t> source_height, source_width, source_frames;
  Init init;
  std::optional<Tensor> space_table, time_table;
};
Entry timesformer_entry() {
  using P = TimesformerP;
  Def<P> d("timesformer", "TimeSformer divided space-time tables (space + time), patch-major tokens", "input_add",
           "Bertasius et al. 2021; HF TimesformerEmbeddings", "video");
  d.input("video grid (class token, then patch-major, frame-minor)")
      .field("frames", [](P& p) -> auto& { return p.o.frames; }, "frames F", "grid")
      .field("height", [](P& p) -> auto& { return p.o.height; }, "grid rows H", "grid")
      .field("width", [](P& p) -> auto& { return p.o.width; }, "grid columns W", "grid")
      .field("space_only", [](P& p) -> auto& { return p.o.space_only; }, "no time table")
      .member("dim", &P::dim, "width D")
      .member("source_height", &P::source_height, "grid side of the space table (resized with nearest)")
      .member("source_width", &P::source_width, "grid columns of the space table")
      .member("source_frames", &P::source_frames, "rows of the time table (resized with nearest)");
  init_fields(d, [](P& p) -> auto& { return p.init; });
  d.member("space_table", &P::space_table, "load [1 + Hs*Ws, D]", "table")
      .member("time_table", &P::time_table, "load [F, D]", "table")
      .table({"space_table", "space_table", "[1 + source_height*source_width, dim]", "learned_table_init", "std", "seed", ""})
      .table({"time_table", "time_table", "[source_frames, dim]", "learned_table_init (seed + 1)", "std", "seed", ""});
  d.build([](const P& p) {
    const std::int64_t sh = p.source_height.value_or(p.o.height), sw = p.source_width.value_or(p.o.width);
    const std::int64_t sf = p.source_frames.value_or(p.o.frames);
    const std::uint64_t seed = seed_of(p.init.seed);
    const Tensor space = p.space_table ? *p.space_table : learned_table_init(1 + sh * sw, p.dim, p.init.std, seed);
    const Tensor time = p.time_table ? *p.time_table : learned_table_init(sf, space.shape()[1], p.init.std, seed + 1);
    Built b = absolute(timesformer(space, time, p.o));
    b.arrays.emplace_back("space_table", space);
    if (!p.o.space_only) b.arrays.emplace_back("time_table", time);
    b.metadata.emplace_back("token_order", std::string(p.o.space_only ? "class, then the patches of one frame"
                                                                      : "class, then patch-major, frame-minor: 1 + n*F + t"));
    return b;
  });
  return d.finish();
}

struct VivitP {
  std::int64_t dim = 768, source_height = 14, source_width = 14, prefix_tokens = 1;
  VivitInit init_kind = VivitInit::resize_tile;
  Init init;
  std::optional<Tensor> image_table;
  Tubelets t;
};
Entry vivit_entry() {
  using P = VivitP;
  Def<P> d("vivit", "ViViT model 1 table initialised from an image ViT table (resize / tile)", "input_add",
           "Arnab et al. 2021; scenic projects/vivit model_utils", "video");
  d.member("dim", &P::dim, "width D")
      .member("source_height", &P::source_height, "grid rows of the image table")
      .member("source_width", &P::source_width, "grid columns of the image table")
      .member("prefix_tokens", &P::prefix_tokens, "class rows kept as they are", "grid")
      .member("init", &P::init_kind, "resize (3D zoom), tile (repeat over time) or resize_tile");
  init_fields(d, [](P& p) -> auto& { return p.init; });
  d.member("image_table", &P::image_table, "load the image ViT table [prefix + Hs*Ws, D]", "table")
      .table({"image_table", "image_table", "[prefix_tokens + source_height*source_width, dim]",
              "learned_table_init: N(0, std^2)", "std", "seed", ""});
  tubelets(d, [](P& p) -> auto& { return p.t; });
  d.build([](const P& p) {
    const Tensor image = p.image_table ? *p.image_table
                                       : learned_table_init(p.prefix_tokens + p.source_height * p.source_width, p.dim,
                                                            p.init.std, seed_of(p.init.seed));
    Tensor t = vivit_table_from_image(image, p.source_height, p.source_width, p.t.grid(), p.prefix_tokens, p.init_kind);
    Built b;
    b.arrays.emplace_back("image_table", image);
    b.arrays.emplace_back("input_add", t);
    t.reshape({1, t.shape()[0], t.shape()[1]});
    b.encoding.name = "vivit";
    b.encoding.input_add = t;
    b.tokens = b.query_tokens = t.shape()[1];
    return b;
  });
  return d.finish();
}

// "text:3,image:1x4x6,video:4x8x8@0.5,text:2" -> segments.
std::vector<MropeSegment> parse_segments(const std::string& spec) {
  std::vector<MropeSegment> out;
  std::stringstream ss(spec);
  for (std::string item; std::getline(ss, item, ',');) {
    const auto colon = item.find(':');
    const std::string kind = item.substr(0, colon), rest = colon == std::string::npos ? "" : item.substr(colon + 1);
    MropeSegment seg;
    try {
      if (kind == "text" && colon != std::string::npos) {
        seg.length = std::stoll(rest);
      } else if ((kind == "image" || kind == "video") && colon != std::string::npos) {
        seg.kind = MropeSegment::Kind::vision;
        std::string dims = rest;
        if (auto at = rest.find('@'); at != std::string::npos) {
          seg.second_per_grid_t = std::stod(rest.substr(at + 1));
          dims = rest.substr(0, at);
        }
        const auto x1 = dims.find('x'), x2 = dims.find('x', x1 + 1);
        if (x1 == std::string::npos || x2 == std::string::npos) throw std::invalid_argument("grid");
        seg.t = std::stoll(dims.substr(0, x1));
        seg.h = std::stoll(dims.substr(x1 + 1, x2 - x1 - 1));
        seg.w = std::stoll(dims.substr(x2 + 1));
      } else {
        throw std::invalid_argument("kind");
      }
    } catch (const std::exception&) {
      bad("mrope: field 'segments' item '" + item + "' must be text:N, image:TxHxW or video:TxHxW[@seconds]");
    }
    out.push_back(seg);
  }
  return out;
}

struct MropeP {
  MropeOptions o;
  MropeIdOptions ids;
  std::string segments = "text:3,image:1x4x6,text:2";
};
Entry mrope_entry() {
  using P = MropeP;
  Def<P> d("mrope", "Qwen2-VL multimodal RoPE: (t, h, w) ids for text, images and video, sectioned rotation", "rotation",
           "Qwen2-VL (HF get_rope_index, apply_multimodal_rotary_pos_emb); Qwen2.5-VL time ids; Qwen3-VL interleaving",
           "video");
  d.input("multimodal segments")
      .member("segments", &P::segments, "text:N, image:TxHxW, video:TxHxW[@seconds per grid step], comma-separated", "input")
      .field("head_dim", [](P& p) -> auto& { return p.o.head_dim; }, "head dimension")
      .field("base", [](P& p) -> auto& { return p.o.base; }, "rope_theta")
      .field("mrope_section", [](P& p) -> auto& { return p.o.mrope_section; }, "pairs per axis t,h,w (sum = head_dim/2)")
      .field("interleaved", [](P& p) -> auto& { return p.o.interleaved; }, "Qwen3-VL interleaved t,h,w pairs")
      .field("spatial_merge_size", [](P& p) -> auto& { return p.ids.spatial_merge_size; }, "patches merged per LLM token along h and w")
      .field("tokens_per_second", [](P& p) -> auto& { return p.ids.tokens_per_second; }, "Qwen2.5-VL temporal scaling (used with @seconds)");
  d.build([](const P& p) {
    const DTensor ids = mrope_position_ids(parse_segments(p.segments), p.ids);
    Built b;
    b.encoding = mrope(ids, ids, p.o);
    b.arrays.emplace_back("position_ids", ids);
    b.arrays.emplace_back("angles", angles_2d(b.encoding.rotation.key_angles));
    const auto axis = mrope_axis_of_pair(p.o);
    ITensor ax = ITensor::from_shape({axis.size()});
    std::copy(axis.begin(), axis.end(), ax.begin());
    b.arrays.emplace_back("axis_of_pair", ax);
    b.metadata.emplace_back("mrope_position_delta", mrope_position_delta(ids));
    b.metadata.emplace_back("pair_layout", std::string("halves"));
    b.tokens = b.query_tokens = ids.shape()[1];
    return b;
  });
  return d.finish();
}

}  // namespace

void add_video(std::vector<Entry>& out) {
  out.push_back(sincos_3d_entry());
  out.push_back(videomae_entry());
  out.push_back(rope_3d_entry());
  out.push_back(timesformer_entry());
  out.push_back(vivit_entry());
  out.push_back(mrope_entry());
}

}  // namespace posenc::catalogue::detail
