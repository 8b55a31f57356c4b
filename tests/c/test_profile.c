/* pg_profile: root, find-or-create children, function interning, the lazy
 * lookup indexes after appends, clear_counts, metadata, memory. */
#include "pg_profile.h"
#include "pg_test.h"

static int64_t intern(pg_profile_t *profile, const char *name, const char *file,
                      uint32_t line, uint32_t kind)
{
    return pg_profile_func_intern(profile, name, strlen(name), file, strlen(file), line,
                                  kind);
}

static void test_init(void)
{
    pg_profile_t profile;
    PG_CHECK_RC(pg_profile_init(&profile), PG_OK);
    PG_CHECK_U64(profile.node_count, 1);
    PG_CHECK_U64(profile.nodes[0].parent, PG_NONE);
    PG_CHECK_U64(profile.nodes[0].func, PG_NONE);
    PG_CHECK_U64(profile.func_count, 0);
    PG_CHECK_U64(profile.strings.count, 1);
    PG_CHECK_NEAR(profile.run.ns_per_unit, 1.0, 0);
    pg_profile_release(&profile);
    pg_profile_release(&profile); /* release leaves it zeroed: twice is safe */
}

static void test_func_intern(void)
{
    pg_profile_t profile;
    PG_CHECK_RC(pg_profile_init(&profile), PG_OK);
    PG_CHECK_RC(intern(&profile, "f", "a.py", 10, PG_FUNC_PYTHON), 0);
    PG_CHECK_RC(intern(&profile, "g", "a.py", 20, PG_FUNC_PYTHON), 1);
    PG_CHECK_RC(intern(&profile, "f", "a.py", 10, PG_FUNC_PYTHON), 0);
    PG_CHECK_RC(intern(&profile, "f", "a.py", 11, PG_FUNC_PYTHON), 2); /* line */
    PG_CHECK_RC(intern(&profile, "f", "b.py", 10, PG_FUNC_PYTHON), 3); /* file */
    PG_CHECK_RC(intern(&profile, "f", "a.py", 10, PG_FUNC_BUILTIN), 4); /* kind */
    /* Strings are shared: "a.py" is stored once. */
    PG_CHECK_U64(profile.funcs[0].file, profile.funcs[1].file);
    PG_CHECK(strcmp(pg_strtab_get(&profile.strings, profile.funcs[3].file), "b.py") == 0);
    PG_CHECK_U64(profile.funcs[0].hist.count, 0);
    PG_CHECK_U64(profile.funcs[0].hist.min, UINT64_MAX);
    /* Many functions: the index is rebuilt as it grows, lookups still hit. */
    char name[32];
    for (uint32_t i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "fn%u", i);
        PG_CHECK_RC(intern(&profile, name, "m.py", i, PG_FUNC_PYTHON), 5 + i);
    }
    for (uint32_t i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "fn%u", i);
        PG_CHECK_RC(intern(&profile, name, "m.py", i, PG_FUNC_PYTHON), 5 + i);
    }
    PG_CHECK_U64(profile.func_count, 5005);
    /* A function appended by the reader path is found by intern later. */
    int64_t text = pg_strtab_intern(&profile.strings, "h", 1);
    PG_CHECK(text > 0);
    PG_CHECK_RC(pg_profile_func_append(&profile, (uint32_t)text, (uint32_t)text, 7, 0),
                PG_OK);
    PG_CHECK_RC(intern(&profile, "h", "h", 7, PG_FUNC_PYTHON), 5005);
    pg_profile_release(&profile);
}

static void test_node_child(void)
{
    pg_profile_t profile;
    PG_CHECK_RC(pg_profile_init(&profile), PG_OK);
    uint32_t f = (uint32_t)intern(&profile, "f", "a.py", 1, 0);
    uint32_t g = (uint32_t)intern(&profile, "g", "a.py", 2, 0);
    int64_t rf = pg_profile_node_child(&profile, PG_ROOT, f);
    PG_CHECK_RC(rf, 1);
    PG_CHECK_RC(pg_profile_node_child(&profile, PG_ROOT, f), 1);
    int64_t fg = pg_profile_node_child(&profile, (uint32_t)rf, g);
    PG_CHECK_RC(fg, 2);
    PG_CHECK_RC(pg_profile_node_child(&profile, PG_ROOT, g), 3); /* other parent */
    PG_CHECK_RC(pg_profile_node_child(&profile, (uint32_t)fg, g), 4); /* recursion */
    PG_CHECK_RC(pg_profile_node_child(&profile, (uint32_t)rf, g), 2);
    PG_CHECK_U64(profile.nodes[2].parent, 1);
    PG_CHECK_U64(profile.nodes[2].func, g);
    PG_CHECK_U64(profile.nodes[2].calls, 0);
    /* A deep chain and a wide fan: indexes survive every rebuild, and
     * parents always precede children. */
    uint32_t parent = PG_ROOT;
    uint32_t chain[3000];
    for (int i = 0; i < 3000; i++) {
        int64_t child = pg_profile_node_child(&profile, parent, i % 2 ? f : g);
        PG_CHECK(child > parent);
        chain[i] = (uint32_t)child;
        parent = (uint32_t)child;
    }
    parent = PG_ROOT;
    for (int i = 0; i < 3000; i++) {
        PG_CHECK_RC(pg_profile_node_child(&profile, parent, i % 2 ? f : g), chain[i]);
        parent = chain[i];
    }
    /* Nodes appended by the reader path are found through the rebuilt index. */
    pg_node_t node = {.parent = 1, .func = f, .calls = 9};
    uint32_t count = profile.node_count;
    PG_CHECK_RC(pg_profile_node_append(&profile, &node), PG_OK);
    PG_CHECK_RC(pg_profile_node_child(&profile, 1, f), count);
    PG_CHECK_U64(profile.nodes[count].calls, 9);
    pg_profile_release(&profile);
}

static void test_clear_counts(void)
{
    pg_profile_t profile;
    PG_CHECK_RC(pg_profile_init(&profile), PG_OK);
    uint32_t f = (uint32_t)intern(&profile, "f", "a.py", 1, 0);
    int64_t node = pg_profile_node_child(&profile, PG_ROOT, f);
    profile.nodes[node].calls = 5;
    profile.nodes[0].inclusive = 100;
    pg_hist_add(&profile.funcs[f].hist, 1234);
    uint32_t strings = profile.strings.count;
    pg_profile_clear_counts(&profile);
    PG_CHECK_U64(profile.node_count, 1);
    PG_CHECK_U64(profile.nodes[0].inclusive, 0);
    PG_CHECK_U64(profile.nodes[0].parent, PG_NONE);
    PG_CHECK_U64(profile.func_count, 1);
    PG_CHECK_U64(profile.strings.count, strings);
    PG_CHECK_U64(profile.funcs[f].hist.count, 0);
    PG_CHECK_U64(profile.funcs[f].hist.min, UINT64_MAX);
    PG_CHECK_U64(pg_hist_memory(&profile.funcs[f].hist), 0);
    /* Function lookups still work; the tree starts again from index 1. */
    PG_CHECK_RC(intern(&profile, "f", "a.py", 1, 0), f);
    PG_CHECK_RC(pg_profile_node_child(&profile, PG_ROOT, f), 1);
    PG_CHECK_U64(profile.nodes[1].calls, 0);
    pg_profile_release(&profile);
}

static void test_meta(void)
{
    pg_profile_t profile;
    PG_CHECK_RC(pg_profile_init(&profile), PG_OK);
    PG_CHECK(pg_profile_meta_get(&profile, "python") == NULL);
    PG_CHECK_RC(pg_profile_meta_set(&profile, "python", "3.12"), PG_OK);
    PG_CHECK_RC(pg_profile_meta_set(&profile, "argv", "job.py --fast"), PG_OK);
    PG_CHECK_RC(pg_profile_meta_set(&profile, "python", "3.13"), PG_OK);
    PG_CHECK_U64(profile.meta_count, 2);
    PG_CHECK(strcmp(pg_profile_meta_get(&profile, "python"), "3.13") == 0);
    PG_CHECK(strcmp(profile.meta[1].key, "argv") == 0); /* insertion order */
    for (int i = 0; i < 100; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        PG_CHECK_RC(pg_profile_meta_set(&profile, key, key), PG_OK);
    }
    PG_CHECK(strcmp(pg_profile_meta_get(&profile, "k77"), "k77") == 0);
    pg_profile_release(&profile);
}

/* Memory grows with distinct call paths, not with calls. */
static void test_memory(void)
{
    pg_profile_t profile;
    PG_CHECK_RC(pg_profile_init(&profile), PG_OK);
    uint64_t empty = pg_profile_memory(&profile);
    PG_CHECK(empty >= profile.strings.bytes + profile.node_capacity * sizeof(pg_node_t));
    uint32_t f = (uint32_t)intern(&profile, "f", "a.py", 1, 0);
    int64_t node = pg_profile_node_child(&profile, PG_ROOT, f);
    uint64_t one = pg_profile_memory(&profile);
    PG_CHECK(one > empty);
    for (int i = 0; i < 100000; i++) {
        PG_CHECK_RC(pg_profile_node_child(&profile, PG_ROOT, f), node);
        profile.nodes[node].calls++;
    }
    PG_CHECK_U64(pg_profile_memory(&profile), one);
    pg_hist_add(&profile.funcs[f].hist, 10);
    PG_CHECK_U64(pg_profile_memory(&profile), one + PG_HIST_SUB * sizeof(uint64_t));
    pg_profile_release(&profile);
}

int main(void)
{
    test_init();
    test_func_intern();
    test_node_child();
    test_clear_counts();
    test_meta();
    test_memory();
    puts("test_profile: ok");
    return 0;
}
