/* The profile file as a whole: round trips, truncation at every offset,
 * every single-byte corruption, versions, unknown sections, the atomic
 * writer and its I/O errors. Payload-level rules: test_format_rules.c. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pg_bytes.h"
#include "pg_format.h"
#include "pg_sample.h"
#include "pg_test.h"
#include "pg_checksums.h"
#include "pg_test_files.h"

static void build_sample(pg_profile_t *profile, unsigned variant)
{
    PG_CHECK_RC(pg_profile_init(profile), PG_OK);
    PG_CHECK_RC(pg_sample_build(profile, variant), PG_OK);
}

/* write -> read gives the same profile, field by field, for every sample;
 * only the final file is left in the directory. */
static void test_round_trip(void)
{
    char dir[512], path[600];
    pg_test_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/run.pgprof", dir);
    for (unsigned variant = 0; variant < PG_SAMPLE_VARIANTS; variant++) {
        pg_profile_t written, read;
        build_sample(&written, variant);
        PG_CHECK_RC(pg_profile_write(&written, path), PG_OK);
        PG_CHECK_U64(pg_test_count_entries(dir), 1);
        PG_CHECK(!pg_test_has_entry_containing(dir, ".tmp-"));
        PG_CHECK_RC(pg_profile_init(&read), PG_OK);
        PG_CHECK_RC(pg_profile_read(&read, path), PG_OK);
        pg_test_check_profiles_equal(&written, &read);
        /* The empty histogram keeps its "no minimum" marker. */
        for (uint32_t i = 0; i < read.func_count; i++)
            if (read.funcs[i].hist.count == 0)
                PG_CHECK_U64(read.funcs[i].hist.min, UINT64_MAX);
        /* Lookups work on a read profile (indexes are built lazily). */
        if (read.node_count > 1) {
            const pg_node_t *last = &read.nodes[read.node_count - 1];
            PG_CHECK_RC(pg_profile_node_child(&read, last->parent, last->func),
                        read.node_count - 1);
        }
        pg_profile_release(&written);
        pg_profile_release(&read);
    }
    /* A second write replaces the first atomically. */
    pg_profile_t small, wide, read;
    build_sample(&small, 1);
    build_sample(&wide, 2);
    PG_CHECK_RC(pg_profile_write(&small, path), PG_OK);
    PG_CHECK_RC(pg_profile_write(&wide, path), PG_OK);
    PG_CHECK_RC(pg_profile_init(&read), PG_OK);
    PG_CHECK_RC(pg_profile_read(&read, path), PG_OK);
    pg_test_check_profiles_equal(&wide, &read);
    PG_CHECK_U64(pg_test_count_entries(dir), 1);
    pg_profile_release(&small);
    pg_profile_release(&wide);
    pg_profile_release(&read);
    pg_test_rmdir(dir);
}

/* The header and the fixed fields as documented in docs/format.md. */
static void test_layout(void)
{
    pg_profile_t profile;
    build_sample(&profile, 0);
    uint8_t *data;
    size_t size;
    pg_test_encode(&profile, &data, &size);
    PG_CHECK(memcmp(data, "\x89PGPROF\n\x01\x00\x01\x00\x00\x00\x00\x00", 16) == 0); /* 1.1 */
    PG_CHECK(memcmp(data + 16, "RUN ", 4) == 0);
    PG_CHECK_U64(data[24], 2 * 8 + 7); /* two doubles, seven 1-byte varints */
    PG_CHECK(memcmp(data + size - 16, "END \0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0);
    free(data);
    pg_profile_release(&profile);
}

/* Every proper prefix of a valid file is reported as truncated: the
 * magic prefix matches and something required is always missing. */
static void test_truncation_everywhere(void)
{
    for (unsigned variant = 0; variant < 2; variant++) {
        pg_profile_t profile;
        build_sample(&profile, variant);
        uint8_t *data;
        size_t size;
        pg_test_encode(&profile, &data, &size);
        for (size_t n = 0; n < size; n++) {
            /* A copy of exactly n bytes, so ASan sees any read past it. */
            uint8_t *prefix = malloc(n ? n : 1);
            memcpy(prefix, data, n);
            PG_CHECK_RC(pg_test_read_and_use(prefix, n), PG_ERR_TRUNCATED);
            free(prefix);
        }
        PG_CHECK_RC(pg_test_read_and_use(data, size), PG_OK);
        free(data);
        pg_profile_release(&profile);
    }
}

/* Flip bits of every byte: an error or a usable profile, never a crash.
 * With the CRCs recomputed the mutation reaches the payload parsers. */
static void test_byte_flips(void)
{
    static const uint8_t masks[] = {0x01, 0x02, 0x10, 0x40, 0x80, 0xff};
    pg_profile_t profile;
    build_sample(&profile, 1);
    uint8_t *data;
    size_t size;
    pg_test_encode(&profile, &data, &size);
    uint8_t *copy = malloc(size);
    int outcomes[9] = {0}, ok_without_fix = 0;
    for (size_t at = 0; at < size; at++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            memcpy(copy, data, size);
            copy[at] ^= masks[m];
            int rc = pg_test_read_and_use(copy, size);
            /* Outside the header a changed payload byte fails its CRC. */
            if (rc == PG_OK)
                ok_without_fix++;
            pg_checksums_fix(copy, size);
            outcomes[-pg_test_read_and_use(copy, size)]++;
        }
    }
    /* Accepted without fixing: the minor version (2 bytes) and tags that
     * turn an optional section that nothing depends on (META, PRCS, SSPN)
     * into a skipped unknown section. */
    PG_CHECK(ok_without_fix <= 2 * 6 + 3 * 4 * 6);
    PG_CHECK(outcomes[-PG_ERR_CORRUPT] > 0);
    PG_CHECK(outcomes[-PG_OK] > 0); /* e.g. counters changed, CRC fixed */
    printf("byte flips (CRC fixed): ok %d, not profile %d, version %d, truncated %d, "
           "corrupt %d, limit %d\n",
           outcomes[0], outcomes[3], outcomes[4], outcomes[5], outcomes[6], outcomes[7]);
    free(copy);
    free(data);
    pg_profile_release(&profile);
}

static void put_u16le_at(uint8_t *data, size_t at, uint16_t value)
{
    data[at] = (uint8_t)value;
    data[at + 1] = (uint8_t)(value >> 8);
}

static void test_versions_and_magic(void)
{
    pg_profile_t profile;
    build_sample(&profile, 1);
    uint8_t *data;
    size_t size;
    pg_test_encode(&profile, &data, &size);
    put_u16le_at(data, 8, 2);
    PG_CHECK_RC(pg_test_read_and_use(data, size), PG_ERR_VERSION);
    put_u16le_at(data, 8, 0);
    PG_CHECK_RC(pg_test_read_and_use(data, size), PG_ERR_VERSION);
    put_u16le_at(data, 8, 1);
    put_u16le_at(data, 10, 7); /* a later minor: readable */
    PG_CHECK_RC(pg_test_read_and_use(data, size), PG_OK);
    put_u16le_at(data, 10, 0);
    data[12] = 1; /* an unknown flag */
    PG_CHECK_RC(pg_test_read_and_use(data, size), PG_ERR_VERSION);
    data[12] = 0;
    data[0] = 'P';
    PG_CHECK_RC(pg_test_read_and_use(data, size), PG_ERR_NOT_PROFILE);
    PG_CHECK_RC(pg_test_read_and_use((const uint8_t *)"{\"json\": 1}", 11),
                PG_ERR_NOT_PROFILE);
    PG_CHECK_RC(pg_test_read_and_use((const uint8_t *)"\x89PGX", 4), PG_ERR_NOT_PROFILE);
    PG_CHECK_RC(pg_test_read_and_use((const uint8_t *)"\x89PG", 3), PG_ERR_TRUNCATED);
    PG_CHECK_RC(pg_test_read_and_use(NULL, 0), PG_ERR_TRUNCATED);
    free(data);
    pg_profile_release(&profile);
}

/* data with one extra section inserted before "END ". */
static uint8_t *insert_section(const uint8_t *data, size_t size, const char *tag,
                               const char *payload, int break_crc, size_t *new_size)
{
    pg_bytes_t out;
    pg_bytes_init(&out);
    pg_bytes_put(&out, data, size - PG_FORMAT_SECTION_HEADER_SIZE);
    size_t length = strlen(payload);
    pg_bytes_put(&out, tag, 4);
    pg_bytes_put_u32le(&out, pg_crc32(0, payload, length) ^ (break_crc ? 1u : 0u));
    pg_bytes_put_u64le(&out, length);
    pg_bytes_put(&out, payload, length);
    pg_bytes_put(&out, data + size - PG_FORMAT_SECTION_HEADER_SIZE,
                 PG_FORMAT_SECTION_HEADER_SIZE);
    PG_CHECK(!out.failed);
    return pg_bytes_detach(&out, new_size);
}

static void test_unknown_sections(void)
{
    pg_profile_t profile;
    build_sample(&profile, 1);
    uint8_t *data, *with;
    size_t size, with_size;
    pg_test_encode(&profile, &data, &size);
    with = insert_section(data, size, "ZZ01", "anything a 1.1 writer adds", 0, &with_size);
    pg_profile_t read;
    PG_CHECK_RC(pg_profile_init(&read), PG_OK);
    PG_CHECK_RC(pg_profile_read_buffer(&read, with, with_size), PG_OK);
    pg_test_check_profiles_equal(&profile, &read);
    pg_profile_release(&read);
    free(with);
    with = insert_section(data, size, "ZZ01", "", 0, &with_size); /* empty is fine */
    PG_CHECK_RC(pg_test_read_and_use(with, with_size), PG_OK);
    free(with);
    with = insert_section(data, size, "ZZ01", "x", 1, &with_size); /* CRC still checked */
    PG_CHECK_RC(pg_test_read_and_use(with, with_size), PG_ERR_CORRUPT);
    free(with);
    with = insert_section(data, size, "zz01", "x", 0, &with_size); /* not a tag */
    PG_CHECK_RC(pg_test_read_and_use(with, with_size), PG_ERR_CORRUPT);
    free(with);
    with = insert_section(data, size, "ZZ\x01" "1", "x", 0, &with_size);
    PG_CHECK_RC(pg_test_read_and_use(with, with_size), PG_ERR_CORRUPT);
    free(with);
    with = insert_section(data, size, "STRS", "\x01\x00", 0, &with_size); /* duplicate */
    PG_CHECK_RC(pg_test_read_and_use(with, with_size), PG_ERR_CORRUPT);
    free(with);
    free(data);
    pg_profile_release(&profile);
}

/* I/O failures report PG_ERR_IO with errno set, and leave no temp file. */
static void test_io_errors(void)
{
    char dir[512], path[600];
    pg_test_mkdtemp(dir, sizeof dir);
    pg_profile_t profile, read;
    build_sample(&profile, 1);
    /* The directory does not exist. */
    snprintf(path, sizeof path, "%s/missing/run.pgprof", dir);
    errno = 0;
    PG_CHECK_RC(pg_profile_write(&profile, path), PG_ERR_IO);
    PG_CHECK_U64(errno, ENOENT);
    /* The target is a directory: the rename fails after the temp file was
     * written, and the temp file is removed. */
    snprintf(path, sizeof path, "%s/occupied", dir);
    PG_CHECK(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/occupied/keep", dir);
    FILE *keep = fopen(path, "w");
    PG_CHECK(keep != NULL);
    fclose(keep);
    snprintf(path, sizeof path, "%s/occupied", dir);
    errno = 0;
    PG_CHECK_RC(pg_profile_write(&profile, path), PG_ERR_IO);
    PG_CHECK(errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST);
    PG_CHECK(!pg_test_has_entry_containing(dir, ".tmp-"));
    /* A read-only directory (root ignores permissions, so only as a user). */
    if (geteuid() != 0) {
        snprintf(path, sizeof path, "%s/readonly", dir);
        PG_CHECK(mkdir(path, 0555) == 0);
        snprintf(path, sizeof path, "%s/readonly/run.pgprof", dir);
        errno = 0;
        PG_CHECK_RC(pg_profile_write(&profile, path), PG_ERR_IO);
        PG_CHECK_U64(errno, EACCES);
    }
    /* Reading: a missing file and a directory. */
    PG_CHECK_RC(pg_profile_init(&read), PG_OK);
    snprintf(path, sizeof path, "%s/nothing-here", dir);
    errno = 0;
    PG_CHECK_RC(pg_profile_read(&read, path), PG_ERR_IO);
    PG_CHECK_U64(errno, ENOENT);
    errno = 0;
    PG_CHECK_RC(pg_profile_read(&read, dir), PG_ERR_IO);
    PG_CHECK_U64(errno, EISDIR);
    pg_profile_release(&read);
    pg_profile_release(&profile);
    pg_test_rmdir(dir);
}

/* The writer refuses what the reader would reject, before touching disk;
 * the reader refuses a profile that already holds data. */
static void test_argument_errors(void)
{
    char dir[512], path[600];
    pg_test_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/run.pgprof", dir);
    pg_profile_t profile;
    build_sample(&profile, 1);
    PG_CHECK(pg_strtab_intern(&profile.strings, "a\0b", 3) > 0); /* NUL inside */
    PG_CHECK_RC(pg_profile_write(&profile, path), PG_ERR_ARG);
    pg_profile_release(&profile);
    build_sample(&profile, 1);
    profile.nodes[2].parent = 5; /* a parent after its child */
    PG_CHECK_RC(pg_profile_write(&profile, path), PG_ERR_ARG);
    profile.nodes[2].parent = profile.nodes[3].parent;
    profile.nodes[2].func = profile.nodes[3].func; /* duplicate (parent, func) */
    PG_CHECK_RC(pg_profile_write(&profile, path), PG_ERR_ARG);
    pg_profile_release(&profile);
    build_sample(&profile, 1);
    profile.run.ns_per_unit = 0.0;
    PG_CHECK_RC(pg_profile_write(&profile, path), PG_ERR_ARG);
    profile.run.ns_per_unit = 1.0;
    profile.run.event_cost_ns = -1.0;
    PG_CHECK_RC(pg_profile_write(&profile, path), PG_ERR_ARG);
    profile.run.event_cost_ns = 0.0;
    pg_hist_add_bucket(&profile.funcs[0].hist, 5, 1000); /* buckets > count */
    PG_CHECK_RC(pg_profile_write(&profile, path), PG_ERR_ARG);
    PG_CHECK_RC(pg_profile_write(&profile, ""), PG_ERR_ARG);
    pg_profile_release(&profile);
    build_sample(&profile, 1);
    free(profile.meta[1].key); /* two entries with one key */
    profile.meta[1].key = strdup(profile.meta[0].key);
    PG_CHECK_RC(pg_profile_write(&profile, path), PG_ERR_ARG);
    PG_CHECK_U64(pg_test_count_entries(dir), 0);
    /* A profile with data in it is not a valid reading target. */
    uint8_t *data;
    size_t size;
    pg_profile_release(&profile);
    build_sample(&profile, 1);
    pg_test_encode(&profile, &data, &size);
    PG_CHECK_RC(pg_profile_read_buffer(&profile, data, size), PG_ERR_ARG);
    free(data);
    pg_profile_release(&profile);
    pg_test_rmdir(dir);
}

/* A zeroed (memset) profile is initialised by the reader, and released
 * again on error, so the caller has nothing to clean up then. */
static void test_zeroed_target(void)
{
    char dir[512], path[600];
    pg_test_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/run.pgprof", dir);
    pg_profile_t written, read;
    build_sample(&written, 1);
    PG_CHECK_RC(pg_profile_write(&written, path), PG_OK);
    memset(&read, 0, sizeof read);
    PG_CHECK_RC(pg_profile_read(&read, path), PG_OK);
    pg_test_check_profiles_equal(&written, &read);
    pg_profile_release(&read); /* zeroed again by release */
    uint8_t *data;
    size_t size;
    pg_test_encode(&written, &data, &size);
    PG_CHECK_RC(pg_profile_read_buffer(&read, data, size - 1), PG_ERR_TRUNCATED);
    PG_CHECK(read.nodes == NULL && read.strings.count == 0); /* nothing to free */
    PG_CHECK_RC(pg_profile_read_buffer(&read, data, size), PG_OK);
    pg_test_check_profiles_equal(&written, &read);
    pg_profile_release(&read);
    snprintf(path, sizeof path, "%s/missing.pgprof", dir);
    PG_CHECK_RC(pg_profile_read(&read, path), PG_ERR_IO);
    PG_CHECK(read.nodes == NULL);
    free(data);
    pg_profile_release(&written);
    pg_test_rmdir(dir);
}

int main(void)
{
    test_round_trip();
    test_layout();
    test_truncation_everywhere();
    test_byte_flips();
    test_versions_and_magic();
    test_unknown_sections();
    test_io_errors();
    test_argument_errors();
    test_zeroed_target();
    puts("test_format: ok");
    return 0;
}
