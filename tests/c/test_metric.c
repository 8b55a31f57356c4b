/* Per-node metrics: interning, charging, growth with the nodes, copy,
 * clear, aggregation (subtree, per function, recursion), prune. */
#include "pg_aggregate.h"
#include "pg_merge.h"
#include "pg_profile.h"
#include "pg_prune.h"
#include "pg_test.h"
#include "pg_test_files.h"

static uint32_t func(pg_profile_t *profile, const char *name)
{
    int64_t index = pg_profile_func_intern(profile, name, strlen(name), "t.py", 4, 1,
                                           PG_FUNC_PYTHON);
    PG_CHECK(index >= 0);
    return (uint32_t)index;
}

static uint32_t child(pg_profile_t *profile, uint32_t parent, const char *name)
{
    int64_t index = pg_profile_node_child(profile, parent, func(profile, name));
    PG_CHECK(index > 0);
    profile->nodes[index].calls = 1;
    return (uint32_t)index;
}

static void test_intern_and_charge(void)
{
    pg_profile_t p;
    PG_CHECK_RC(pg_profile_init(&p), PG_OK);
    PG_CHECK_RC(pg_profile_metric_intern(&p, "mem.alloc_bytes", "bytes", PG_METRIC_SUM), 0);
    PG_CHECK_RC(pg_profile_metric_intern(&p, "mem.peak_bytes", "bytes", PG_METRIC_MAX), 1);
    /* the same name again: the same index; a different unit or rule: refused */
    PG_CHECK_RC(pg_profile_metric_intern(&p, "mem.alloc_bytes", "bytes", PG_METRIC_SUM), 0);
    PG_CHECK_RC(pg_profile_metric_intern(&p, "mem.alloc_bytes", "count", PG_METRIC_SUM),
                PG_ERR_ARG);
    PG_CHECK_RC(pg_profile_metric_intern(&p, "mem.alloc_bytes", "bytes", PG_METRIC_MAX),
                PG_ERR_ARG);
    PG_CHECK_RC(pg_profile_metric_intern(&p, "", "bytes", PG_METRIC_MAX), PG_ERR_ARG);
    PG_CHECK(pg_profile_metric_find(&p, "mem.peak_bytes") == 1);
    PG_CHECK(pg_profile_metric_find(&p, "nope") == -1);
    PG_CHECK_RC(pg_profile_metric_charge(&p, 0, PG_ROOT, 5), PG_OK);
    PG_CHECK_RC(pg_profile_metric_charge(&p, 0, PG_ROOT, 6), PG_OK);
    PG_CHECK_RC(pg_profile_metric_charge(&p, 1, PG_ROOT, 9), PG_OK);
    PG_CHECK_RC(pg_profile_metric_charge(&p, 1, PG_ROOT, 4), PG_OK);
    PG_CHECK_U64(p.metrics[0].values[0], 11);
    PG_CHECK_U64(p.metrics[1].values[0], 9);
    PG_CHECK_RC(pg_profile_metric_charge(&p, 2, PG_ROOT, 1), PG_ERR_ARG);
    PG_CHECK_RC(pg_profile_metric_charge(&p, 0, 1, 1), PG_ERR_ARG);
    /* values grow with the nodes, new ones zero; a metric added late too */
    uint32_t parent = PG_ROOT;
    char name[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "f%d", i % 50);
        uint32_t count = p.node_count;
        int64_t node = pg_profile_node_child(&p, parent, func(&p, name));
        PG_CHECK(node > 0);
        if (p.node_count > count) /* a new node starts at zero */
            PG_CHECK_U64(p.metrics[0].values[node], 0);
        PG_CHECK_RC(pg_profile_metric_charge(&p, 0, (uint32_t)node, 1), PG_OK);
        parent = i % 7 ? (uint32_t)node : PG_ROOT;
        if (i == 1000)
            PG_CHECK_RC(pg_profile_metric_intern(&p, "late", "count", PG_METRIC_SUM), 2);
    }
    PG_CHECK_RC(pg_profile_metric_charge(&p, 2, p.node_count - 1, 3), PG_OK);
    uint64_t before = pg_profile_memory(&p);
    PG_CHECK(before >= 3ull * p.node_capacity * sizeof(uint64_t));
    /* copy keeps everything */
    pg_profile_t copy;
    PG_CHECK_RC(pg_profile_copy(&copy, &p), PG_OK);
    pg_test_check_profiles_equal(&p, &copy);
    pg_profile_release(&copy);
    /* clear zeroes the values but keeps the metrics */
    pg_profile_clear_counts(&p);
    PG_CHECK_U64(p.metric_count, 3);
    PG_CHECK_U64(p.metrics[0].values[0], 0);
    int64_t again = pg_profile_node_child(&p, PG_ROOT, func(&p, "f1"));
    PG_CHECK(again == 1);
    PG_CHECK_U64(p.metrics[0].values[1], 0);
    PG_CHECK_U64(p.metrics[2].values[1], 0);
    pg_profile_release(&p);
    /* the metric limit */
    PG_CHECK_RC(pg_profile_init(&p), PG_OK);
    for (int i = 0; i < PG_METRIC_LIMIT; i++) {
        snprintf(name, sizeof name, "m%d", i);
        PG_CHECK_RC(pg_profile_metric_intern(&p, name, "count", PG_METRIC_SUM), i);
    }
    PG_CHECK_RC(pg_profile_metric_intern(&p, "one.more", "count", PG_METRIC_SUM), PG_ERR_LIMIT);
    pg_profile_release(&p);
}

/* main -> a -> b -> a (recursive) ; main -> b
 * SUM values: main 1, a 10, b 100, inner a 1000, main->b 10000
 * MAX values: main 5, a 7, b 3, inner a 9, main->b 2 */
static void test_aggregate(void)
{
    pg_profile_t p;
    PG_CHECK_RC(pg_profile_init(&p), PG_OK);
    uint32_t sum = (uint32_t)pg_profile_metric_intern(&p, "s", "bytes", PG_METRIC_SUM);
    uint32_t max = (uint32_t)pg_profile_metric_intern(&p, "m", "bytes", PG_METRIC_MAX);
    uint32_t main_ = child(&p, PG_ROOT, "main");
    uint32_t a = child(&p, main_, "a");
    uint32_t b = child(&p, a, "b");
    uint32_t a2 = child(&p, b, "a");
    uint32_t b2 = child(&p, main_, "b");
    const uint32_t nodes[] = {main_, a, b, a2, b2};
    const uint64_t sums[] = {1, 10, 100, 1000, 10000};
    const uint64_t maxes[] = {5, 7, 3, 9, 2};
    for (int i = 0; i < 5; i++) {
        PG_CHECK_RC(pg_profile_metric_charge(&p, sum, nodes[i], sums[i]), PG_OK);
        PG_CHECK_RC(pg_profile_metric_charge(&p, max, nodes[i], maxes[i]), PG_OK);
    }
    PG_CHECK_RC(pg_profile_metric_charge(&p, sum, PG_ROOT, 100000), PG_OK);
    pg_aggregate_t agg = {0};
    PG_CHECK_RC(pg_aggregate_build(&agg, &p, 1), PG_OK);
    PG_CHECK_U64(agg.metric_count, 2);
    const uint64_t *node_sum = agg.node_metric_inclusive + sum * agg.node_count;
    const uint64_t *node_max = agg.node_metric_inclusive + max * agg.node_count;
    PG_CHECK_U64(node_sum[PG_ROOT], 111111);
    PG_CHECK_U64(node_sum[main_], 11111);
    PG_CHECK_U64(node_sum[a], 1110);
    PG_CHECK_U64(node_sum[a2], 1000);
    PG_CHECK_U64(node_max[main_], 9);
    PG_CHECK_U64(node_max[b], 9);
    PG_CHECK_U64(node_max[b2], 2);
    uint32_t fa = p.nodes[a].func, fb = p.nodes[b].func, fm = p.nodes[main_].func;
    const uint64_t *fx_sum = agg.func_metric_exclusive + sum * agg.func_count;
    const uint64_t *fi_sum = agg.func_metric_inclusive + sum * agg.func_count;
    const uint64_t *fx_max = agg.func_metric_exclusive + max * agg.func_count;
    const uint64_t *fi_max = agg.func_metric_inclusive + max * agg.func_count;
    PG_CHECK_U64(fx_sum[fa], 1010);
    PG_CHECK_U64(fx_sum[fb], 10100);
    /* a: its outer node's subtree only (the inner one is recursive) */
    PG_CHECK_U64(fi_sum[fa], 1110);
    /* b: two non-recursive nodes, disjoint subtrees */
    PG_CHECK_U64(fi_sum[fb], 1100 + 10000);
    PG_CHECK_U64(fi_sum[fm], 11111);
    PG_CHECK_U64(fx_max[fa], 9);
    PG_CHECK_U64(fx_max[fb], 3);
    PG_CHECK_U64(fi_max[fb], 9);
    PG_CHECK_U64(fi_max[fm], 9);
    pg_aggregate_release(&agg);
    pg_profile_release(&p);
}

/* Prune folds small nodes into "[other]" combining metrics by their rule. */
static void test_prune(void)
{
    pg_profile_t p, pruned;
    PG_CHECK_RC(pg_profile_init(&p), PG_OK);
    uint32_t sum = (uint32_t)pg_profile_metric_intern(&p, "s", "bytes", PG_METRIC_SUM);
    uint32_t max = (uint32_t)pg_profile_metric_intern(&p, "m", "bytes", PG_METRIC_MAX);
    uint32_t main_ = child(&p, PG_ROOT, "main");
    uint32_t big = child(&p, main_, "big");
    uint32_t small1 = child(&p, main_, "small1");
    uint32_t deep = child(&p, small1, "deep");
    uint32_t small2 = child(&p, main_, "small2");
    const uint32_t nodes[] = {main_, big, small1, deep, small2};
    const uint64_t times[] = {10, 1000, 5, 3, 7};
    for (int i = 0; i < 5; i++) {
        p.nodes[nodes[i]].exclusive = times[i];
        PG_CHECK_RC(pg_profile_metric_charge(&p, sum, nodes[i], 1u << i), PG_OK);
        PG_CHECK_RC(pg_profile_metric_charge(&p, max, nodes[i], 100u - (uint64_t)i), PG_OK);
    }
    for (uint32_t i = 0; i < p.node_count; i++)
        p.nodes[i].inclusive = p.nodes[i].exclusive;
    for (uint32_t i = p.node_count - 1; i > 0; i--)
        p.nodes[p.nodes[i].parent].inclusive += p.nodes[i].inclusive;
    PG_CHECK_RC(pg_profile_prune(&pruned, &p, 0.02, 0), PG_OK);
    PG_CHECK_U64(pruned.metric_count, 2);
    PG_CHECK_U64(pruned.node_count, 4); /* root, main, big, [other] */
    uint32_t other = 3;
    PG_CHECK_U64(pruned.nodes[other].parent, 1);
    PG_CHECK_U64(pruned.metrics[sum].values[other], 4 + 8 + 16);
    PG_CHECK_U64(pruned.metrics[max].values[other], 98);
    PG_CHECK_U64(pruned.metrics[sum].values[2], 2);
    PG_CHECK_U64(pruned.metrics[max].values[1], 100);
    pg_aggregate_t a = {0}, b = {0};
    PG_CHECK_RC(pg_aggregate_build(&a, &p, 0), PG_OK);
    PG_CHECK_RC(pg_aggregate_build(&b, &pruned, 0), PG_OK);
    PG_CHECK_U64(a.node_metric_inclusive[sum * a.node_count],
                 b.node_metric_inclusive[sum * b.node_count]);
    PG_CHECK_U64(a.node_metric_inclusive[max * a.node_count],
                 b.node_metric_inclusive[max * b.node_count]);
    pg_aggregate_release(&a);
    pg_aggregate_release(&b);
    pg_profile_release(&pruned);
    pg_profile_release(&p);
}

/* Merge: metrics by name, values by call path, combined by rule; time
 * units converted; a name with another unit refused. */
static void test_merge(void)
{
    pg_profile_t a, b;
    PG_CHECK_RC(pg_profile_init(&a), PG_OK);
    PG_CHECK_RC(pg_profile_init(&b), PG_OK);
    a.run.ns_per_unit = 1.0;
    b.run.ns_per_unit = 2.0; /* b's units are twice as long */
    uint32_t a_sum = (uint32_t)pg_profile_metric_intern(&a, "s", "bytes", PG_METRIC_SUM);
    uint32_t a_main = child(&a, PG_ROOT, "main");
    uint32_t a_leaf = child(&a, a_main, "leaf");
    PG_CHECK_RC(pg_profile_metric_charge(&a, a_sum, a_leaf, 10), PG_OK);
    uint32_t b_max = (uint32_t)pg_profile_metric_intern(&b, "m", "bytes", PG_METRIC_MAX);
    uint32_t b_sum = (uint32_t)pg_profile_metric_intern(&b, "s", "bytes", PG_METRIC_SUM);
    uint32_t b_time = (uint32_t)pg_profile_metric_intern(&b, "t", "units", PG_METRIC_SUM);
    uint32_t b_main = child(&b, PG_ROOT, "main");
    uint32_t b_leaf = child(&b, b_main, "leaf");
    uint32_t b_other = child(&b, b_main, "other");
    PG_CHECK_RC(pg_profile_metric_charge(&b, b_sum, b_leaf, 5), PG_OK);
    PG_CHECK_RC(pg_profile_metric_charge(&b, b_sum, b_other, 7), PG_OK);
    PG_CHECK_RC(pg_profile_metric_charge(&b, b_max, b_leaf, 99), PG_OK);
    PG_CHECK_RC(pg_profile_metric_charge(&b, b_time, b_main, 21), PG_OK);
    PG_CHECK_RC(pg_profile_merge(&a, &b), PG_OK);
    PG_CHECK_U64(a.metric_count, 3);
    int64_t m = pg_profile_metric_find(&a, "m"), t = pg_profile_metric_find(&a, "t");
    PG_CHECK(m >= 0 && t >= 0);
    PG_CHECK_U64(a.metrics[a_sum].values[a_leaf], 15);
    uint32_t a_other = (uint32_t)pg_profile_node_child(&a, a_main, func(&a, "other"));
    PG_CHECK_U64(a.metrics[a_sum].values[a_other], 7);
    PG_CHECK_U64(a.metrics[m].values[a_leaf], 99);
    PG_CHECK_U64(a.metrics[t].values[a_main], 42);
    /* the same name with another unit cannot be merged */
    pg_profile_t c;
    PG_CHECK_RC(pg_profile_init(&c), PG_OK);
    PG_CHECK_RC(pg_profile_metric_intern(&c, "s", "count", PG_METRIC_SUM), 0);
    PG_CHECK_RC(pg_profile_merge(&a, &c), PG_ERR_ARG);
    pg_profile_release(&a);
    pg_profile_release(&b);
    pg_profile_release(&c);
}

int main(void)
{
    test_intern_and_charge();
    test_aggregate();
    test_prune();
    test_merge();
    puts("test_metric: ok");
    return 0;
}
