/* Helpers shared by the engine tests: temporary directories, building
 * profiles by hand, and comparing histograms and whole profiles. */
#ifndef PG_TEST_FILES_H
#define PG_TEST_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "pg_profile.h"

/* A new empty directory under $TMPDIR (or /tmp); path written to out. */
void pg_test_mkdtemp(char *out, size_t size);
/* Remove directory and everything in it. */
void pg_test_rmdir(const char *directory);
/* Entries in directory other than "." and "..". */
int pg_test_count_entries(const char *directory);
/* 1 when some entry's name contains needle. */
int pg_test_has_entry_containing(const char *directory, const char *needle);

/* Index of the function (name, file, line, kind), interned in profile. */
uint32_t pg_test_add_func(pg_profile_t *profile, const char *name, const char *file,
                          uint32_t line, uint32_t kind);
/* The child node of parent for func, with its numbers set (units). */
uint32_t pg_test_add_node(pg_profile_t *profile, uint32_t parent, uint32_t func,
                          uint64_t calls, uint64_t inclusive, uint64_t exclusive,
                          uint64_t events);

/* Abort unless the histograms hold the same observations, bucket by bucket. */
void pg_test_check_hists_equal(const pg_hist_t *a, const pg_hist_t *b);

/* Abort unless a and b hold the same data, field by field (doubles bit for
 * bit, histograms bucket by bucket, strings byte by byte). */
void pg_test_check_profiles_equal(const pg_profile_t *a, const pg_profile_t *b);

/* Encode profile (must succeed); the caller frees *data. */
void pg_test_encode(const pg_profile_t *profile, uint8_t **data, size_t *size);

/* Parse data into a scratch profile; on success also aggregate it, take
 * quantiles, and check that it re-encodes to a readable, identical image
 * (the reader accepts only what the writer can write). Returns the rc. */
int pg_test_read_and_use(const uint8_t *data, size_t size);


#endif
