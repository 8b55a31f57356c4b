/* pg_prune: small nodes folded into "[other]", totals and invariants kept. */
#include <math.h>

#include "pg_profile.h"
#include "pg_prune.h"
#include "pg_test.h"

static uint32_t func(pg_profile_t *profile, const char *name)
{
    int64_t index = pg_profile_func_intern(profile, name, strlen(name), "t.py", 4, 1,
                                           PG_FUNC_PYTHON);
    PG_CHECK(index >= 0);
    return (uint32_t)index;
}

/* Add child of parent with the given exclusive time; inclusive is fixed up
 * afterwards by finish(). */
static uint32_t child(pg_profile_t *profile, uint32_t parent, const char *name,
                      uint64_t exclusive, uint64_t calls)
{
    int64_t index = pg_profile_node_child(profile, parent, func(profile, name));
    PG_CHECK(index > 0);
    pg_node_t *node = &profile->nodes[index];
    node->exclusive = exclusive;
    node->calls = calls;
    node->events = 2 * calls;
    PG_CHECK_RC(pg_hist_add(&profile->funcs[node->func].hist, exclusive), PG_OK);
    return (uint32_t)index;
}

/* inclusive = exclusive + children's inclusive (backward scan). */
static void finish(pg_profile_t *profile)
{
    for (uint32_t i = 0; i < profile->node_count; i++)
        profile->nodes[i].inclusive = profile->nodes[i].exclusive;
    for (uint32_t i = profile->node_count - 1; i > 0; i--)
        profile->nodes[profile->nodes[i].parent].inclusive += profile->nodes[i].inclusive;
}

/* The invariants of pg_profile.h, and unique (parent, func) pairs. */
static void check_invariants(const pg_profile_t *profile)
{
    PG_CHECK_U64(profile->nodes[0].parent, PG_NONE);
    PG_CHECK_U64(profile->nodes[0].func, PG_NONE);
    uint64_t *children = calloc(profile->node_count, sizeof(uint64_t));
    PG_CHECK(children != NULL);
    for (uint32_t i = 1; i < profile->node_count; i++) {
        const pg_node_t *node = &profile->nodes[i];
        PG_CHECK(node->parent < i);
        PG_CHECK(node->func < profile->func_count);
        PG_CHECK(node->exclusive <= node->inclusive);
        children[node->parent] += node->inclusive;
        for (uint32_t j = 1; j < i; j++)
            PG_CHECK(profile->nodes[j].parent != node->parent ||
                     profile->nodes[j].func != node->func);
    }
    for (uint32_t i = 1; i < profile->node_count; i++)
        PG_CHECK_U64(profile->nodes[i].inclusive,
                     profile->nodes[i].exclusive + children[i]);
    free(children);
}

static uint64_t total_of(const pg_profile_t *profile)
{
    uint64_t total = 0;
    for (uint32_t i = 1; i < profile->node_count; i++)
        if (profile->nodes[i].parent == PG_ROOT)
            total += profile->nodes[i].inclusive;
    return total;
}

static const char *name_of(const pg_profile_t *profile, uint32_t node)
{
    return pg_strtab_get(&profile->strings, profile->funcs[profile->nodes[node].func].name);
}

/* main (10) -> big (500) -> leaf (400)
 *           -> small1 (5) -> deep (3)
 *           -> small2 (7)
 * other_root (2) */
static void build(pg_profile_t *profile)
{
    PG_CHECK_RC(pg_profile_init(profile), PG_OK);
    uint32_t main_node = child(profile, PG_ROOT, "main", 10, 1);
    uint32_t big = child(profile, main_node, "big", 500, 3);
    child(profile, big, "leaf", 400, 30);
    uint32_t small1 = child(profile, main_node, "small1", 5, 4);
    child(profile, small1, "deep", 3, 5);
    child(profile, main_node, "small2", 7, 6);
    child(profile, PG_ROOT, "other_root", 2, 7);
    finish(profile);
    profile->run.duration_ns = 12345;
    PG_CHECK_RC(pg_profile_meta_set(profile, "name", "t"), PG_OK);
}

static void test_keep_all(void)
{
    pg_profile_t src, dst;
    build(&src);
    PG_CHECK_RC(pg_profile_prune(&dst, &src, 0.0, 0), PG_OK);
    PG_CHECK_U64(dst.node_count, src.node_count);
    PG_CHECK_U64(dst.func_count, src.func_count); /* no "[other]" when nothing merged */
    for (uint32_t i = 0; i < src.node_count; i++)
        PG_CHECK(memcmp(&dst.nodes[i], &src.nodes[i], sizeof(pg_node_t)) == 0);
    check_invariants(&dst);
    PG_CHECK_U64(dst.run.duration_ns, 12345);
    PG_CHECK(strcmp(pg_profile_meta_get(&dst, "name"), "t") == 0);
    PG_CHECK_U64(dst.funcs[1].hist.count, 1);
    pg_profile_release(&dst);
    pg_profile_release(&src);
}

static void test_min_fraction(void)
{
    pg_profile_t src, dst;
    build(&src);
    uint64_t total = total_of(&src); /* 927 */
    PG_CHECK_U64(total, 927);
    /* 2% of 927 = 18.54: small1 (8), small2 (7) and other_root (2) merge. */
    PG_CHECK_RC(pg_profile_prune(&dst, &src, 0.02, 0), PG_OK);
    check_invariants(&dst);
    PG_CHECK_U64(total_of(&dst), total);
    PG_CHECK_U64(dst.func_count, src.func_count + 1);
    /* root, main, big, leaf, [other] under main, [other] under root */
    PG_CHECK_U64(dst.node_count, 6);
    PG_CHECK(strcmp(name_of(&dst, 1), "main") == 0);
    PG_CHECK_U64(dst.nodes[1].inclusive, src.nodes[1].inclusive);
    uint32_t seen = 0;
    for (uint32_t i = 1; i < dst.node_count; i++) {
        if (strcmp(name_of(&dst, i), PG_PRUNE_OTHER_NAME) != 0)
            continue;
        const pg_func_t *f = &dst.funcs[dst.nodes[i].func];
        PG_CHECK(strcmp(pg_strtab_get(&dst.strings, f->file), "~") == 0);
        PG_CHECK_U64(f->kind, PG_FUNC_BUILTIN);
        if (dst.nodes[i].parent == 1) { /* small1 + deep + small2 */
            PG_CHECK_U64(dst.nodes[i].inclusive, 15);
            PG_CHECK_U64(dst.nodes[i].exclusive, 15);
            PG_CHECK_U64(dst.nodes[i].calls, 10);   /* subtree roots only */
            PG_CHECK_U64(dst.nodes[i].events, 30);  /* whole subtrees */
        } else {
            PG_CHECK_U64(dst.nodes[i].parent, PG_ROOT);
            PG_CHECK_U64(dst.nodes[i].inclusive, 2);
            PG_CHECK_U64(dst.nodes[i].calls, 7);
        }
        seen++;
    }
    PG_CHECK_U64(seen, 2);
    pg_profile_release(&dst);
    /* Pruning a pruned profile again reuses the "[other]" function. */
    pg_profile_t again, twice;
    PG_CHECK_RC(pg_profile_prune(&again, &src, 0.02, 0), PG_OK);
    PG_CHECK_RC(pg_profile_prune(&twice, &again, 0.5, 0), PG_OK);
    check_invariants(&twice);
    PG_CHECK_U64(total_of(&twice), total);
    PG_CHECK_U64(twice.func_count, again.func_count);
    pg_profile_release(&twice);
    pg_profile_release(&again);
    pg_profile_release(&src);
}

/* A kept "[other]" child absorbs its merged siblings: no duplicate pair. */
static void test_existing_other(void)
{
    pg_profile_t src, dst;
    PG_CHECK_RC(pg_profile_init(&src), PG_OK);
    uint32_t main_node = child(&src, PG_ROOT, "main", 0, 1);
    child(&src, main_node, "tiny", 1, 1);
    int64_t other = pg_profile_func_intern(&src, PG_PRUNE_OTHER_NAME,
                                           strlen(PG_PRUNE_OTHER_NAME), "~", 1, 0,
                                           PG_FUNC_BUILTIN);
    PG_CHECK(other >= 0);
    int64_t other_node = pg_profile_node_child(&src, main_node, (uint32_t)other);
    PG_CHECK(other_node > 0);
    src.nodes[other_node].exclusive = 100;
    src.nodes[other_node].calls = 2;
    finish(&src);
    PG_CHECK_RC(pg_profile_prune(&dst, &src, 0.05, 0), PG_OK);
    check_invariants(&dst);
    PG_CHECK_U64(dst.node_count, 3);
    PG_CHECK_U64(dst.func_count, src.func_count);
    PG_CHECK(strcmp(name_of(&dst, 2), PG_PRUNE_OTHER_NAME) == 0);
    PG_CHECK_U64(dst.nodes[2].inclusive, 101);
    PG_CHECK_U64(dst.nodes[2].exclusive, 101);
    PG_CHECK_U64(dst.nodes[2].calls, 3);
    pg_profile_release(&dst);
    pg_profile_release(&src);
}

static void test_max_nodes(void)
{
    pg_profile_t src, dst;
    build(&src);
    /* The three largest: main, big, leaf. */
    PG_CHECK_RC(pg_profile_prune(&dst, &src, 0.0, 3), PG_OK);
    check_invariants(&dst);
    PG_CHECK_U64(total_of(&dst), total_of(&src));
    PG_CHECK_U64(dst.node_count, 6);
    PG_CHECK(strcmp(name_of(&dst, 3), "leaf") == 0);
    pg_profile_release(&dst);
    /* One node: main only; its children all fold into one "[other]". */
    PG_CHECK_RC(pg_profile_prune(&dst, &src, 0.0, 1), PG_OK);
    check_invariants(&dst);
    PG_CHECK_U64(dst.node_count, 4);
    PG_CHECK_U64(dst.nodes[2].parent, 1);
    PG_CHECK_U64(dst.nodes[2].inclusive, src.nodes[1].inclusive - 10);
    pg_profile_release(&dst);
    PG_CHECK_RC(pg_profile_prune(&dst, &src, -1.0, 100), PG_OK);
    PG_CHECK_U64(dst.node_count, src.node_count);
    pg_profile_release(&dst);
    pg_profile_release(&src);
}

/* A wide, deep random tree: invariants and totals at several cuts. */
static void test_random_tree(void)
{
    pg_profile_t src;
    PG_CHECK_RC(pg_profile_init(&src), PG_OK);
    uint64_t state = 88172645463325252ull;
    char name[16];
    for (uint32_t i = 0; i < 3000; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        uint32_t parent = (uint32_t)(state % src.node_count);
        snprintf(name, sizeof name, "f%u", (uint32_t)(state >> 40) % 50);
        int64_t index = pg_profile_node_child(&src, parent, func(&src, name));
        PG_CHECK(index > 0);
        src.nodes[index].exclusive += (state >> 20) % 1000;
        src.nodes[index].calls += 1;
    }
    finish(&src);
    const double fractions[] = {0.0, 0.0001, 0.01, 0.2, 1.0};
    const uint32_t limits[] = {0, 1, 50, 5000};
    for (size_t f = 0; f < sizeof fractions / sizeof fractions[0]; f++) {
        for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
            pg_profile_t dst;
            PG_CHECK_RC(pg_profile_prune(&dst, &src, fractions[f], limits[l]), PG_OK);
            check_invariants(&dst);
            PG_CHECK_U64(total_of(&dst), total_of(&src));
            if (limits[l])
                PG_CHECK(dst.node_count <= 2 * limits[l] + 2);
            pg_profile_release(&dst);
        }
    }
    pg_profile_release(&src);
}

static void test_bad_arguments(void)
{
    pg_profile_t src, dst;
    build(&src);
    PG_CHECK_RC(pg_profile_prune(&dst, &src, 1.5, 0), PG_ERR_ARG);
    PG_CHECK_RC(pg_profile_prune(&dst, &src, NAN, 0), PG_ERR_ARG);
    pg_profile_release(&src);
}

int main(void)
{
    test_keep_all();
    test_min_fraction();
    test_existing_other();
    test_max_nodes();
    test_random_tree();
    test_bad_arguments();
    puts("prune: ok");
    return 0;
}
