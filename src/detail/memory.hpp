// Large fresh tensors: ask the kernel for transparent huge pages before the
// first touch. On virtual machines a 4 KiB page fault can cost ~10 us, so
// filling a new 32 MiB table spends most of its time faulting; with 2 MiB
// pages that cost drops ~500 times. Only a hint: without THP nothing changes.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

namespace posenc::detail {

inline void prefer_huge_pages(void* data, std::size_t bytes) {
#ifdef MADV_HUGEPAGE
  constexpr std::uintptr_t kHuge = std::uintptr_t(1) << 21;
  if (bytes < 4 * kHuge) return;
  const auto begin = (reinterpret_cast<std::uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(kHuge - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

/// Deleter of huge_buffer's memory.
struct FreeDelete {
  void operator()(void* p) const { std::free(p); }
};

/// Uninitialised scratch of at least `bytes`, rounded up to whole 2 MiB pages, 2 MiB-aligned and
/// advised into transparent huge pages before the first touch. Throws std::bad_alloc.
template <class T>
std::unique_ptr<T[], FreeDelete> huge_buffer(std::size_t bytes) {
  constexpr std::size_t kHuge = std::size_t(1) << 21;
  const std::size_t rounded = std::max<std::size_t>((bytes + kHuge - 1) / kHuge, 1) * kHuge;
  std::unique_ptr<T[], FreeDelete> p(static_cast<T*>(std::aligned_alloc(kHuge, rounded)));
  if (!p) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  ::madvise(static_cast<void*>(p.get()), rounded, MADV_HUGEPAGE);
#endif
  return p;
}

/// A new float tensor of the given shape whose pages may be huge (contents uninitialised).
template <class T, class S>
T fresh_tensor(const S& shape) {
  T t = T::from_shape(shape);
  prefer_huge_pages(t.data(), t.size() * sizeof(typename T::value_type));
  return t;
}

}  // namespace posenc::detail
