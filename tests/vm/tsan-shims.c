/* Entry points that newer LLVM (the one in rustc) emits for instrumented memcpy/memmove/memset,
 * but that the TSan runtime of Debian 12's clang 14 does not have yet. Each forwards to the libc
 * function, which that runtime intercepts and checks as a read and write of the whole ranges, as
 * the newer runtime's own __tsan_mem* do. Linked into the ThreadSanitizer test program only. */
#include <string.h>

void *__tsan_memcpy(void *dst, const void *src, size_t n);
void *__tsan_memmove(void *dst, const void *src, size_t n);
void *__tsan_memset(void *dst, int c, size_t n);

void *__tsan_memcpy(void *dst, const void *src, size_t n)
{
    return memcpy(dst, src, n);
}

void *__tsan_memmove(void *dst, const void *src, size_t n)
{
    return memmove(dst, src, n);
}

void *__tsan_memset(void *dst, int c, size_t n)
{
    return memset(dst, c, n);
}
