// posenc/posenc.hpp — everything in one include.
#pragma once

#include "posenc/attention.hpp"
#include "posenc/encoding.hpp"
#include "posenc/gradients.hpp"
#include "posenc/image.hpp"
#include "posenc/layer.hpp"
#include "posenc/npy.hpp"
#include "posenc/relative.hpp"
#include "posenc/rotary.hpp"
#include "posenc/sinusoid.hpp"
#include "posenc/spectrogram.hpp"
#include "posenc/graph.hpp"
#include "posenc/sphere.hpp"
#include "posenc/tabular.hpp"
#include "posenc/tensor.hpp"
#include "posenc/text.hpp"
#include "posenc/video.hpp"
