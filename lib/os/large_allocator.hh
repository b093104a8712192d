// SPDX-License-Identifier: Apache-2.0
// large_allocator.hh - an allocator for large, short-lived buffers (a full load's tens of MB):
// allocations of 2 MiB and more are mappings of their own, aligned to 2 MiB and advised
// MADV_HUGEPAGE, so that filling them takes a page fault per 2 MiB instead of per 4 KiB where
// transparent huge pages are available ("madvise" or "always"), and they go back to the system
// when freed. Smaller ones come from operator new.
// Thread safety: stateless; as thread-safe as mmap and operator new.
#pragma once

#include <cstddef>
#include <new>

namespace vhostmail::os {

// The allocation functions behind large_allocator; throw std::bad_alloc.
void* allocate_large(size_t bytes);
void free_large(void* p, size_t bytes) noexcept;

template <typename T>
struct large_allocator {
    using value_type = T;

    large_allocator() = default;

    template <typename U>
    large_allocator(const large_allocator<U>&) noexcept {}

    T* allocate(size_t n) {
        if (n > static_cast<size_t>(-1) / sizeof(T)) {
            throw std::bad_array_new_length();
        }
        return static_cast<T*>(allocate_large(n * sizeof(T)));
    }

    void deallocate(T* p, size_t n) noexcept { free_large(p, n * sizeof(T)); }

    template <typename U>
    bool operator==(const large_allocator<U>&) const noexcept {
        return true;
    }
};

}  // namespace vhostmail::os
