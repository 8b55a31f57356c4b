/* Payload validation, one rule at a time: each case starts from a minimal
 * valid file, rewrites one section (CRCs are always correct here, so the
 * payload parser is what decides) and expects the documented error. */
#include "pg_bytes.h"
#include "pg_format.h"
#include "pg_test.h"
#include "pg_test_files.h"

#define MAX_SECTIONS 12

typedef struct file_spec {
    char tags[MAX_SECTIONS][4];
    pg_bytes_t payloads[MAX_SECTIONS];
    int count;
    uint16_t major, minor;
    int no_end;          /* leave out "END " */
    const char *end;     /* payload of "END " (normally empty) */
    const char *trailer; /* bytes after "END " */
} file_spec_t;

static pg_bytes_t *spec_add(file_spec_t *spec, const char *tag)
{
    PG_CHECK(spec->count < MAX_SECTIONS);
    memcpy(spec->tags[spec->count], tag, 4);
    pg_bytes_init(&spec->payloads[spec->count]);
    return &spec->payloads[spec->count++];
}

/* The payload of tag, emptied for the caller to rewrite. */
static pg_bytes_t *spec_reset(file_spec_t *spec, const char *tag)
{
    for (int i = 0; i < spec->count; i++) {
        if (memcmp(spec->tags[i], tag, 4) == 0) {
            pg_bytes_release(&spec->payloads[i]);
            return &spec->payloads[i];
        }
    }
    return spec_add(spec, tag);
}

static void spec_remove(file_spec_t *spec, const char *tag)
{
    for (int i = 0; i < spec->count; i++) {
        if (memcmp(spec->tags[i], tag, 4) != 0)
            continue;
        pg_bytes_release(&spec->payloads[i]);
        for (int j = i + 1; j < spec->count; j++) {
            memcpy(spec->tags[j - 1], spec->tags[j], 4);
            spec->payloads[j - 1] = spec->payloads[j];
        }
        spec->count--;
        return;
    }
}

static void put_uvs(pg_bytes_t *out, const uint64_t *values, size_t count)
{
    for (size_t i = 0; i < count; i++)
        pg_bytes_put_uv(out, values[i]);
}

#define PUT_UVS(out, ...)                                         \
    put_uvs((out), (const uint64_t[]){__VA_ARGS__},              \
            sizeof((const uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t))

static void put_text(pg_bytes_t *out, const char *text, size_t length)
{
    pg_bytes_put_uv(out, length);
    pg_bytes_put(out, text, length);
}

static void put_run(pg_bytes_t *out, double ns_per_unit, double event_cost_ns)
{
    pg_bytes_put_f64(out, ns_per_unit);
    pg_bytes_put_f64(out, event_cost_ns);
    PUT_UVS(out, 1, 2, 3, 4, 5, 6, 7);
}

/* Strings "", "f", "f.py"; one function; root + one node; one histogram. */
static void spec_default(file_spec_t *spec)
{
    memset(spec, 0, sizeof *spec);
    spec->major = 1;
    put_run(spec_add(spec, "RUN "), 1.0, 0.0);
    pg_bytes_t *strs = spec_add(spec, "STRS");
    PUT_UVS(strs, 3, 0);
    put_text(strs, "f", 1);
    put_text(strs, "f.py", 4);
    PUT_UVS(spec_add(spec, "FUNC"), 1, 1, 2, 10, 0);
    PUT_UVS(spec_add(spec, "NODE"), 2, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 2, 5, 5);
    PUT_UVS(spec_add(spec, "HIST"), 1, 1, 5, 5, 5, 1, 5, 1);
}

static void spec_release(file_spec_t *spec)
{
    for (int i = 0; i < spec->count; i++)
        pg_bytes_release(&spec->payloads[i]);
    spec->count = 0;
}

static void put_section(pg_bytes_t *out, const char *tag, const uint8_t *payload,
                        size_t length)
{
    pg_bytes_put(out, tag, 4);
    pg_bytes_put_u32le(out, pg_crc32(0, payload, length));
    pg_bytes_put_u64le(out, length);
    pg_bytes_put(out, payload, length);
}

/* Assemble, read (and use when accepted), release: the reader's rc. */
static int spec_read(file_spec_t *spec)
{
    pg_bytes_t file;
    pg_bytes_init(&file);
    pg_bytes_put(&file, PG_FORMAT_MAGIC, PG_FORMAT_MAGIC_SIZE);
    pg_bytes_put_u16le(&file, spec->major);
    pg_bytes_put_u16le(&file, spec->minor);
    pg_bytes_put_u32le(&file, 0);
    for (int i = 0; i < spec->count; i++)
        put_section(&file, spec->tags[i], spec->payloads[i].data, spec->payloads[i].size);
    if (!spec->no_end) {
        const char *end = spec->end ? spec->end : "";
        put_section(&file, "END ", (const uint8_t *)end, strlen(end));
    }
    if (spec->trailer)
        pg_bytes_put(&file, spec->trailer, strlen(spec->trailer));
    PG_CHECK(!file.failed);
    /* An exact-size copy, so ASan catches any read past the end. */
    uint8_t *exact = malloc(file.size);
    memcpy(exact, file.data, file.size);
    int rc = pg_test_read_and_use(exact, file.size);
    free(exact);
    pg_bytes_release(&file);
    spec_release(spec);
    return rc;
}

static void test_default_is_valid(void)
{
    file_spec_t spec;
    spec_default(&spec);
    PG_CHECK_RC(spec_read(&spec), PG_OK);
}

static void test_section_rules(void)
{
    file_spec_t spec;
    spec_default(&spec); /* RUN anywhere, META optional and anywhere */
    pg_bytes_t run = spec.payloads[0];
    pg_bytes_init(&spec.payloads[0]);
    spec_remove(&spec, "RUN ");
    *spec_add(&spec, "RUN ") = run;
    PUT_UVS(spec_add(&spec, "META"), 0);
    PG_CHECK_RC(spec_read(&spec), PG_OK);
    static const char *required[] = {"RUN ", "STRS", "FUNC", "NODE", "HIST"};
    for (int i = 0; i < 5; i++) {
        spec_default(&spec);
        spec_remove(&spec, required[i]);
        PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    }
    spec_default(&spec);
    spec.no_end = 1;
    PG_CHECK_RC(spec_read(&spec), PG_ERR_TRUNCATED);
    spec_default(&spec);
    spec.end = "x";
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec);
    spec.trailer = "more";
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* FUNC before STRS */
    pg_bytes_t strs = spec.payloads[1];
    spec.payloads[1] = spec.payloads[2];
    spec.payloads[2] = strs;
    memcpy(spec.tags[1], "FUNC", 4);
    memcpy(spec.tags[2], "STRS", 4);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* NODE before FUNC */
    spec_remove(&spec, "FUNC");
    PUT_UVS(spec_add(&spec, "FUNC"), 1, 1, 2, 10, 0);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* a known section twice */
    put_run(spec_add(&spec, "RUN "), 1.0, 0.0);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* an unknown section twice is fine */
    spec_add(&spec, "X   ");
    spec_add(&spec, "X   ");
    PG_CHECK_RC(spec_read(&spec), PG_OK);
}

static void test_varints(void)
{
    file_spec_t spec;
    spec_default(&spec); /* 1 written in two bytes: overlong */
    pg_bytes_put(spec_reset(&spec, "FUNC"), "\x81\x00\x01\x02\x0a\x00", 6);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* 11 bytes */
    pg_bytes_t *run = spec_reset(&spec, "RUN ");
    pg_bytes_put_f64(run, 1.0);
    pg_bytes_put_f64(run, 0.0);
    pg_bytes_put(run, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 11);
    PUT_UVS(run, 0, 0, 0, 0, 0, 0);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* 10th byte 2: more than 64 bits */
    run = spec_reset(&spec, "RUN ");
    pg_bytes_put_f64(run, 1.0);
    pg_bytes_put_f64(run, 0.0);
    pg_bytes_put(run, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10);
    PUT_UVS(run, 0, 0, 0, 0, 0, 0);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* UINT64_MAX is fine */
    run = spec_reset(&spec, "RUN ");
    pg_bytes_put_f64(run, 1.0);
    pg_bytes_put_f64(run, 0.0);
    pg_bytes_put(run, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10);
    PUT_UVS(run, 0, 0, 0, 0, 0, 0);
    PG_CHECK_RC(spec_read(&spec), PG_OK);
    spec_default(&spec); /* payload ends inside a varint */
    pg_bytes_put(spec_reset(&spec, "FUNC"), "\x01\x01\x02\x8a", 4);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* a byte left over after the payload */
    PUT_UVS(spec_reset(&spec, "FUNC"), 1, 1, 2, 10, 0, 0);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
}

static void test_run_and_meta(void)
{
    static const double bad_units[] = {0.0, -1.0, 1.0 / 0.0, 0.0 / 0.0};
    file_spec_t spec;
    for (int i = 0; i < 4; i++) {
        spec_default(&spec);
        put_run(spec_reset(&spec, "RUN "), bad_units[i], 0.0);
        PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
        spec_default(&spec);
        put_run(spec_reset(&spec, "RUN "), 1.0, i == 0 ? -0.5 : bad_units[i]);
        PG_CHECK_RC(spec_read(&spec), i == 0 ? PG_ERR_CORRUPT : PG_ERR_CORRUPT);
    }
    spec_default(&spec);
    pg_bytes_t *meta = spec_add(&spec, "META");
    PUT_UVS(meta, 2);
    put_text(meta, "k", 1);
    put_text(meta, "", 0);
    put_text(meta, "", 0);
    put_text(meta, "v", 1);
    PG_CHECK_RC(spec_read(&spec), PG_OK);
    spec_default(&spec); /* duplicate key */
    meta = spec_add(&spec, "META");
    PUT_UVS(meta, 2);
    put_text(meta, "k", 1);
    put_text(meta, "a", 1);
    put_text(meta, "k", 1);
    put_text(meta, "b", 1);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* NUL in a value */
    meta = spec_add(&spec, "META");
    PUT_UVS(meta, 1);
    put_text(meta, "k", 1);
    put_text(meta, "a\0b", 3);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* a count the payload cannot hold: no allocation */
    PUT_UVS(spec_add(&spec, "META"), (uint64_t)1 << 31, 0, 0);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
}

static void test_strings(void)
{
    file_spec_t spec;
    spec_default(&spec);
    PUT_UVS(spec_reset(&spec, "STRS"), 0);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* string 0 not empty */
    pg_bytes_t *strs = spec_reset(&spec, "STRS");
    PUT_UVS(strs, 3);
    put_text(strs, "x", 1);
    put_text(strs, "f", 1);
    put_text(strs, "f.py", 4);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* a duplicate */
    strs = spec_reset(&spec, "STRS");
    PUT_UVS(strs, 3, 0);
    put_text(strs, "f", 1);
    put_text(strs, "f", 1);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* NUL inside */
    strs = spec_reset(&spec, "STRS");
    PUT_UVS(strs, 3, 0);
    put_text(strs, "f", 1);
    put_text(strs, "f\0py", 4);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* a length past the payload */
    strs = spec_reset(&spec, "STRS");
    PUT_UVS(strs, 3, 0);
    put_text(strs, "f", 1);
    PUT_UVS(strs, 100);
    pg_bytes_put(strs, "f.py", 4);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* hostile counts: no huge allocation either way */
    PUT_UVS(spec_reset(&spec, "STRS"), (uint64_t)1 << 40, 0);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_LIMIT);
    spec_default(&spec);
    PUT_UVS(spec_reset(&spec, "STRS"), (uint64_t)1 << 30, 0);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
}

static void test_functions(void)
{
    static const uint64_t bad[][5] = {
        {1, 3, 2, 10, 0},                        /* name out of range */
        {1, 1, 3, 10, 0},                        /* file out of range */
        {1, 1, 2, 10, 2},                        /* unknown kind */
        {1, 1, 2, (uint64_t)UINT32_MAX + 1, 0},  /* line wider than 32 bits */
        {2, 1, 2, 10, 0},                        /* fewer records than counted */
    };
    file_spec_t spec;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        spec_default(&spec);
        put_uvs(spec_reset(&spec, "FUNC"), bad[i], 5);
        PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    }
    spec_default(&spec); /* (uint32)-1 as a line is fine */
    PUT_UVS(spec_reset(&spec, "FUNC"), 1, 0, 0, UINT32_MAX, 1);
    PG_CHECK_RC(spec_read(&spec), PG_OK);
    spec_default(&spec);
    PUT_UVS(spec_reset(&spec, "FUNC"), PG_NONE - 1);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_LIMIT);
    spec_default(&spec); /* no functions at all: NODE/HIST must agree */
    PUT_UVS(spec_reset(&spec, "FUNC"), 0);
    PUT_UVS(spec_reset(&spec, "NODE"), 1, 0, 0, 0, 0, 0, 0, 0);
    PUT_UVS(spec_reset(&spec, "HIST"), 0);
    PG_CHECK_RC(spec_read(&spec), PG_OK);
}

static void test_nodes(void)
{
    static const uint64_t bad[][15] = {
        {2, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0}, /* root has a parent */
        {2, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0}, /* root has a function */
        {2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0}, /* node without parent */
        {2, 0, 0, 0, 0, 0, 0, 0, 2, 1, 1, 0, 0, 0, 0}, /* parent is itself */
        {2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0}, /* node without function */
        {2, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1, 0, 0, 0, 0}, /* function out of range */
    };
    file_spec_t spec;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        spec_default(&spec);
        put_uvs(spec_reset(&spec, "NODE"), bad[i], 15);
        PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    }
    spec_default(&spec);
    PUT_UVS(spec_reset(&spec, "NODE"), 0);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* (parent, func) twice */
    PUT_UVS(spec_reset(&spec, "NODE"), 3, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1,
            0, 0, 0, 0);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* recursion f -> f is a different pair: fine */
    PUT_UVS(spec_reset(&spec, "NODE"), 3, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 9, 4, 2, 1, 1,
            0, 0, 5, 5);
    PG_CHECK_RC(spec_read(&spec), PG_OK);
    spec_default(&spec);
    PUT_UVS(spec_reset(&spec, "NODE"), (uint64_t)1 << 33);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_LIMIT);
    spec_default(&spec);
    PUT_UVS(spec_reset(&spec, "NODE"), 1000, 0, 0, 0, 0, 0, 0, 0);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
}

static void test_histograms(void)
{
    static const uint64_t bad[][8] = {
        {1, 1, 5, 5, 5, 1, PG_HIST_BUCKETS, 1}, /* index out of range */
        {1, 1, 5, 5, 5, 1, 5, 0},               /* empty bucket listed */
        {1, 1, 5, 5, 5, 1, 5, 2},               /* buckets hold more than count */
        {1, 1, 5, 6, 5, 1, 5, 1},               /* min > max */
        {1, 0, 0, 1, 0, 0, 0, 0},               /* empty with min != 0 */
        {1, 0, 3, 0, 0, 0, 0, 0},               /* empty with a sum */
        {1, 0, 0, 0, 0, 1, 5, 1},               /* empty with a bucket */
        {2, 1, 5, 5, 5, 1, 5, 1},               /* more histograms than functions */
    };
    file_spec_t spec;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        spec_default(&spec);
        put_uvs(spec_reset(&spec, "HIST"), bad[i], 8);
        PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    }
    spec_default(&spec); /* a repeated index (delta 0) */
    PUT_UVS(spec_reset(&spec, "HIST"), 1, 2, 10, 5, 5, 2, 5, 1, 0, 1);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* deltas adding up past the last bucket */
    PUT_UVS(spec_reset(&spec, "HIST"), 1, 2, 10, 5, 5, 2, PG_HIST_BUCKETS - 1, 1, 1, 1);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* the last bucket, fewer bucket counts than count */
    PUT_UVS(spec_reset(&spec, "HIST"), 1, 9, 10, 5, UINT64_MAX, 2, 5, 1,
            PG_HIST_BUCKETS - 1 - 5, 1);
    PG_CHECK_RC(spec_read(&spec), PG_OK);
    spec_default(&spec); /* an empty histogram */
    PUT_UVS(spec_reset(&spec, "HIST"), 1, 0, 0, 0, 0, 0);
    PG_CHECK_RC(spec_read(&spec), PG_OK);
    spec_default(&spec); /* a hostile bucket count */
    PUT_UVS(spec_reset(&spec, "HIST"), 1, 1, 5, 5, 5, 5000, 5, 1);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
}

/* RMET: strings "" "f" "f.py", nodes 0 (root) and 1. */
static void test_metrics(void)
{
    static const uint64_t bad[][8] = {
        {1, 3, 2, 0, 1, 0, 1, 0},  /* name out of range */
        {1, 1, 3, 0, 1, 0, 1, 0},  /* unit out of range */
        {1, 1, 2, 2, 1, 0, 1, 0},  /* unknown merge rule */
        {1, 1, 2, 0, 1, 2, 1, 0},  /* node out of range */
        {1, 1, 2, 0, 1, 0, 0, 0},  /* a zero value listed */
        {1, 1, 2, 0, 3, 0, 1, 0},  /* more values than nodes */
        {1, 1, 2, 1, 2, 1, 7, 0},  /* repeated node (delta 0) */
        {1, 1, 2, 1, 2, 1, 7, 1},  /* deltas past the last node */
    };
    file_spec_t spec;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        spec_default(&spec);
        size_t n = i < 5 ? 7 : 8;
        put_uvs(spec_add(&spec, "RMET"), bad[i], n);
        PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    }
    spec_default(&spec); /* values on both nodes, SUM and MAX */
    PUT_UVS(spec_add(&spec, "RMET"), 2, 1, 2, 0, 2, 0, 5, 1, 9, 2, 2, 1, 1, 1, UINT64_MAX);
    PG_CHECK_RC(spec_read(&spec), PG_OK);
    spec_default(&spec); /* no metrics at all */
    PUT_UVS(spec_add(&spec, "RMET"), 0);
    PG_CHECK_RC(spec_read(&spec), PG_OK);
    spec_default(&spec); /* two metrics with one name */
    PUT_UVS(spec_add(&spec, "RMET"), 2, 1, 2, 0, 0, 1, 2, 1, 0);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* before the nodes */
    spec_remove(&spec, "HIST");
    spec_remove(&spec, "NODE");
    PUT_UVS(spec_add(&spec, "RMET"), 0);
    PUT_UVS(spec_add(&spec, "NODE"), 2, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 2, 5, 5);
    PUT_UVS(spec_add(&spec, "HIST"), 1, 1, 5, 5, 5, 1, 5, 1);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* too many metrics for the model */
    pg_bytes_t *rmet = spec_add(&spec, "RMET");
    pg_bytes_put_uv(rmet, PG_METRIC_LIMIT + 1);
    for (int i = 0; i < PG_METRIC_LIMIT + 1; i++)
        PUT_UVS(rmet, 1, 2, 0, 0);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_LIMIT);
    spec_default(&spec); /* a hostile value count */
    PUT_UVS(spec_add(&spec, "RMET"), 1, 1, 2, 0, 1000, 0, 1);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
}

static void put_thread_io(pg_bytes_t *out, uint64_t tid, const char *name, size_t length,
                          uint64_t flags)
{
    PUT_UVS(out, tid);
    put_text(out, name, length);
    PUT_UVS(out, flags, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14);
}

static void test_thread_io(void)
{
    file_spec_t spec;
    spec_default(&spec); /* a process row and an exited thread's row */
    pg_bytes_t *rows = spec_add(&spec, "ITHR");
    PUT_UVS(rows, 2);
    put_thread_io(rows, 0, "", 0, 1);
    put_thread_io(rows, 77, "worker", 6, 4);
    PG_CHECK_RC(spec_read(&spec), PG_OK);
    spec_default(&spec); /* a name as long as the kernel's limit, NUL included */
    rows = spec_add(&spec, "ITHR");
    PUT_UVS(rows, 1);
    put_thread_io(rows, 5, "0123456789abcdef", 16, 0);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    static const struct {
        uint64_t tid, flags;
    } bad[] = {{0, 0}, {5, 1}, {5, 8}, {0, 9}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        spec_default(&spec);
        rows = spec_add(&spec, "ITHR");
        PUT_UVS(rows, 1);
        put_thread_io(rows, bad[i].tid, "t", 1, bad[i].flags);
        PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    }
    spec_default(&spec); /* a count the payload cannot hold */
    PUT_UVS(spec_add(&spec, "ITHR"), (uint64_t)1 << 31, 0);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
    spec_default(&spec); /* twice */
    PUT_UVS(spec_add(&spec, "ITHR"), 0);
    PUT_UVS(spec_add(&spec, "ITHR"), 0);
    PG_CHECK_RC(spec_read(&spec), PG_ERR_CORRUPT);
}

int main(void)
{
    test_default_is_valid();
    test_section_rules();
    test_varints();
    test_run_and_meta();
    test_strings();
    test_functions();
    test_nodes();
    test_histograms();
    test_thread_io();
    test_metrics();
    puts("test_format_rules: ok");
    return 0;
}
