/* String interning table.
 *
 * Invariants: every string is stored once, NUL-terminated, and keeps its
 * index for the life of the table; index 0 is always the empty string.
 * Pointers returned by pg_strtab_get() stay valid until pg_strtab_release()
 * (strings are allocated one by one and never moved).
 * Not thread-safe: the tracer calls it with the GIL held.
 */
#ifndef PG_STRTAB_H
#define PG_STRTAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct pg_strtab {
    char **strings;     /* owned array of owned strings, count entries */
    uint32_t *lengths;  /* byte length of each string */
    uint32_t count;     /* strings stored */
    uint32_t capacity;  /* slots in strings/lengths */
    uint32_t *slots;    /* open-addressing hash: index + 1, 0 = empty */
    uint32_t slot_mask; /* slot count - 1 (a power of two) */
    uint64_t bytes;     /* heap bytes owned, for the memory report */
} pg_strtab_t;

int pg_strtab_init(pg_strtab_t *table);
void pg_strtab_release(pg_strtab_t *table);

/* Index of the string (text, length), adding a copy when absent.
 * Returns the index (>= 0) or a negative pg_error_t. */
int64_t pg_strtab_intern(pg_strtab_t *table, const char *text, size_t length);

/* Borrowed pointer to string index (NUL-terminated); NULL when out of range. */
const char *pg_strtab_get(const pg_strtab_t *table, uint32_t index);
uint32_t pg_strtab_length(const pg_strtab_t *table, uint32_t index);

#endif
