/* The stage table: per pipeline stage counters, a per-record latency
 * histogram, and a bounded log of invocation spans.
 *
 * A stage is a named step of a pipeline (parse, filter, load). The runtime
 * (src/runtime/pg_stages.c) adds to this table at stage boundaries; the
 * profile carries one table (pg_profile_t.stages), written as the "STGS"
 * and "SSPN" sections of the profile file (docs/format.md).
 *
 * Times are in the profile's units (pg_run_stats_t.ns_per_unit); span
 * start/end are units since the run started. CPU time and I/O bytes are
 * plain nanoseconds and bytes.
 *
 * Invariants:
 * - stage names are unique and non-empty; stages[i].name is owned;
 * - spans[i].stage < count; spans[i].start <= spans[i].end;
 *   spans[i].busy <= spans[i].end - spans[i].start; spans[i].invocations >= 1;
 * - span_count <= span_limit: the log never grows past its limit. When it is
 *   full, the spans of each (stage, thread) are coalesced pairwise (two
 *   neighbours in time become one span covering both, their busy time and
 *   invocations summed), which halves every group with more than one span.
 *   Only when no group has two spans is a new span dropped (spans_dropped).
 * Not thread-safe: the runtime updates it with the GIL held.
 */
#ifndef PG_STAGE_H
#define PG_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "pg_hist.h"

#define PG_STAGE_SPAN_LIMIT 16384u /* default bound of the span log */

typedef struct pg_stage {
    char *name;               /* owned, NUL-terminated, unique */
    uint32_t name_length;     /* bytes, without the terminator */
    uint32_t flags;           /* PG_STAGE_* below */
    uint64_t invocations;     /* calls, generator objects run, with-blocks */
    uint64_t records_in;      /* items pulled from upstream / len(first arg) */
    uint64_t records_out;     /* items yielded / len(result) / explicit */
    uint64_t bytes;           /* explicit byte counts (add_bytes) */
    uint64_t exceptions;      /* invocations that ended by an exception */
    uint64_t own;             /* units: active time minus upstream and nested */
    uint64_t upstream;        /* units: inside upstream stage iterators' next */
    uint64_t nested;          /* units: inside other stages called from it */
    uint64_t suspended;       /* units: generator suspended at a yield
                                 (downstream consuming) or coroutine
                                 suspended at an await */
    uint64_t wall;            /* units: first start to end, summed over
                                 invocations (overlapping invocations count
                                 each) */
    uint64_t cpu_ns;          /* thread CPU time of measured invocations,
                                 nested measured stages excluded */
    uint64_t cpu_invocations; /* invocations whose CPU time was measured */
    uint64_t io_read_bytes;   /* thread rchar delta of measured invocations */
    uint64_t io_write_bytes;  /* thread wchar delta of measured invocations */
    uint64_t io_invocations;  /* invocations whose I/O was measured */
    uint64_t mem_allocated;   /* heap bytes the thread allocated during the
                                 stage's own activations (nested and
                                 upstream stages excluded) */
    uint64_t mem_activations; /* activations whose allocations were counted
                                 (0: memory was not measured) */
    pg_hist_t latency;        /* units per record (own time); owned */
} pg_stage_t;

/* pg_stage_t.flags */
#define PG_STAGE_AUTO 1u /* derived from the call tree, not declared */

typedef struct pg_stage_span {
    uint32_t stage;       /* index into stages */
    uint32_t reserved;    /* zero; keeps the layout 8-byte aligned */
    uint64_t thread;      /* OS thread id that ran the invocation */
    uint64_t start;       /* units since the run started */
    uint64_t end;         /* units since the run started, >= start */
    uint64_t busy;        /* units of the span spent in the stage's own time */
    uint64_t invocations; /* invocations merged into this span, >= 1 */
} pg_stage_span_t;

typedef struct pg_stage_table {
    pg_stage_t *stages;      /* owned, count entries */
    uint32_t count;
    uint32_t capacity;
    pg_stage_span_t *spans;  /* owned, span_count entries, at most span_limit */
    uint32_t span_count;
    uint32_t span_capacity;
    uint32_t span_limit;     /* bound of the log (PG_STAGE_SPAN_LIMIT) */
    uint32_t coalesced;      /* times the log was coalesced */
    uint64_t spans_dropped;  /* spans lost because no group could merge */
    uint64_t lost;           /* latency values, stages or activations lost
                                (no memory, or a with-block left open
                                across a yield) */
} pg_stage_table_t;

void pg_stage_table_init(pg_stage_table_t *table);
void pg_stage_table_release(pg_stage_table_t *table);
/* Forget every stage and span (names too); keeps span_limit. */
void pg_stage_table_clear(pg_stage_table_t *table);

/* Index of the stage named name, adding it when absent. Returns the index
 * (>= 0) or PG_ERR_NOMEM / PG_ERR_ARG (empty name, NUL inside, too long). */
int64_t pg_stage_intern(pg_stage_table_t *table, const char *name, size_t length);
/* Append a stage without looking for it (the file reader checks
 * uniqueness once, by sorting). Returns the index or PG_ERR_NOMEM. */
int64_t pg_stage_append(pg_stage_table_t *table, const char *name, size_t length);
/* Index of name, or -1 when absent. */
int64_t pg_stage_find(const pg_stage_table_t *table, const char *name, size_t length);

/* Record n records that took value units each (n observations). Values and
 * totals stay exact when a histogram row cannot be allocated (lost++). */
void pg_stage_add_latency(pg_stage_table_t *table, uint32_t stage, uint64_t value, uint64_t n);

/* Append a span, coalescing the log first when it is full. Returns PG_OK,
 * or PG_ERR_ARG for a span breaking the invariants. A span that cannot be
 * stored (no memory, nothing to coalesce) is counted in spans_dropped. */
int pg_stage_span_add(pg_stage_table_t *table, const pg_stage_span_t *span);

/* Merge every pair of time-neighbouring spans of the same (stage, thread).
 * Spans stay ordered by start. Returns the number of spans removed, or
 * PG_ERR_NOMEM. */
int64_t pg_stage_spans_coalesce(pg_stage_table_t *table);

/* Deep copy of src into dst (dst uninitialised). */
int pg_stage_table_copy(pg_stage_table_t *dst, const pg_stage_table_t *src);

/* Heap bytes owned by the table. */
uint64_t pg_stage_table_memory(const pg_stage_table_t *table);

#endif
