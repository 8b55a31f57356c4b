/* Line heat: time and hits per (function, line) pair.
 *
 * One row per source line of a function that was seen executing. self and
 * total are in the profile's time units (pg_profile.h, ns_per_unit):
 * - total: time with this line current in that function's frame, callees
 *   included;
 * - self: the part of total spent in the function's own frame (total minus
 *   the inclusive time of the calls made during the line);
 * - hits: line executions (deterministic mode) or samples (sample mode).
 *
 * Invariants:
 * - (func, line) pairs are unique;
 * - rows are kept in insertion order (a reader appends them as read);
 * - the lookup index, when present, covers every row.
 * Not thread-safe: the tracer charges it with the GIL held; readers and
 * merge own their profile.
 */
#ifndef PG_LINES_H
#define PG_LINES_H

#include <stdint.h>

typedef struct pg_line_heat {
    uint32_t func;  /* function index in the owning profile */
    uint32_t line;  /* source line number (1-based; 0 = unknown) */
    uint64_t self;  /* units in the function's own frame on this line */
    uint64_t total; /* units with this line current, callees included */
    uint64_t hits;  /* line executions, or samples in sample mode */
} pg_line_heat_t;

typedef struct pg_line_table {
    pg_line_heat_t *rows; /* owned, count entries */
    uint32_t count;
    uint32_t capacity;
    /* Lookup index (owned), rebuilt on demand: open addressing, value =
     * row index + 1, 0 = empty slot, key (func, line). */
    uint32_t *slots;
    uint32_t slot_mask;
} pg_line_table_t;

void pg_line_table_init(pg_line_table_t *table);
void pg_line_table_release(pg_line_table_t *table);

/* Row index of (func, line), adding a zero row when absent. Returns the
 * index (>= 0) or a negative pg_error_t (PG_ERR_NOMEM, PG_ERR_LIMIT). */
int64_t pg_line_table_intern(pg_line_table_t *table, uint32_t func, uint32_t line);
/* Row index of (func, line), or -1. */
int64_t pg_line_table_find(pg_line_table_t *table, uint32_t func, uint32_t line);
/* Add self, total and hits to the row of (func, line) (created when absent;
 * sums wrap modulo 2^64). 0 or a negative pg_error_t. */
int pg_line_table_charge(pg_line_table_t *table, uint32_t func, uint32_t line, uint64_t self,
                         uint64_t total, uint64_t hits);
/* Append a row as read from a file: no lookup (the reader checks that pairs
 * are unique, with pg_line_table_find before appending). */
int pg_line_table_append(pg_line_table_t *table, const pg_line_heat_t *row);
/* Deep copy of src into dst (dst uninitialised); the index is not copied. */
int pg_line_table_copy(pg_line_table_t *dst, const pg_line_table_t *src);
/* Heap bytes owned by the table. */
uint64_t pg_line_table_memory(const pg_line_table_t *table);
/* Forget every row (keeps the memory). */
void pg_line_table_clear(pg_line_table_t *table);

#endif
