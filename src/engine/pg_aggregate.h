/* Aggregations of a profile: per-function totals and caller/callee edges,
 * with the profiler's own overhead optionally subtracted.
 *
 * Recursion: a node is recursive when its function also appears among its
 * ancestors. Inclusive time and primitive calls are summed only over
 * non-recursive nodes, so recursion never double-counts inclusive time (the
 * same rule cProfile applies). Edges follow cProfile's per-pair rule: a call
 * counts as recursive for its (caller, callee) edge when the same pair is
 * already active above it on the path (so in a->b->a->b the first b->a is
 * primitive and the inner a->b is not).
 *
 * Overhead correction: each tracer event costs event_cost_ns; the cost of an
 * event is charged to the node that was on top of the shadow stack, so a
 * node's exclusive time loses events * cost and its inclusive time loses the
 * events of its whole subtree. Results are clamped at zero.
 *
 * Metrics (pg_metric_t) combine by their merge rule: a node's inclusive
 * value combines its own value with its children's inclusive values; a
 * function's exclusive value combines its nodes' own values, and its
 * inclusive value the inclusive values of its non-recursive nodes (the rule
 * used for time, so recursion never double-counts). Overhead correction does
 * not apply to metrics.
 */
#ifndef PG_AGGREGATE_H
#define PG_AGGREGATE_H

#include "pg_profile.h"

typedef struct pg_func_stats {
    uint64_t calls;           /* all calls */
    uint64_t primitive_calls; /* calls not made recursively */
    uint64_t exc_exits;       /* calls that ended by an exception */
    double exclusive_ns;      /* own time */
    double inclusive_ns;      /* time including callees, recursion counted once */
    double latency_scale;     /* corrected / raw time summed over all of the
                                 function's calls (1 without correction):
                                 the factor for its per-call latencies, as
                                 the histogram holds raw durations */
} pg_func_stats_t;

typedef struct pg_edge {
    uint32_t caller;          /* function index */
    uint32_t callee;          /* function index */
    uint64_t calls;
    uint64_t primitive_calls;
    double exclusive_ns;
    double inclusive_ns;
} pg_edge_t;

typedef struct pg_aggregate {
    pg_func_stats_t *funcs; /* owned, one per profile function */
    uint32_t func_count;
    pg_edge_t *edges;       /* owned, sorted by (callee, caller) */
    uint32_t edge_count;
    double *node_inclusive_ns; /* owned, per node, corrected when asked */
    double *node_exclusive_ns; /* owned, per node, corrected when asked */
    uint8_t *node_recursive;   /* owned, per node: 1 when recursive */
    double overhead_ns;        /* total estimated profiler cost removed */
    uint32_t metric_count;     /* the profile's metric count */
    uint32_t node_count;       /* the profile's node count */
    /* Metric tables (owned), metric-major: entry [m * func_count + f] or
     * [m * node_count + n]. Node exclusive values are the profile's own. */
    uint64_t *func_metric_exclusive;
    uint64_t *func_metric_inclusive;
    uint64_t *node_metric_inclusive;
} pg_aggregate_t;

/* Fill out (which must be zeroed) from profile. correct != 0 subtracts the
 * calibrated overhead. */
int pg_aggregate_build(pg_aggregate_t *out, const pg_profile_t *profile, int correct);
void pg_aggregate_release(pg_aggregate_t *aggregate);

#endif
