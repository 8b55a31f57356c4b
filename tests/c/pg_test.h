/* Minimal assertions for the engine unit tests.
 *
 * A failed check prints file:line, the expression and the values, then
 * aborts, so the test executable fails under meson and a debugger stops at
 * the first bad check. Checks are functions, not statements hidden in
 * macros: only __FILE__/__LINE__ and the expression text come from macros.
 */
#ifndef PG_TEST_H
#define PG_TEST_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_error.h"

static inline void pg_test_fail(const char *file, int line, const char *text)
{
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, text);
    fflush(stderr);
    abort();
}

static inline void pg_test_check(int ok, const char *text, const char *file, int line)
{
    if (!ok)
        pg_test_fail(file, line, text);
}

static inline void pg_test_check_u64(uint64_t got, uint64_t want, const char *text,
                                     const char *file, int line)
{
    if (got == want)
        return;
    fprintf(stderr, "%s:%d: got %" PRIu64 " (0x%" PRIx64 "), want %" PRIu64 "\n", file,
            line, got, got, want);
    pg_test_fail(file, line, text);
}

static inline void pg_test_check_rc(int64_t got, int64_t want, const char *text,
                                    const char *file, int line)
{
    if (got == want)
        return;
    fprintf(stderr, "%s:%d: got rc %" PRId64 " (%s), want %" PRId64 " (%s)\n", file, line,
            got, got <= 0 ? pg_error_message((int)got) : "index", want,
            want <= 0 ? pg_error_message((int)want) : "index");
    pg_test_fail(file, line, text);
}

static inline void pg_test_check_near(double got, double want, double tolerance,
                                      const char *text, const char *file, int line)
{
    double diff = got > want ? got - want : want - got;
    if (diff <= tolerance)
        return;
    fprintf(stderr, "%s:%d: got %.17g, want %.17g +- %.3g\n", file, line, got, want,
            tolerance);
    pg_test_fail(file, line, text);
}

#define PG_CHECK(cond) pg_test_check((cond) != 0, #cond, __FILE__, __LINE__)
#define PG_CHECK_U64(got, want) \
    pg_test_check_u64((uint64_t)(got), (uint64_t)(want), #got " == " #want, __FILE__, __LINE__)
#define PG_CHECK_RC(got, want) \
    pg_test_check_rc((int64_t)(got), (int64_t)(want), #got " == " #want, __FILE__, __LINE__)
#define PG_CHECK_NEAR(got, want, tolerance)                                         \
    pg_test_check_near((double)(got), (double)(want), (double)(tolerance),          \
                       #got " ~= " #want, __FILE__, __LINE__)

/* Deterministic generator (xorshift64*): tests must replay exactly. */
static inline uint64_t pg_test_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

#endif
