/* Line heat: the table (intern, charge, growth, copy, memory), its place in
 * the profile (init, release, copy, clear), merge with remapped functions
 * and different time units, and prune. */
#include "pg_checksums.h"
#include "pg_format.h"
#include "pg_lines.h"
#include "pg_merge.h"
#include "pg_profile.h"
#include "pg_prune.h"
#include "pg_test.h"

static uint32_t func(pg_profile_t *profile, const char *name)
{
    int64_t index = pg_profile_func_intern(profile, name, strlen(name), "job.py", 6, 1,
                                           PG_FUNC_PYTHON);
    PG_CHECK(index >= 0);
    return (uint32_t)index;
}

static const pg_line_heat_t *row_of(pg_line_table_t *table, uint32_t f, uint32_t line)
{
    int64_t index = pg_line_table_find(table, f, line);
    return index < 0 ? NULL : &table->rows[index];
}

static void test_charge_adds(void)
{
    /* GIVEN an empty table */
    pg_line_table_t table;
    pg_line_table_init(&table);
    PG_CHECK(pg_line_table_find(&table, 0, 1) == -1);
    /* WHEN one line is charged twice and another once */
    PG_CHECK_RC(pg_line_table_charge(&table, 3, 10, 5, 7, 1), PG_OK);
    PG_CHECK_RC(pg_line_table_charge(&table, 3, 11, 1, 1, 1), PG_OK);
    PG_CHECK_RC(pg_line_table_charge(&table, 3, 10, 2, 9, 4), PG_OK);
    /* THEN there is one row per (func, line) and the values add */
    PG_CHECK_U64(table.count, 2);
    const pg_line_heat_t *row = row_of(&table, 3, 10);
    PG_CHECK(row != NULL);
    PG_CHECK_U64(row->self, 7);
    PG_CHECK_U64(row->total, 16);
    PG_CHECK_U64(row->hits, 5);
    PG_CHECK(row_of(&table, 4, 10) == NULL);
    PG_CHECK(row_of(&table, 3, 12) == NULL);
    PG_CHECK(pg_line_table_memory(&table) >= 2 * sizeof(pg_line_heat_t));
    pg_line_table_release(&table);
    PG_CHECK(table.rows == NULL && table.count == 0);
}

static void test_growth_keeps_rows(void)
{
    /* GIVEN many (func, line) pairs, charged in two passes */
    pg_line_table_t table;
    pg_line_table_init(&table);
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t f = 0; f < 40; f++)
            for (uint32_t line = 1; line <= 100; line++)
                PG_CHECK_RC(pg_line_table_charge(&table, f, line, f, line, 1), PG_OK);
    /* THEN every pair is found with both passes added */
    PG_CHECK_U64(table.count, 4000);
    for (uint32_t f = 0; f < 40; f++)
        for (uint32_t line = 1; line <= 100; line++) {
            const pg_line_heat_t *row = row_of(&table, f, line);
            PG_CHECK(row != NULL);
            PG_CHECK_U64(row->self, 2 * f);
            PG_CHECK_U64(row->total, 2 * line);
            PG_CHECK_U64(row->hits, 2);
        }
    /* AND appending (as the reader does) then finding rebuilds the index */
    pg_line_heat_t extra = {.func = 99, .line = 7, .self = 1, .total = 2, .hits = 3};
    PG_CHECK_RC(pg_line_table_append(&table, &extra), PG_OK);
    PG_CHECK(row_of(&table, 99, 7) != NULL);
    PG_CHECK(row_of(&table, 0, 1) != NULL);
    pg_line_table_release(&table);
}

static void test_profile_lifecycle(void)
{
    /* GIVEN a profile with two functions and line heat */
    pg_profile_t profile, copy;
    PG_CHECK_RC(pg_profile_init(&profile), PG_OK);
    uint32_t a = func(&profile, "a"), b = func(&profile, "b");
    uint64_t before = pg_profile_memory(&profile);
    PG_CHECK_RC(pg_profile_line_charge(&profile, a, 5, 10, 20, 2), PG_OK);
    PG_CHECK_RC(pg_profile_line_charge(&profile, b, 8, 1, 1, 1), PG_OK);
    PG_CHECK(pg_profile_memory(&profile) > before);
    /* THEN a function that does not exist is refused */
    PG_CHECK_RC(pg_profile_line_charge(&profile, 2, 5, 1, 1, 1), PG_ERR_ARG);
    PG_CHECK_RC(pg_profile_line_charge(&profile, PG_NONE, 5, 1, 1, 1), PG_ERR_ARG);
    /* AND a copy holds the same rows, independent of the original */
    PG_CHECK_RC(pg_profile_copy(&copy, &profile), PG_OK);
    PG_CHECK_U64(copy.lines.count, 2);
    PG_CHECK_RC(pg_profile_line_charge(&copy, a, 5, 1, 1, 1), PG_OK);
    PG_CHECK_U64(row_of(&copy.lines, a, 5)->self, 11);
    PG_CHECK_U64(row_of(&profile.lines, a, 5)->self, 10);
    /* AND clearing the counts forgets line heat */
    pg_profile_clear_counts(&copy);
    PG_CHECK_U64(copy.lines.count, 0);
    PG_CHECK_RC(pg_profile_line_charge(&copy, b, 8, 3, 4, 5), PG_OK);
    PG_CHECK_U64(row_of(&copy.lines, b, 8)->total, 4);
    pg_profile_release(&copy);
    pg_profile_release(&profile);
}

static void test_merge_remaps_and_scales(void)
{
    /* GIVEN a parent and a worker whose function tables differ in order, and
     * whose units differ (parent 0.5 ns per unit, worker 1 ns) */
    pg_profile_t parent, worker;
    PG_CHECK_RC(pg_profile_init(&parent), PG_OK);
    PG_CHECK_RC(pg_profile_init(&worker), PG_OK);
    parent.run.ns_per_unit = 0.5;
    worker.run.ns_per_unit = 1.0;
    uint32_t p_load = func(&parent, "load");
    uint32_t w_work = func(&worker, "work");
    uint32_t w_load = func(&worker, "load");
    PG_CHECK_RC(pg_profile_line_charge(&parent, p_load, 3, 100, 200, 4), PG_OK);
    PG_CHECK_RC(pg_profile_line_charge(&worker, w_load, 3, 10, 20, 1), PG_OK);
    PG_CHECK_RC(pg_profile_line_charge(&worker, w_load, 4, 5, 5, 1), PG_OK);
    PG_CHECK_RC(pg_profile_line_charge(&worker, w_work, 9, 7, 8, 2), PG_OK);
    /* WHEN the worker is merged into the parent */
    PG_CHECK_RC(pg_profile_merge(&parent, &worker), PG_OK);
    /* THEN lines follow their functions by identity, times in parent units */
    uint32_t m_work = func(&parent, "work");
    PG_CHECK_U64(parent.lines.count, 3);
    const pg_line_heat_t *row = row_of(&parent.lines, p_load, 3);
    PG_CHECK_U64(row->self, 120);
    PG_CHECK_U64(row->total, 240);
    PG_CHECK_U64(row->hits, 5);
    PG_CHECK_U64(row_of(&parent.lines, p_load, 4)->self, 10);
    row = row_of(&parent.lines, m_work, 9);
    PG_CHECK(row != NULL);
    PG_CHECK_U64(row->self, 14);
    PG_CHECK_U64(row->total, 16);
    PG_CHECK_U64(row->hits, 2);
    pg_profile_release(&parent);
    pg_profile_release(&worker);
}

static void test_prune_keeps_lines(void)
{
    /* GIVEN a profile with a call tree and line heat */
    pg_profile_t src, dst;
    PG_CHECK_RC(pg_profile_init(&src), PG_OK);
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        uint32_t f = func(&src, name);
        int64_t node = pg_profile_node_child(&src, PG_ROOT, f);
        PG_CHECK(node > 0);
        src.nodes[node].calls = 1;
        src.nodes[node].inclusive = src.nodes[node].exclusive = (uint64_t)(i + 1) * 10;
        PG_CHECK_RC(pg_profile_line_charge(&src, f, 2, (uint64_t)i, (uint64_t)i, 1), PG_OK);
    }
    /* WHEN it is pruned hard */
    PG_CHECK_RC(pg_profile_prune(&dst, &src, 0.0, 3), PG_OK);
    /* THEN every function keeps its line heat at its index */
    PG_CHECK_U64(dst.lines.count, 20);
    for (uint32_t f = 0; f < 20; f++)
        PG_CHECK_U64(row_of(&dst.lines, f, 2)->self, f);
    pg_profile_release(&dst);
    pg_profile_release(&src);
}

/* Offset of the LINE payload in image, or 0. */
static size_t line_payload(const pg_bytes_t *image)
{
    size_t at = PG_FORMAT_HEADER_SIZE;
    while (at + PG_FORMAT_SECTION_HEADER_SIZE <= image->size) {
        uint64_t length;
        memcpy(&length, image->data + at + 8, 8); /* little-endian host */
        if (memcmp(image->data + at, "LINE", 4) == 0)
            return at + PG_FORMAT_SECTION_HEADER_SIZE;
        at += PG_FORMAT_SECTION_HEADER_SIZE + (size_t)length;
    }
    return 0;
}

static int read_image(const pg_bytes_t *image, pg_profile_t *out)
{
    memset(out, 0, sizeof *out);
    return pg_profile_read_buffer(out, image->data, image->size);
}

static void test_file_round_trip_and_rules(void)
{
    /* GIVEN a profile with two functions and three small line rows */
    pg_profile_t profile, back;
    PG_CHECK_RC(pg_profile_init(&profile), PG_OK);
    uint32_t a = func(&profile, "a"), b = func(&profile, "b");
    PG_CHECK_RC(pg_profile_line_charge(&profile, a, 1, 2, 3, 4), PG_OK);
    PG_CHECK_RC(pg_profile_line_charge(&profile, a, 2, 5, 6, 7), PG_OK);
    PG_CHECK_RC(pg_profile_line_charge(&profile, b, 9, 0, 100000, 1), PG_OK);
    /* WHEN it is written and read back */
    pg_bytes_t image;
    pg_bytes_init(&image);
    PG_CHECK_RC(pg_profile_encode(&profile, &image), PG_OK);
    PG_CHECK_RC(read_image(&image, &back), PG_OK);
    /* THEN the rows come back in order */
    PG_CHECK_U64(back.lines.count, 3);
    for (uint32_t i = 0; i < 3; i++)
        PG_CHECK(memcmp(&back.lines.rows[i], &profile.lines.rows[i], sizeof(pg_line_heat_t)) ==
                 0);
    pg_profile_release(&back);

    /* AND a row listed twice is corrupt: payload = count 3, then 5 one-byte
     * fields per row; make row 2's line equal row 1's */
    size_t payload = line_payload(&image);
    PG_CHECK(payload != 0);
    PG_CHECK_U64(image.data[payload], 3);
    PG_CHECK_U64(image.data[payload + 1 + 5 + 1], 2);
    image.data[payload + 1 + 5 + 1] = 1;
    pg_checksums_fix(image.data, image.size);
    PG_CHECK_RC(read_image(&image, &back), PG_ERR_CORRUPT);
    /* AND self above total is corrupt */
    image.data[payload + 1 + 5 + 1] = 2;
    image.data[payload + 1 + 5 + 2] = 7; /* self 7 > total 6 */
    pg_checksums_fix(image.data, image.size);
    PG_CHECK_RC(read_image(&image, &back), PG_ERR_CORRUPT);
    /* AND a function index beyond the table is corrupt */
    image.data[payload + 1 + 5 + 2] = 5;
    image.data[payload + 1 + 5] = 2;
    pg_checksums_fix(image.data, image.size);
    PG_CHECK_RC(read_image(&image, &back), PG_ERR_CORRUPT);
    /* AND restored, it reads again (the patches were the only damage) */
    image.data[payload + 1 + 5] = 0;
    pg_checksums_fix(image.data, image.size);
    PG_CHECK_RC(read_image(&image, &back), PG_OK);
    pg_profile_release(&back);
    pg_bytes_release(&image);

    /* AND the writer refuses what the reader would reject */
    profile.lines.rows[1].self = 7; /* > total 6 */
    pg_bytes_init(&image);
    PG_CHECK_RC(pg_profile_encode(&profile, &image), PG_ERR_ARG);
    pg_bytes_release(&image);
    profile.lines.rows[1].self = 5;
    profile.lines.rows[1].line = 1; /* duplicate of row 0 */
    pg_bytes_init(&image);
    PG_CHECK_RC(pg_profile_encode(&profile, &image), PG_ERR_ARG);
    pg_bytes_release(&image);
    pg_profile_release(&profile);
}

int main(void)
{
    test_file_round_trip_and_rules();
    test_charge_adds();
    test_growth_keeps_rows();
    test_profile_lifecycle();
    test_merge_remaps_and_scales();
    test_prune_keeps_lines();
    puts("lines: ok");
    return 0;
}
