// SPDX-License-Identifier: Apache-2.0
#include "lib/os/large_allocator.hh"

#include <cstdint>
#include <sys/mman.h>

namespace vhostmail::os {

namespace {

constexpr size_t huge_page = size_t{2} << 20;

size_t mapped_size(size_t bytes) {
    return (bytes + huge_page - 1) / huge_page * huge_page;
}

}  // namespace

void* allocate_large(size_t bytes) {
    if (bytes < huge_page) {
        return ::operator new(bytes);
    }
    size_t size = mapped_size(bytes);
    if (size < bytes || size + huge_page < size) {
        throw std::bad_alloc();
    }
    // Mapped with a huge page of slack, then trimmed to an aligned range: THP needs the
    // alignment.
    void* p =
        mmap(nullptr, size + huge_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        throw std::bad_alloc();
    }
    auto start = reinterpret_cast<uintptr_t>(p);
    uintptr_t aligned = (start + huge_page - 1) & ~(uintptr_t{huge_page} - 1);
    if (aligned > start) {
        munmap(p, aligned - start);
    }
    if (size_t tail = start + huge_page - aligned; tail > 0) {
        munmap(reinterpret_cast<void*>(aligned + size), tail);
    }
    // Only advice: without THP the mapping works with small pages.
    (void)madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);
    return reinterpret_cast<void*>(aligned);
}

void free_large(void* p, size_t bytes) noexcept {
    if (p == nullptr) {
        return;
    }
    if (bytes < huge_page) {
        ::operator delete(p);
        return;
    }
    munmap(p, mapped_size(bytes));
}

}  // namespace vhostmail::os
