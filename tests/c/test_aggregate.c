/* pg_aggregate: recursion counted once (functions and, cProfile's way,
 * edges), edges merged over call paths, overhead correction arithmetic. */
#include "pg_aggregate.h"
#include "pg_test.h"
#include "pg_test_files.h"

/* A Python function named name in t.py, line 1. */
static uint32_t func(pg_profile_t *profile, const char *name)
{
    return pg_test_add_func(profile, name, "t.py", 1, 0);
}


static const pg_edge_t *find_edge(const pg_aggregate_t *agg, uint32_t caller, uint32_t callee)
{
    for (uint32_t i = 0; i < agg->edge_count; i++)
        if (agg->edges[i].caller == caller && agg->edges[i].callee == callee)
            return &agg->edges[i];
    return NULL;
}

/* a -> a -> a: inclusive time is the outermost call's, once; one primitive
 * call; exclusive time is every level's own. */
static void test_direct_recursion(void)
{
    pg_profile_t p;
    PG_CHECK_RC(pg_profile_init(&p), PG_OK);
    uint32_t a = func(&p, "a");
    uint32_t n1 = pg_test_add_node(&p, PG_ROOT, a, 1, 60, 30, 0);
    uint32_t n2 = pg_test_add_node(&p, n1, a, 1, 30, 20, 0);
    uint32_t n3 = pg_test_add_node(&p, n2, a, 1, 10, 10, 0);
    pg_aggregate_t agg = {0};
    PG_CHECK_RC(pg_aggregate_build(&agg, &p, 0), PG_OK);
    PG_CHECK_U64(agg.funcs[a].calls, 3);
    PG_CHECK_U64(agg.funcs[a].primitive_calls, 1);
    PG_CHECK_NEAR(agg.funcs[a].inclusive_ns, 60, 0);
    PG_CHECK_NEAR(agg.funcs[a].exclusive_ns, 60, 0);
    PG_CHECK(!agg.node_recursive[n1] && agg.node_recursive[n2] && agg.node_recursive[n3]);
    /* Edge a->a as cProfile reports it: 2 calls, the outer one primitive,
     * inclusive = the outer a->a call's time. */
    PG_CHECK_U64(agg.edge_count, 1);
    const pg_edge_t *e = find_edge(&agg, a, a);
    PG_CHECK(e != NULL);
    PG_CHECK_U64(e->calls, 2);
    PG_CHECK_U64(e->primitive_calls, 1);
    PG_CHECK_NEAR(e->inclusive_ns, 30, 0);
    PG_CHECK_NEAR(e->exclusive_ns, 30, 0);
    PG_CHECK_NEAR(agg.overhead_ns, 0, 0);
    pg_aggregate_release(&agg);
    pg_profile_release(&p);
}

/* a -> b -> a -> b */
static void test_mutual_recursion(void)
{
    pg_profile_t p;
    PG_CHECK_RC(pg_profile_init(&p), PG_OK);
    uint32_t a = func(&p, "a"), b = func(&p, "b");
    uint32_t n1 = pg_test_add_node(&p, PG_ROOT, a, 1, 30, 10, 0);
    uint32_t n2 = pg_test_add_node(&p, n1, b, 1, 20, 8, 0);
    uint32_t n3 = pg_test_add_node(&p, n2, a, 1, 12, 7, 0);
    uint32_t n4 = pg_test_add_node(&p, n3, b, 1, 5, 5, 0);
    pg_aggregate_t agg = {0};
    PG_CHECK_RC(pg_aggregate_build(&agg, &p, 0), PG_OK);
    PG_CHECK(!agg.node_recursive[n1] && !agg.node_recursive[n2]);
    PG_CHECK(agg.node_recursive[n3] && agg.node_recursive[n4]);
    PG_CHECK_U64(agg.funcs[a].calls, 2);
    PG_CHECK_U64(agg.funcs[a].primitive_calls, 1);
    PG_CHECK_NEAR(agg.funcs[a].inclusive_ns, 30, 0);
    PG_CHECK_NEAR(agg.funcs[a].exclusive_ns, 17, 0);
    PG_CHECK_U64(agg.funcs[b].calls, 2);
    PG_CHECK_U64(agg.funcs[b].primitive_calls, 1);
    PG_CHECK_NEAR(agg.funcs[b].inclusive_ns, 20, 0);
    PG_CHECK_NEAR(agg.funcs[b].exclusive_ns, 13, 0);
    /* Sorted by (callee, caller): b->a first, then a->b. */
    PG_CHECK_U64(agg.edge_count, 2);
    PG_CHECK_U64(agg.edges[0].caller, b);
    PG_CHECK_U64(agg.edges[0].callee, a);
    PG_CHECK_U64(agg.edges[1].caller, a);
    PG_CHECK_U64(agg.edges[1].callee, b);
    /* a->b: n2 (primitive) and n4 (pair a->b already active above). */
    PG_CHECK_U64(agg.edges[1].calls, 2);
    PG_CHECK_U64(agg.edges[1].primitive_calls, 1);
    PG_CHECK_NEAR(agg.edges[1].inclusive_ns, 20, 0);
    PG_CHECK_NEAR(agg.edges[1].exclusive_ns, 13, 0);
    /* b->a: n3 is the first b->a call on its path, so primitive for the
     * edge although a itself is already running (cProfile's rule). */
    PG_CHECK_U64(agg.edges[0].calls, 1);
    PG_CHECK_U64(agg.edges[0].primitive_calls, 1);
    PG_CHECK_NEAR(agg.edges[0].inclusive_ns, 12, 0);
    pg_aggregate_release(&agg);
    pg_profile_release(&p);
}

/* The same pair on several call paths adds up into one edge; calls from
 * the root make no edge. */
static void test_edges_merge_paths(void)
{
    pg_profile_t p;
    PG_CHECK_RC(pg_profile_init(&p), PG_OK);
    uint32_t main_ = func(&p, "main"), x = func(&p, "x"), a = func(&p, "a");
    uint32_t m = pg_test_add_node(&p, PG_ROOT, main_, 1, 100, 10, 0);
    pg_test_add_node(&p, m, a, 3, 30, 30, 0);
    uint32_t xm = pg_test_add_node(&p, m, x, 1, 60, 5, 0);
    uint32_t xmm = pg_test_add_node(&p, xm, main_, 2, 55, 15, 0);
    pg_test_add_node(&p, xmm, a, 4, 40, 40, 0);
    pg_aggregate_t agg = {0};
    PG_CHECK_RC(pg_aggregate_build(&agg, &p, 0), PG_OK);
    PG_CHECK_U64(agg.edge_count, 3); /* main->a, main->x, x->main */
    const pg_edge_t *ma = find_edge(&agg, main_, a);
    PG_CHECK(ma != NULL);
    PG_CHECK_U64(ma->calls, 7);
    /* The second main->a is under an active main->a? No: main->x->main->a
     * has main->a only once on its path, so both are primitive. */
    PG_CHECK_U64(ma->primitive_calls, 7);
    PG_CHECK_NEAR(ma->inclusive_ns, 70, 0);
    PG_CHECK_NEAR(ma->exclusive_ns, 70, 0);
    const pg_edge_t *xmain = find_edge(&agg, x, main_);
    PG_CHECK(xmain != NULL && xmain->calls == 2 && xmain->primitive_calls == 2);
    PG_CHECK(find_edge(&agg, main_, x) != NULL);
    PG_CHECK_U64(agg.funcs[main_].calls, 3);
    PG_CHECK_U64(agg.funcs[main_].primitive_calls, 1);
    PG_CHECK_NEAR(agg.funcs[main_].inclusive_ns, 100, 0);
    PG_CHECK_U64(agg.funcs[a].primitive_calls, 7);
    PG_CHECK_NEAR(agg.funcs[a].inclusive_ns, 70, 0);
    for (uint32_t i = 1; i < agg.edge_count; i++) /* (callee, caller) order */
        PG_CHECK(agg.edges[i - 1].callee < agg.edges[i].callee ||
                 (agg.edges[i - 1].callee == agg.edges[i].callee &&
                  agg.edges[i - 1].caller < agg.edges[i].caller));
    pg_aggregate_release(&agg);
    pg_profile_release(&p);
}

/* ns = units * ns_per_unit; correction removes event_cost_ns per event from
 * the node's exclusive time and per subtree event from its inclusive time,
 * clamped at zero. */
static void test_overhead_correction(void)
{
    pg_profile_t p;
    PG_CHECK_RC(pg_profile_init(&p), PG_OK);
    p.run.ns_per_unit = 2.0;
    p.run.event_cost_ns = 5.0;
    uint32_t a = func(&p, "a"), b = func(&p, "b"), c = func(&p, "c");
    uint32_t na = pg_test_add_node(&p, PG_ROOT, a, 1, 100, 40, 4); /* 200 ns / 80 ns */
    uint32_t nb = pg_test_add_node(&p, na, b, 2, 50, 50, 6);       /* 100 ns / 100 ns */
    uint32_t nc = pg_test_add_node(&p, na, c, 1, 10, 10, 3);       /* 20 ns, 15 ns of events */
    p.nodes[PG_ROOT].events = 1;
    pg_aggregate_t raw = {0}, fixed = {0};
    PG_CHECK_RC(pg_aggregate_build(&raw, &p, 0), PG_OK);
    PG_CHECK_RC(pg_aggregate_build(&fixed, &p, 1), PG_OK);
    PG_CHECK_NEAR(raw.node_inclusive_ns[na], 200, 0);
    PG_CHECK_NEAR(raw.node_exclusive_ns[na], 80, 0);
    PG_CHECK_NEAR(raw.overhead_ns, 0, 0);
    PG_CHECK_NEAR(fixed.overhead_ns, 5.0 * 14, 1e-9);
    PG_CHECK_NEAR(fixed.node_inclusive_ns[na], 200 - 5.0 * 13, 1e-9);
    PG_CHECK_NEAR(fixed.node_exclusive_ns[na], 80 - 5.0 * 4, 1e-9);
    PG_CHECK_NEAR(fixed.node_inclusive_ns[nb], 100 - 5.0 * 6, 1e-9);
    PG_CHECK_NEAR(fixed.node_exclusive_ns[nb], 100 - 5.0 * 6, 1e-9);
    PG_CHECK_NEAR(fixed.node_inclusive_ns[nc], 20 - 15, 1e-9);
    p.nodes[nc].events = 10; /* 50 ns of events in 20 ns: clamped */
    pg_aggregate_release(&fixed);
    PG_CHECK_RC(pg_aggregate_build(&fixed, &p, 1), PG_OK);
    PG_CHECK_NEAR(fixed.node_inclusive_ns[nc], 0, 0);
    PG_CHECK_NEAR(fixed.node_exclusive_ns[nc], 0, 0);
    PG_CHECK_NEAR(fixed.funcs[c].inclusive_ns, 0, 0);
    PG_CHECK_NEAR(fixed.funcs[a].inclusive_ns, 200 - 5.0 * 20, 1e-9);
    PG_CHECK_NEAR(fixed.funcs[b].exclusive_ns, 100 - 30, 1e-9);
    PG_CHECK_U64(fixed.funcs[b].calls, 2);
    const pg_edge_t *ab = find_edge(&fixed, a, b);
    PG_CHECK(ab != NULL);
    PG_CHECK_NEAR(ab->inclusive_ns, 70, 1e-9);
    /* latencies scale by corrected / raw time over all of a function's calls */
    PG_CHECK_NEAR(raw.funcs[a].latency_scale, 1.0, 0);
    PG_CHECK_NEAR(fixed.funcs[a].latency_scale, (200 - 5.0 * 20) / 200, 1e-12);
    PG_CHECK_NEAR(fixed.funcs[b].latency_scale, 70.0 / 100, 1e-12);
    PG_CHECK_NEAR(fixed.funcs[c].latency_scale, 0, 0);
    pg_aggregate_release(&fixed);
    pg_aggregate_release(&raw);
    pg_profile_release(&p);
}

/* A profile with only the root aggregates to nothing, without error. */
static void test_empty(void)
{
    pg_profile_t p;
    PG_CHECK_RC(pg_profile_init(&p), PG_OK);
    pg_aggregate_t agg = {0};
    PG_CHECK_RC(pg_aggregate_build(&agg, &p, 1), PG_OK);
    PG_CHECK_U64(agg.func_count, 0);
    PG_CHECK_U64(agg.edge_count, 0);
    pg_aggregate_release(&agg);
    pg_profile_release(&p);
}

int main(void)
{
    test_direct_recursion();
    test_mutual_recursion();
    test_edges_merge_paths();
    test_overhead_correction();
    test_empty();
    puts("test_aggregate: ok");
    return 0;
}
