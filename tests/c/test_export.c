/* pg_export: exact output of each exporter on a small tree, JSON string
 * escaping and UTF-8 clean-up byte for byte, the gzip stream of pprof,
 * atomic replacement and error paths, and bounded memory on large
 * profiles (1,000,000 nodes; and an export ten times larger than the
 * exporter's peak heap).
 *
 * The Python tests (tests/test_exports.py) check the formats against
 * independent readers; these check the C side under ASan/UBSan.
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "pg_export.h"
#include "pg_sample.h"
#include "pg_test.h"
#include "pg_test_files.h"

#if defined(__SANITIZE_ADDRESS__)
#define PG_TEST_HEAP_HOOKS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PG_TEST_HEAP_HOOKS 1
#endif
#endif

#ifdef PG_TEST_HEAP_HOOKS
/* From ASan's runtime (sanitizer/allocator_interface.h, which not every
 * compiler installs). */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));
size_t __sanitizer_get_allocated_size(const volatile void *pointer);

/* Live and peak heap bytes of the whole process, from ASan's allocator
 * hooks (every malloc, zlib's included). Single-threaded test. */
static size_t heap_live, heap_peak;
static int heap_counting; /* hooks installed once (ASan keeps a list) */

static void on_malloc(const volatile void *pointer, size_t size)
{
    (void)pointer;
    if (!heap_counting)
        return;
    heap_live += size;
    if (heap_live > heap_peak)
        heap_peak = heap_live;
}

static void on_free(const volatile void *pointer)
{
    if (heap_counting)
        heap_live -= __sanitizer_get_allocated_size(pointer);
}
#endif

static char directory[512];

static char *path_in(const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", directory, name);
    return path;
}

/* The whole file (NUL-terminated); the caller frees it. */
static char *slurp(const char *path, size_t *size)
{
    FILE *file = fopen(path, "rb");
    PG_CHECK(file != NULL);
    fseek(file, 0, SEEK_END);
    long length = ftell(file);
    fseek(file, 0, SEEK_SET);
    char *data = malloc((size_t)length + 1);
    PG_CHECK(data != NULL);
    PG_CHECK_U64(fread(data, 1, (size_t)length, file), length);
    data[length] = '\0';
    fclose(file);
    if (size)
        *size = (size_t)length;
    return data;
}

/* What a sink makes of text, through a real FILE*. */
static char *through_sink(void (*put)(pg_export_sink_t *, const char *, size_t),
                          const char *text, size_t length)
{
    FILE *file = tmpfile();
    PG_CHECK(file != NULL);
    pg_export_sink_t sink;
    PG_CHECK_RC(pg_export_sink_open(&sink, file, 0), PG_OK);
    put(&sink, text, length);
    PG_CHECK_RC(pg_export_sink_finish(&sink), PG_OK);
    pg_export_sink_release(&sink);
    long size = ftell(file);
    rewind(file);
    char *out = calloc((size_t)size + 1, 1);
    PG_CHECK(out != NULL);
    PG_CHECK_U64(fread(out, 1, (size_t)size, file), size);
    fclose(file);
    return out;
}

static void check_json(const char *text, size_t length, const char *want)
{
    char *got = through_sink(pg_export_put_json_string, text, length);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "json escape: got [%s], want [%s]\n", got, want);
        PG_CHECK(0);
    }
    free(got);
}

static void test_json_escaping(void)
{
    check_json("plain", 5, "plain");
    check_json("q\"b\\s/", 6, "q\\\"b\\\\s/");
    check_json("\n\r\t\b\f\x01\x1f\x7f", 8, "\\n\\r\\t\\u0008\\u000c\\u0001\\u001f\\u007f");
    check_json("a\0b", 3, "a\\u0000b");
    /* valid multi-byte UTF-8 passes through untouched */
    check_json("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    /* U+2028 and U+2029 are valid JSON but end lines in older JavaScript */
    check_json("x\xe2\x80\xa8y\xe2\x80\xa9z", 9, "x\\u2028y\\u2029z");
    check_json("\xe2\x80\xaa", 3, "\xe2\x80\xaa"); /* U+202A: not escaped */
    /* ill-formed: stray continuation, bad lead byte, overlong, surrogate,
     * above U+10FFFF, truncated at the end: one U+FFFD per bad byte */
    check_json("\x80", 1, "\\ufffd");
    check_json("\xff" "a", 2, "\\ufffda");
    check_json("\xc0\xaf", 2, "\\ufffd\\ufffd");
    check_json("\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd");
    check_json("\xf4\x90\x80\x80", 4, "\\ufffd\\ufffd\\ufffd\\ufffd");
    check_json("ok\xe2\x80", 4, "ok\\ufffd\\ufffd");
    /* the raw clean-up (pprof, folded) writes U+FFFD itself */
    char *clean = through_sink(pg_export_put_utf8_clean, "a\xff\xc3\xa9", 4);
    PG_CHECK(strcmp(clean, "a\xef\xbf\xbd\xc3\xa9") == 0);
    PG_CHECK_U64(pg_export_utf8_clean_length("a\xff\xc3\xa9", 4), strlen(clean));
    free(clean);
}

/* main -> {load -> len, odd;name} with awkward names; times in ns. */
static void build_small(pg_profile_t *p)
{
    PG_CHECK_RC(pg_profile_init(p), PG_OK);
    p->run.ns_per_unit = 1.0;
    p->run.event_cost_ns = 10.0;
    p->run.start_epoch_ns = 1700000000000000000ull;
    p->run.duration_ns = 5000;
    PG_CHECK_RC(pg_profile_meta_set(p, "name", "etl \"job\""), PG_OK);
    uint32_t main_ = pg_test_add_func(p, "main", "etl.py", 1, PG_FUNC_PYTHON);
    uint32_t load = pg_test_add_func(p, "Loader.load", "etl/io.py", 40, PG_FUNC_PYTHON);
    uint32_t len_ = pg_test_add_func(p, "<built-in method builtins.len>", "~", 0, PG_FUNC_BUILTIN);
    uint32_t odd = pg_test_add_func(p, "odd;name\nx\xe2\x80\xa8y\xc2\x85z", "dir with space/a.py", 7,
                            PG_FUNC_PYTHON);
    uint32_t m = pg_test_add_node(p, PG_ROOT, main_, 1, 4000, 1000, 2);
    uint32_t l = pg_test_add_node(p, m, load, 2, 2500, 2000, 4);
    pg_test_add_node(p, l, len_, 5, 500, 500, 10);
    pg_test_add_node(p, m, odd, 1, 500, 0, 0);
}

static void test_folded_exact(void)
{
    pg_profile_t p;
    build_small(&p);
    pg_export_stats_t stats;
    PG_CHECK_RC(pg_export_write(&p, PG_EXPORT_FOLDED, path_in("raw.folded"), 0, &stats),
                PG_OK);
    char *text = slurp(path_in("raw.folded"), NULL);
    const char *want = "main (etl.py:1) 1000\n"
                       "main (etl.py:1);Loader.load (etl/io.py:40) 2000\n"
                       "main (etl.py:1);Loader.load (etl/io.py:40);"
                       "<built-in method builtins.len> 500\n";
    if (strcmp(text, want) != 0) {
        fprintf(stderr, "folded:\n%s\nwant:\n%s\n", text, want);
        PG_CHECK(0);
    }
    PG_CHECK_U64(stats.records, 3);
    PG_CHECK_U64(stats.bytes_written, strlen(want));
    free(text);
    /* corrected: 10 ns per event off each node's own time */
    PG_CHECK_RC(pg_export_write(&p, PG_EXPORT_FOLDED, path_in("c.folded"), 1, NULL), PG_OK);
    text = slurp(path_in("c.folded"), NULL);
    PG_CHECK(strstr(text, "main (etl.py:1) 980\n") != NULL);
    PG_CHECK(strstr(text, "(etl/io.py:40) 1960\n") != NULL);
    PG_CHECK(strstr(text, "builtins.len> 400\n") != NULL);
    free(text);
    /* a frame's ';' and newline cannot split the stack or the line */
    p.nodes[4].exclusive = 500;
    PG_CHECK_RC(pg_export_write(&p, PG_EXPORT_FOLDED, path_in("odd.folded"), 0, NULL), PG_OK);
    text = slurp(path_in("odd.folded"), NULL);
    PG_CHECK(strstr(text, "main (etl.py:1);odd:name x y z (dir with space/a.py:7) 500\n") != NULL);
    free(text);
    pg_profile_release(&p);
}

static void test_json_formats_shape(void)
{
    pg_profile_t p;
    build_small(&p);
    PG_CHECK_RC(pg_export_write(&p, PG_EXPORT_SPEEDSCOPE, path_in("s.json"), 0, NULL), PG_OK);
    char *text = slurp(path_in("s.json"), NULL);
    PG_CHECK(strncmp(text, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\"",
                     62) == 0);
    PG_CHECK(strstr(text, "\"name\":\"etl \\\"job\\\"\"") != NULL);
    PG_CHECK(strstr(text, "\"samples\":[\n[0],\n[0,1],\n[0,1,2]],") != NULL);
    PG_CHECK(strstr(text, "\"weights\":[1000,2000,500],\n\"endValue\":3500}") != NULL);
    PG_CHECK(strstr(text, "{\"name\":\"odd;name\\nx\\u2028y\xc2\x85z\","
                          "\"file\":\"dir with space/a.py\",\"line\":7}") != NULL);
    free(text);
    PG_CHECK_RC(pg_export_write(&p, PG_EXPORT_CHROME, path_in("t.json"), 0, NULL), PG_OK);
    text = slurp(path_in("t.json"), NULL);
    /* load (2500) then odd (500) side by side inside main (4000) */
    PG_CHECK(strstr(text, "\"name\":\"main\",\"cat\":\"python\",\"ph\":\"X\",\"pid\":1,\"tid\":1,"
                          "\"ts\":0.000,\"dur\":4.000") != NULL);
    PG_CHECK(strstr(text, "\"name\":\"Loader.load\",\"cat\":\"python\",\"ph\":\"X\",\"pid\":1,"
                          "\"tid\":1,\"ts\":0.000,\"dur\":2.500") != NULL);
    PG_CHECK(strstr(text, "\"name\":\"odd;name\\nx\\u2028y\xc2\x85z\",\"cat\":\"python\","
                          "\"ph\":\"X\",\"pid\":1,\"tid\":1,\"ts\":2.500,\"dur\":0.500") != NULL);
    PG_CHECK(strstr(text, "\"overhead_corrected\":false}}\n") != NULL);
    free(text);
    pg_profile_release(&p);
}

/* Children given more time than their parent (as correction can leave
 * them) are clipped to the parent's span. */
static void test_chrome_clips_children(void)
{
    pg_profile_t p;
    PG_CHECK_RC(pg_profile_init(&p), PG_OK);
    p.run.ns_per_unit = 1.0;
    uint32_t a = pg_test_add_func(&p, "a", "m.py", 1, 0), b = pg_test_add_func(&p, "b", "m.py", 2, 0);
    uint32_t c = pg_test_add_func(&p, "c", "m.py", 3, 0);
    uint32_t n = pg_test_add_node(&p, PG_ROOT, a, 1, 1000, 0, 0);
    pg_test_add_node(&p, n, b, 1, 700, 700, 0);
    pg_test_add_node(&p, n, c, 1, 700, 700, 0);
    PG_CHECK_RC(pg_export_write(&p, PG_EXPORT_CHROME, path_in("clip.json"), 0, NULL), PG_OK);
    char *text = slurp(path_in("clip.json"), NULL);
    PG_CHECK(strstr(text, "\"ts\":0.700,\"dur\":0.300,\"args\":{\"file\":\"m.py\",\"line\":3,"
                          "\"node\":3,\"calls\":1,\"total_ns\":700") != NULL);
    free(text);
    pg_profile_release(&p);
}

/* The pprof file is one complete gzip member whose payload starts with the
 * three sample types and ends with default_sample_type = "wall" (1). */
static void test_pprof_gzip(void)
{
    pg_profile_t p;
    build_small(&p);
    PG_CHECK_RC(pg_export_write(&p, PG_EXPORT_PPROF, path_in("p.pb.gz"), 1, NULL), PG_OK);
    size_t size;
    char *data = slurp(path_in("p.pb.gz"), &size);
    PG_CHECK(size > 20 && (unsigned char)data[0] == 0x1f && (unsigned char)data[1] == 0x8b);
    unsigned char out[8192];
    z_stream z = {0};
    PG_CHECK(inflateInit2(&z, 15 + 16) == Z_OK);
    z.next_in = (unsigned char *)data;
    z.avail_in = (uInt)size;
    z.next_out = out;
    z.avail_out = sizeof out;
    PG_CHECK(inflate(&z, Z_FINISH) == Z_STREAM_END);
    PG_CHECK_U64(z.avail_in, 0);
    size_t length = sizeof out - z.avail_out;
    inflateEnd(&z);
    /* field 1 (LEN), 4 bytes: {1: 1 "wall", 2: 2 "nanoseconds"} */
    static const unsigned char head[] = {0x0a, 4, 0x08, 1, 0x10, 2, 0x0a, 4, 0x08, 3, 0x10, 4};
    PG_CHECK(memcmp(out, head, sizeof head) == 0);
    static const unsigned char tail[] = {0x60, 1, 0x68, 8, 0x70, 1};
    PG_CHECK(memcmp(out + length - sizeof tail, tail, sizeof tail) == 0);
    free(data);
    pg_profile_release(&p);
}

static void test_errors_and_atomicity(void)
{
    pg_profile_t p;
    build_small(&p);
    PG_CHECK_RC(pg_export_format_from_name("folded"), PG_EXPORT_FOLDED);
    PG_CHECK_RC(pg_export_format_from_name("chrome"), PG_EXPORT_CHROME);
    PG_CHECK_RC(pg_export_format_from_name("svg"), PG_ERR_ARG);
    PG_CHECK_RC(pg_export_format_from_name(NULL), PG_ERR_ARG);
    PG_CHECK_RC(pg_export_write(&p, 99, path_in("x"), 1, NULL), PG_ERR_ARG);
    PG_CHECK_RC(pg_export_write(&p, PG_EXPORT_FOLDED, "", 1, NULL), PG_ERR_ARG);
    /* a missing directory: PG_ERR_IO with errno, nothing left behind */
    errno = 0;
    PG_CHECK_RC(pg_export_write(&p, PG_EXPORT_FOLDED, path_in("no/such/x"), 1, NULL),
                PG_ERR_IO);
    PG_CHECK(errno == ENOENT);
    /* replacing an existing file leaves no temporary behind */
    int before = pg_test_count_entries(directory);
    for (int format = 0; format < PG_EXPORT_FORMAT_COUNT; format++)
        PG_CHECK_RC(pg_export_write(&p, format, path_in("again"), 1, NULL), PG_OK);
    PG_CHECK(!pg_test_has_entry_containing(directory, ".tmp-"));
    PG_CHECK(pg_test_count_entries(directory) == before + 1);
    /* a profile breaking the invariants is refused, not read out of bounds */
    p.nodes[2].func = 77;
    PG_CHECK_RC(pg_export_write(&p, PG_EXPORT_FOLDED, path_in("bad"), 1, NULL), PG_ERR_ARG);
    p.nodes[2].func = 1;
    p.nodes[2].parent = 3;
    PG_CHECK_RC(pg_export_write(&p, PG_EXPORT_CHROME, path_in("bad"), 1, NULL), PG_ERR_ARG);
    PG_CHECK(access(path_in("bad"), F_OK) != 0);
    pg_profile_release(&p);
    /* the empty profile (root only) exports as empty documents */
    PG_CHECK_RC(pg_profile_init(&p), PG_OK);
    for (int format = 0; format < PG_EXPORT_FORMAT_COUNT; format++)
        PG_CHECK_RC(pg_export_write(&p, format, path_in("empty"), 1, NULL), PG_OK);
    pg_profile_release(&p);
    /* the shared sample profiles export in every format */
    for (unsigned variant = 0; variant < PG_SAMPLE_VARIANTS; variant++) {
        PG_CHECK_RC(pg_profile_init(&p), PG_OK);
        PG_CHECK_RC(pg_sample_build(&p, variant), PG_OK);
        for (int format = 0; format < PG_EXPORT_FORMAT_COUNT; format++)
            PG_CHECK_RC(pg_export_write(&p, format, path_in("sample"), 1, NULL), PG_OK);
        pg_profile_release(&p);
    }
}

/* Build a profile node by node without lookups: parent_of(i) < i. */
static void build_synthetic(pg_profile_t *p, uint32_t nodes, uint32_t funcs,
                            uint32_t (*parent_of)(uint32_t), uint32_t (*func_of)(uint32_t))
{
    PG_CHECK_RC(pg_profile_init(p), PG_OK);
    p->run.ns_per_unit = 1.0;
    p->run.event_cost_ns = 1.0;
    char name[64];
    for (uint32_t f = 0; f < funcs; f++) {
        int length = snprintf(name, sizeof name, "pipeline.stages.transform_%06u", f);
        int64_t rc = pg_profile_func_intern(p, name, (size_t)length, "pipeline/stages.py", 18,
                                            10 + f, PG_FUNC_PYTHON);
        PG_CHECK(rc == (int64_t)f);
    }
    for (uint32_t i = 1; i < nodes; i++) {
        pg_node_t node = {.parent = parent_of(i), .func = func_of(i), .calls = 1 + i % 3,
                          .events = 2, .exclusive = 100 + i % 1000};
        PG_CHECK_RC(pg_profile_node_append(p, &node), PG_OK);
    }
    for (uint32_t i = nodes; i-- > 1;) {
        pg_node_t *node = &p->nodes[i];
        node->inclusive += node->exclusive;
        p->nodes[node->parent].inclusive += node->inclusive;
    }
}

/* 1,000,000 nodes, fan-out 16: (parent, func) unique as siblings are
 * consecutive indexes with consecutive functions. */
static uint32_t wide_parent(uint32_t i)
{
    return (i - 1) / 16;
}

static uint32_t wide_func(uint32_t i)
{
    return (i - 1) % 16 + 16 * ((i - 1) / 16 % 64);
}

/* 2,000 chains 50 calls deep under the root: long stacks, large output. */
static uint32_t deep_parent(uint32_t i)
{
    return (i - 1) % 50 == 0 ? PG_ROOT : i - 1;
}

static uint32_t deep_func(uint32_t i)
{
    return (i - 1) % 50 == 0 ? 50 + (i - 1) / 50 : (i - 1) % 50;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    PG_CHECK(stat(path, &st) == 0);
    return (uint64_t)st.st_size;
}

/* Peak heap the export itself added, from the allocator hooks when built
 * with ASan; otherwise the exporter's own accounting. */
static uint64_t export_peak(const pg_profile_t *p, int format, const char *path,
                            pg_export_stats_t *stats)
{
#ifdef PG_TEST_HEAP_HOOKS
    static int installed;
    if (!installed)
        installed = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
    PG_CHECK(installed);
    heap_live = heap_peak = 0;
    heap_counting = 1;
#endif
    PG_CHECK_RC(pg_export_write(p, format, path, 1, stats), PG_OK);
#ifdef PG_TEST_HEAP_HOOKS
    heap_counting = 0;
    return heap_peak;
#else
    return stats->working_bytes;
#endif
}

static void test_large_profile_bounded_memory(void)
{
    const uint32_t nodes = 1000000;
    pg_profile_t p;
    build_synthetic(&p, nodes, 1024, wide_parent, wide_func);
    for (int format = 0; format < PG_EXPORT_FORMAT_COUNT; format++) {
        pg_export_stats_t stats;
        uint64_t peak = export_peak(&p, format, path_in("large"), &stats);
        uint64_t size = file_size(path_in("large"));
        PG_CHECK_U64(stats.bytes_written, size);
        printf("1M nodes, %-10s: %9" PRIu64 " bytes written, peak heap %9" PRIu64
               " bytes (%.0f per node), accounted %" PRIu64 "\n",
               pg_export_format_name(format), size, peak, (double)peak / nodes,
               stats.working_bytes);
        /* O(nodes), whatever the output: aggregation ~95 B/node at its
         * peak, children lists and times ~28, chrome's depth arrays 16 */
        fflush(stdout);
        PG_CHECK(peak <= 160ull * nodes + (2u << 20));
        PG_CHECK(stats.working_bytes <= 160ull * nodes + (2u << 20));
        PG_CHECK_U64(stats.records, format == PG_EXPORT_CHROME ? nodes - 1 + 2 : nodes - 1);
        unlink(path_in("large"));
    }
    pg_profile_release(&p);
    /* long stacks: the folded file is over ten times the exporter's peak */
    const uint32_t deep_nodes = 100001;
    build_synthetic(&p, deep_nodes, 50 + 2000, deep_parent, deep_func);
    pg_export_stats_t stats;
    uint64_t peak = export_peak(&p, PG_EXPORT_FOLDED, path_in("deep"), &stats);
    uint64_t size = file_size(path_in("deep"));
    printf("100k nodes 50 deep, folded: %" PRIu64 " bytes written, peak heap %" PRIu64 "\n",
           size, peak);
    PG_CHECK(size > 10 * peak);
    unlink(path_in("deep"));
    pg_profile_release(&p);
}

int main(void)
{
    pg_test_mkdtemp(directory, sizeof directory);
    test_json_escaping();
    test_folded_exact();
    test_json_formats_shape();
    test_chrome_clips_children();
    test_pprof_gzip();
    test_errors_and_atomicity();
    test_large_profile_bounded_memory();
    pg_test_rmdir(directory);
    printf("test_export: ok\n");
    return 0;
}
