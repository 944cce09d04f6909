// One libFuzzer program per target: POSENC_FUZZ_TARGET names the entry point of targets.hpp.
#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return posenc::fuzz::POSENC_FUZZ_TARGET(data, size);
}
