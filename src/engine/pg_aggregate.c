#include "pg_aggregate.h"

#include <stdlib.h>
#include <string.h>

#include "pg_error.h"

/* Mark recursive nodes: a node is recursive when its key is also the key of
 * one of its ancestors. A depth-first walk keeps, per key, how many of the
 * current path's nodes carry it. keys[i] < key_count, or PG_NONE for a node
 * that has no key (the root). Children lists are built from the parent
 * indexes (first_child/next_sibling), so the walk is O(nodes). */
static int mark_recursive(const pg_profile_t *profile, const uint32_t *keys,
                          uint32_t key_count, uint8_t *recursive)
{
    uint32_t n = profile->node_count;
    if (n == 0)
        return PG_OK;
    int rc = PG_ERR_NOMEM;
    uint32_t *first_child = malloc((size_t)n * sizeof(uint32_t));
    uint32_t *next_sibling = malloc((size_t)n * sizeof(uint32_t));
    uint32_t *active = calloc((size_t)key_count + 1, sizeof(uint32_t));
    uint32_t *stack = malloc((size_t)n * sizeof(uint32_t));
    uint8_t *leaving = calloc(n, 1);
    if (!first_child || !next_sibling || !active || !stack || !leaving)
        goto done;
    memset(first_child, 0xff, (size_t)n * sizeof(uint32_t));
    for (uint32_t i = n; i-- > 1;) {
        uint32_t parent = profile->nodes[i].parent;
        next_sibling[i] = first_child[parent];
        first_child[parent] = i;
    }
    uint32_t depth = 0;
    stack[depth++] = PG_ROOT;
    while (depth) {
        uint32_t node = stack[depth - 1];
        uint32_t key = keys[node];
        if (leaving[node]) {
            depth--;
            if (key != PG_NONE)
                active[key]--;
            continue;
        }
        leaving[node] = 1;
        if (key != PG_NONE) {
            recursive[node] = active[key] > 0;
            active[key]++;
        }
        for (uint32_t child = first_child[node]; child != PG_NONE; child = next_sibling[child])
            stack[depth++] = child;
    }
    rc = PG_OK;
done:
    free(first_child);
    free(next_sibling);
    free(active);
    free(stack);
    free(leaving);
    return rc;
}

/* Function recursion: the key of a node is its function. */
static int mark_func_recursive(const pg_profile_t *profile, uint8_t *recursive)
{
    uint32_t n = profile->node_count;
    uint32_t *keys = calloc(n ? n : 1, sizeof(uint32_t));
    if (!keys)
        return PG_ERR_NOMEM;
    for (uint32_t i = 0; i < n; i++)
        keys[i] = profile->nodes[i].func;
    int rc = mark_recursive(profile, keys, profile->func_count, recursive);
    free(keys);
    return rc;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Edge recursion, cProfile's rule: a call is recursive for its
 * (caller, callee) pair when the same pair is already active above it, so
 * a->b->a->b makes the inner a->b recursive but the first b->a not. The key
 * of a node is a dense id of its pair (found by sorting packed pairs);
 * nodes called from the root have no caller and no key. */
static int mark_edge_recursive(const pg_profile_t *profile, uint8_t *recursive)
{
    uint32_t n = profile->node_count;
    uint32_t *keys = calloc(n ? n : 1, sizeof(uint32_t));
    uint64_t *pairs = malloc((size_t)(n ? n : 1) * sizeof(uint64_t));
    int rc = PG_ERR_NOMEM;
    if (!keys || !pairs)
        goto done;
    uint32_t count = 0;
    for (uint32_t i = 1; i < n; i++) {
        uint32_t caller = profile->nodes[profile->nodes[i].parent].func;
        if (caller != PG_NONE)
            pairs[count++] = (uint64_t)caller << 32 | profile->nodes[i].func;
    }
    qsort(pairs, count, sizeof *pairs, compare_u64);
    uint32_t unique = 0;
    for (uint32_t i = 0; i < count; i++)
        if (unique == 0 || pairs[unique - 1] != pairs[i])
            pairs[unique++] = pairs[i];
    for (uint32_t i = 0; i < n; i++) {
        keys[i] = PG_NONE;
        uint32_t caller = i ? profile->nodes[profile->nodes[i].parent].func : PG_NONE;
        if (caller == PG_NONE)
            continue;
        uint64_t pair = (uint64_t)caller << 32 | profile->nodes[i].func;
        const uint64_t *found = bsearch(&pair, pairs, unique, sizeof *pairs, compare_u64);
        keys[i] = (uint32_t)(found - pairs);
    }
    rc = mark_recursive(profile, keys, unique, recursive);
done:
    free(keys);
    free(pairs);
    return rc;
}

static int compare_edges(const void *a, const void *b)
{
    const pg_edge_t *x = a, *y = b;
    if (x->callee != y->callee)
        return x->callee < y->callee ? -1 : 1;
    if (x->caller != y->caller)
        return x->caller < y->caller ? -1 : 1;
    return 0;
}

/* Collapse per-node (caller, callee) contributions into unique edges. */
static int build_edges(pg_aggregate_t *out, const pg_profile_t *profile)
{
    uint32_t n = profile->node_count;
    pg_edge_t *edges = malloc((size_t)(n ? n : 1) * sizeof *edges);
    uint8_t *edge_recursive = calloc(n ? n : 1, 1);
    int rc = edges && edge_recursive ? mark_edge_recursive(profile, edge_recursive)
                                     : PG_ERR_NOMEM;
    if (rc < 0) {
        free(edges);
        free(edge_recursive);
        return rc;
    }
    uint32_t count = 0;
    for (uint32_t i = 1; i < n; i++) {
        const pg_node_t *node = &profile->nodes[i];
        uint32_t caller = profile->nodes[node->parent].func;
        if (caller == PG_NONE)
            continue;
        pg_edge_t *e = &edges[count++];
        e->caller = caller;
        e->callee = node->func;
        e->calls = node->calls;
        e->primitive_calls = edge_recursive[i] ? 0 : node->calls;
        e->exclusive_ns = out->node_exclusive_ns[i];
        e->inclusive_ns = edge_recursive[i] ? 0.0 : out->node_inclusive_ns[i];
    }
    free(edge_recursive);
    qsort(edges, count, sizeof *edges, compare_edges);
    uint32_t unique = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (unique && edges[unique - 1].caller == edges[i].caller &&
            edges[unique - 1].callee == edges[i].callee) {
            pg_edge_t *e = &edges[unique - 1];
            e->calls += edges[i].calls;
            e->primitive_calls += edges[i].primitive_calls;
            e->exclusive_ns += edges[i].exclusive_ns;
            e->inclusive_ns += edges[i].inclusive_ns;
        } else {
            edges[unique++] = edges[i];
        }
    }
    out->edges = edges;
    out->edge_count = unique;
    return PG_OK;
}

/* Per-node inclusive and per-function metric values (see pg_aggregate.h);
 * node_recursive must be filled already. */
static int build_metrics(pg_aggregate_t *out, const pg_profile_t *profile)
{
    size_t m_count = profile->metric_count;
    size_t n = profile->node_count, f_count = profile->func_count;
    out->metric_count = (uint32_t)m_count;
    out->node_count = (uint32_t)n;
    out->func_metric_exclusive = calloc(m_count * f_count + 1, sizeof(uint64_t));
    out->func_metric_inclusive = calloc(m_count * f_count + 1, sizeof(uint64_t));
    out->node_metric_inclusive = calloc(m_count * n + 1, sizeof(uint64_t));
    if (!out->func_metric_exclusive || !out->func_metric_inclusive || !out->node_metric_inclusive)
        return PG_ERR_NOMEM;
    for (size_t m = 0; m < m_count; m++) {
        const pg_metric_t *metric = &profile->metrics[m];
        uint32_t merge = metric->merge;
        uint64_t *inclusive = out->node_metric_inclusive + m * n;
        uint64_t *func_exclusive = out->func_metric_exclusive + m * f_count;
        uint64_t *func_inclusive = out->func_metric_inclusive + m * f_count;
        memcpy(inclusive, metric->values, n * sizeof(uint64_t));
        /* Backward scan: children (larger indexes) reach their parent first. */
        for (size_t i = n; i-- > 1;) {
            uint32_t parent = profile->nodes[i].parent;
            inclusive[parent] = pg_metric_combine(merge, inclusive[parent], inclusive[i]);
        }
        for (size_t i = 1; i < n; i++) {
            uint32_t f = profile->nodes[i].func;
            func_exclusive[f] = pg_metric_combine(merge, func_exclusive[f], metric->values[i]);
            if (!out->node_recursive[i])
                func_inclusive[f] = pg_metric_combine(merge, func_inclusive[f], inclusive[i]);
        }
    }
    return PG_OK;
}

int pg_aggregate_build(pg_aggregate_t *out, const pg_profile_t *profile, int correct)
{
    uint32_t n = profile->node_count;
    int rc = PG_ERR_NOMEM;
    double unit = profile->run.ns_per_unit;
    double cost = correct ? profile->run.event_cost_ns : 0.0;
    double *subtree_events = calloc(n ? n : 1, sizeof(double));
    double *raw_all = calloc((size_t)profile->func_count + 1, sizeof(double));
    double *corrected_all = calloc((size_t)profile->func_count + 1, sizeof(double));
    out->func_count = profile->func_count;
    out->funcs = calloc((size_t)profile->func_count + 1, sizeof *out->funcs);
    out->node_inclusive_ns = calloc(n ? n : 1, sizeof(double));
    out->node_exclusive_ns = calloc(n ? n : 1, sizeof(double));
    out->node_recursive = calloc(n ? n : 1, 1);
    if (!subtree_events || !raw_all || !corrected_all || !out->funcs || !out->node_inclusive_ns ||
        !out->node_exclusive_ns || !out->node_recursive)
        goto error;
    if ((rc = mark_func_recursive(profile, out->node_recursive)) < 0)
        goto error;
    /* Children have larger indexes than parents: a backward scan sums each
     * subtree's events before its parent is visited. */
    for (uint32_t i = n; i-- > 0;) {
        subtree_events[i] += (double)profile->nodes[i].events;
        if (i > 0)
            subtree_events[profile->nodes[i].parent] += subtree_events[i];
    }
    out->overhead_ns = cost * subtree_events[0];
    for (uint32_t i = 0; i < n; i++) {
        const pg_node_t *node = &profile->nodes[i];
        double inclusive = (double)node->inclusive * unit - cost * subtree_events[i];
        double exclusive = (double)node->exclusive * unit - cost * (double)node->events;
        out->node_inclusive_ns[i] = inclusive > 0.0 ? inclusive : 0.0;
        out->node_exclusive_ns[i] = exclusive > 0.0 ? exclusive : 0.0;
        /* equal for a leaf up to rounding: never report own > total */
        if (out->node_exclusive_ns[i] > out->node_inclusive_ns[i])
            out->node_exclusive_ns[i] = out->node_inclusive_ns[i];
        if (node->func == PG_NONE)
            continue;
        pg_func_stats_t *f = &out->funcs[node->func];
        raw_all[node->func] += (double)node->inclusive * unit;
        corrected_all[node->func] += out->node_inclusive_ns[i];
        f->calls += node->calls;
        f->exc_exits += node->exc_exits;
        f->exclusive_ns += out->node_exclusive_ns[i];
        if (!out->node_recursive[i]) {
            f->primitive_calls += node->calls;
            f->inclusive_ns += out->node_inclusive_ns[i];
        }
    }
    /* The overhead inside a call grows with the events under it, so it is
     * spread over a function's latencies in proportion, not as one shift
     * (which would zero the many short resumes of a generator whose few
     * long calls carry the overhead). */
    for (uint32_t i = 0; i < out->func_count; i++) {
        out->funcs[i].latency_scale = raw_all[i] > 0.0 ? corrected_all[i] / raw_all[i] : 1.0;
        /* A recursive function's total counts outermost calls only; when the
         * correction zeroes those (a cost estimate above this run's real
         * per-event cost) inner calls may keep own time: never own > total. */
        if (out->funcs[i].exclusive_ns > out->funcs[i].inclusive_ns)
            out->funcs[i].exclusive_ns = out->funcs[i].inclusive_ns;
    }
    if ((rc = build_edges(out, profile)) < 0 || (rc = build_metrics(out, profile)) < 0)
        goto error;
    free(subtree_events);
    free(raw_all);
    free(corrected_all);
    return PG_OK;
error:
    free(subtree_events);
    free(raw_all);
    free(corrected_all);
    pg_aggregate_release(out);
    return rc;
}

void pg_aggregate_release(pg_aggregate_t *aggregate)
{
    free(aggregate->funcs);
    free(aggregate->edges);
    free(aggregate->node_inclusive_ns);
    free(aggregate->node_exclusive_ns);
    free(aggregate->node_recursive);
    free(aggregate->func_metric_exclusive);
    free(aggregate->func_metric_inclusive);
    free(aggregate->node_metric_inclusive);
    memset(aggregate, 0, sizeof *aggregate);
}
