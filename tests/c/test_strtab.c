/* pg_strtab: index 0 is "", interning dedupes, indexes and pointers stay
 * stable while the table grows to 100k strings. */
#include "pg_strtab.h"
#include "pg_test.h"

static void test_empty_string_is_zero(void)
{
    pg_strtab_t table;
    PG_CHECK_RC(pg_strtab_init(&table), PG_OK);
    PG_CHECK_U64(table.count, 1);
    PG_CHECK(strcmp(pg_strtab_get(&table, 0), "") == 0);
    PG_CHECK_U64(pg_strtab_length(&table, 0), 0);
    PG_CHECK_RC(pg_strtab_intern(&table, "", 0), 0);
    PG_CHECK_RC(pg_strtab_intern(&table, "abc", 0), 0); /* length wins */
    PG_CHECK(pg_strtab_get(&table, 1) == NULL);
    PG_CHECK_U64(pg_strtab_length(&table, 99), 0);
    pg_strtab_release(&table);
}

static void test_dedupe(void)
{
    pg_strtab_t table;
    PG_CHECK_RC(pg_strtab_init(&table), PG_OK);
    PG_CHECK_RC(pg_strtab_intern(&table, "main", 4), 1);
    PG_CHECK_RC(pg_strtab_intern(&table, "mainly", 4), 1); /* same 4 bytes */
    PG_CHECK_RC(pg_strtab_intern(&table, "mainly", 6), 2);
    PG_CHECK_RC(pg_strtab_intern(&table, "main", 4), 1);
    /* Lengths, not terminators, delimit: embedded NUL is a distinct key. */
    PG_CHECK_RC(pg_strtab_intern(&table, "ma\0in", 5), 3);
    PG_CHECK_U64(pg_strtab_length(&table, 3), 5);
    PG_CHECK_U64(table.count, 4);
    const char *text = pg_strtab_get(&table, 2);
    PG_CHECK(strcmp(text, "mainly") == 0 && text[6] == '\0');
    pg_strtab_release(&table);
}

/* Growth through many rehashes: every string keeps its index and its
 * pointer, and interning again finds the old index. */
static void test_growth(void)
{
    enum { N = 100000 };
    pg_strtab_t table;
    PG_CHECK_RC(pg_strtab_init(&table), PG_OK);
    uint64_t bytes_before = table.bytes;
    char text[64];
    const char *first = NULL;
    for (int i = 0; i < N; i++) {
        int length = snprintf(text, sizeof text, "module_%d.func_%x", i, i * 2654435761u);
        PG_CHECK_RC(pg_strtab_intern(&table, text, (size_t)length), i + 1);
        if (i == 0)
            first = pg_strtab_get(&table, 1);
    }
    PG_CHECK_U64(table.count, N + 1);
    PG_CHECK(pg_strtab_get(&table, 1) == first);
    for (int i = 0; i < N; i++) {
        int length = snprintf(text, sizeof text, "module_%d.func_%x", i, i * 2654435761u);
        PG_CHECK_RC(pg_strtab_intern(&table, text, (size_t)length), i + 1);
        PG_CHECK(strcmp(pg_strtab_get(&table, (uint32_t)i + 1), text) == 0);
        PG_CHECK_U64(pg_strtab_length(&table, (uint32_t)i + 1), length);
    }
    PG_CHECK_U64(table.count, N + 1);
    PG_CHECK(table.slot_mask + 1 >= 2 * table.count); /* load factor <= 1/2 */
    PG_CHECK(table.bytes > bytes_before + (uint64_t)N * 10);
    pg_strtab_release(&table);
    PG_CHECK_U64(table.count, 0);
}

int main(void)
{
    test_empty_string_is_zero();
    test_dedupe();
    test_growth();
    puts("test_strtab: ok");
    return 0;
}
