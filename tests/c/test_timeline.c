/* pg_timeline: the bounded buffer, downsampling, and the TLIN/TGPU sections. */
#include "pg_timeline.h"

#include "pg_bytes.h"
#include "pg_format.h"
#include "pg_profile.h"
#include "pg_test.h"

#define MS 1000000ull

static pg_timeline_sample_t raw_sample(uint64_t i)
{
    return (pg_timeline_sample_t){
        .t_ns = i * 10 * MS,
        .dt_ns = 10 * MS,
        .rss_bytes = 1000 + i,
        .threads = 1,
        .cpu_user_ns = 3 * MS,
        .cpu_system_ns = MS,
        .read_chars = 100,
        .write_chars = 7,
        .read_bytes = 1,
        .write_bytes = 2,
    };
}

/* GIVEN a timeline of 8 samples fed 1000 raw ones, THEN it never holds more
 * than 8, amounts add up to the raw totals, and the peak survives. */
static void test_downsampling_bounded_and_consistent(void)
{
    pg_timeline_t t;
    PG_CHECK_RC(pg_timeline_init(&t, 8, 10 * MS), PG_OK);
    uint64_t peak_at = 613;
    for (uint64_t i = 0; i < 1000; i++) {
        pg_timeline_sample_t s = raw_sample(i);
        if (i == peak_at)
            s.rss_bytes = 1ull << 40;
        PG_CHECK_RC(pg_timeline_add(&t, &s, NULL), PG_OK);
        PG_CHECK(t.count <= 8);
    }
    pg_timeline_flush(&t);
    PG_CHECK(t.count <= 8);
    PG_CHECK(t.stride >= 128);
    uint64_t user = 0, chars = 0, peak = 0, end = 0;
    for (uint32_t i = 0; i < t.count; i++) {
        PG_CHECK_U64(t.samples[i].t_ns, end); /* contiguous, in order */
        end = t.samples[i].t_ns + t.samples[i].dt_ns;
        user += t.samples[i].cpu_user_ns;
        chars += t.samples[i].read_chars;
        if (t.samples[i].rss_bytes > peak)
            peak = t.samples[i].rss_bytes;
        /* Equal lengths except the partial last one. */
        if (i + 1 < t.count)
            PG_CHECK_U64(t.samples[i].dt_ns, t.stride * 10 * MS);
    }
    PG_CHECK_U64(end, 1000 * 10 * MS);
    PG_CHECK_U64(user, 1000 * 3 * MS);
    PG_CHECK_U64(chars, 1000 * 100);
    PG_CHECK_U64(peak, 1ull << 40);
    PG_CHECK(pg_format_timeline_valid(&t));
    pg_timeline_release(&t);
    PG_CHECK(!pg_timeline_present(&t));
}

static void test_rejects_bad_samples(void)
{
    pg_timeline_t t;
    PG_CHECK_RC(pg_timeline_init(&t, 4, MS), PG_OK);
    pg_timeline_sample_t s = raw_sample(5);
    PG_CHECK_RC(pg_timeline_add(&t, &s, NULL), PG_OK);
    pg_timeline_sample_t earlier = raw_sample(4);
    PG_CHECK_RC(pg_timeline_add(&t, &earlier, NULL), PG_ERR_ARG); /* overlaps */
    pg_timeline_sample_t empty = raw_sample(9);
    empty.dt_ns = 0;
    PG_CHECK_RC(pg_timeline_add(&t, &empty, NULL), PG_ERR_ARG);
    /* Devices only before the first sample. */
    PG_CHECK_RC(pg_timeline_add_device(&t, "late", 1), PG_ERR_ARG);
    pg_timeline_release(&t);
    pg_timeline_t none = {0};
    PG_CHECK_RC(pg_timeline_add(&none, &s, NULL), PG_ERR_ARG);
    PG_CHECK_RC(pg_timeline_init(&t, 4, 0), PG_ERR_ARG);
}

/* GPU busy time adds up, memory keeps its maximum through downsampling. */
static void test_gpu_figures_merge(void)
{
    pg_timeline_t t;
    PG_CHECK_RC(pg_timeline_init(&t, 2, 10 * MS), PG_OK);
    PG_CHECK_RC(pg_timeline_add_device(&t, "gpu0", 1ull << 34), PG_OK);
    PG_CHECK_RC(pg_timeline_add_device(&t, "gpu1", 1ull << 35), PG_OK);
    for (uint64_t i = 0; i < 9; i++) {
        pg_timeline_sample_t s = raw_sample(i);
        pg_timeline_gpu_t gpu[2] = {{.busy_ns = 10 * MS, .memory_bytes = i, .process_bytes = 9 - i},
                                    {.busy_ns = 0, .memory_bytes = 5, .process_bytes = 0}};
        PG_CHECK_RC(pg_timeline_add(&t, &s, gpu), PG_OK);
        PG_CHECK_RC(pg_timeline_add(&t, &(pg_timeline_sample_t){.t_ns = 0, .dt_ns = 1}, NULL),
                    PG_ERR_ARG); /* GPU figures required */
    }
    pg_timeline_t copy;
    PG_CHECK_RC(pg_timeline_copy(&copy, &t), PG_OK); /* stores the pending part */
    uint64_t busy = 0, memory = 0, process = 0;
    for (uint32_t i = 0; i < copy.count; i++) {
        busy += copy.gpu[i * 2].busy_ns;
        memory = copy.gpu[i * 2].memory_bytes > memory ? copy.gpu[i * 2].memory_bytes : memory;
        process = copy.gpu[i * 2].process_bytes > process ? copy.gpu[i * 2].process_bytes : process;
        PG_CHECK_U64(copy.gpu[i * 2 + 1].busy_ns, 0);
        PG_CHECK_U64(copy.gpu[i * 2 + 1].memory_bytes, 5);
        PG_CHECK(copy.gpu[i * 2].busy_ns <= copy.samples[i].dt_ns);
    }
    PG_CHECK_U64(busy, 9 * 10 * MS);
    PG_CHECK_U64(memory, 8);
    PG_CHECK_U64(process, 9);
    PG_CHECK(copy.count <= 2);
    pg_timeline_release(&copy);
    pg_timeline_release(&t);
}

/* The profile file keeps the timeline exactly; a breach is refused. */
static void test_file_round_trip(void)
{
    pg_profile_t p, back;
    PG_CHECK_RC(pg_profile_init(&p), PG_OK);
    PG_CHECK_RC(pg_timeline_init(&p.timeline, 16, 50 * MS), PG_OK);
    PG_CHECK_RC(pg_timeline_add_device(&p.timeline, "Fake", 123), PG_OK);
    for (uint64_t i = 0; i < 5; i++) {
        pg_timeline_sample_t s = raw_sample(2 * i); /* gaps between samples */
        pg_timeline_gpu_t gpu = {.busy_ns = i * MS, .memory_bytes = i << 30, .process_bytes = i};
        PG_CHECK_RC(pg_timeline_add(&p.timeline, &s, &gpu), PG_OK);
    }
    pg_bytes_t image;
    pg_bytes_init(&image);
    PG_CHECK_RC(pg_profile_encode(&p, &image), PG_OK);
    memset(&back, 0, sizeof back);
    PG_CHECK_RC(pg_profile_read_buffer(&back, image.data, image.size), PG_OK);
    PG_CHECK_U64(back.timeline.count, 5);
    PG_CHECK_U64(back.timeline.interval_ns, 50 * MS);
    PG_CHECK_U64(back.timeline.gpu_count, 1);
    PG_CHECK(strcmp(back.timeline.devices[0].name, "Fake") == 0);
    PG_CHECK(memcmp(back.timeline.samples, p.timeline.samples, 5 * sizeof(pg_timeline_sample_t)) == 0);
    PG_CHECK(memcmp(back.timeline.gpu, p.timeline.gpu, 5 * sizeof(pg_timeline_gpu_t)) == 0);
    pg_profile_release(&back);
    /* GPU busier than the interval: the writer refuses it. */
    p.timeline.gpu[3].busy_ns = p.timeline.samples[3].dt_ns + 1;
    pg_bytes_release(&image);
    pg_bytes_init(&image);
    PG_CHECK_RC(pg_profile_encode(&p, &image), PG_ERR_ARG);
    pg_bytes_release(&image);
    /* A copy of the profile carries the timeline. */
    p.timeline.gpu[3].busy_ns = 0;
    pg_profile_t copy;
    PG_CHECK_RC(pg_profile_copy(&copy, &p), PG_OK);
    PG_CHECK_U64(copy.timeline.count, 5);
    PG_CHECK(pg_profile_memory(&copy) > pg_timeline_memory(&copy.timeline));
    pg_profile_release(&copy);
    pg_profile_release(&p);
}

static void test_node_charges(void)
{
    pg_node_charges_t c = {0};
    PG_CHECK_RC(pg_node_charges_add(&c, 3, 10, 100), PG_OK);
    PG_CHECK_RC(pg_node_charges_add(&c, 3, 5, 50), PG_OK);
    PG_CHECK_RC(pg_node_charges_add(&c, 1000, 7, 1), PG_OK);
    PG_CHECK(c.size > 1000);
    PG_CHECK_U64(c.busy_ns[3], 15);
    PG_CHECK_U64(c.max_bytes[3], 100);
    PG_CHECK_U64(c.busy_ns[1000], 7);
    PG_CHECK_U64(c.busy_ns[999], 0);
    pg_node_charges_release(&c);
    PG_CHECK(c.size == 0 && !c.busy_ns);
}

int main(void)
{
    test_downsampling_bounded_and_consistent();
    test_rejects_bad_samples();
    test_gpu_figures_merge();
    test_file_round_trip();
    test_node_charges();
    puts("test_timeline: ok");
    return 0;
}
