/* pg_merge: functions by identity, nodes by path, histograms bucket-wise,
 * run statistics, the process table, and time units that differ. */
#include "pg_format.h"
#include "pg_merge.h"
#include "pg_sample.h"
#include "pg_test.h"

static uint32_t func(pg_profile_t *profile, const char *name, const char *file)
{
    int64_t index = pg_profile_func_intern(profile, name, strlen(name), file, strlen(file), 1,
                                           PG_FUNC_PYTHON);
    PG_CHECK(index >= 0);
    return (uint32_t)index;
}

/* A call of name under parent: calls, inclusive = exclusive = time, and one
 * histogram value of time per call. */
static uint32_t call(pg_profile_t *profile, uint32_t parent, const char *name, uint64_t calls,
                     uint64_t time)
{
    uint32_t f = func(profile, name, "job.py");
    int64_t index = pg_profile_node_child(profile, parent, f);
    PG_CHECK(index > 0);
    pg_node_t *node = &profile->nodes[index];
    node->calls += calls;
    node->events += 2 * calls;
    node->inclusive += calls * time;
    node->exclusive += calls * time;
    for (uint64_t i = 0; i < calls; i++)
        PG_CHECK_RC(pg_hist_add(&profile->funcs[f].hist, time), PG_OK);
    return (uint32_t)index;
}

static uint32_t find_node(const pg_profile_t *profile, uint32_t parent, const char *name)
{
    for (uint32_t i = 1; i < profile->node_count; i++) {
        const pg_node_t *node = &profile->nodes[i];
        uint32_t name_index = profile->funcs[node->func].name;
        if (node->parent == parent && strcmp(profile->strings.strings[name_index], name) == 0)
            return i;
    }
    return PG_NONE;
}

static const pg_hist_t *hist_of(const pg_profile_t *profile, const char *name)
{
    for (uint32_t i = 0; i < profile->func_count; i++)
        if (strcmp(profile->strings.strings[profile->funcs[i].name], name) == 0)
            return &profile->funcs[i].hist;
    return NULL;
}

static void test_paths_and_functions(void)
{
    /* GIVEN a parent main -> load, and a worker main -> load and main -> work,
     * whose function tables list the functions in another order */
    pg_profile_t parent, worker;
    PG_CHECK_RC(pg_profile_init(&parent), PG_OK);
    PG_CHECK_RC(pg_profile_init(&worker), PG_OK);
    uint32_t main_node = call(&parent, PG_ROOT, "main", 1, 1000);
    call(&parent, main_node, "load", 3, 100);
    parent.run.events = 8;
    parent.run.start_epoch_ns = 1000;
    parent.run.duration_ns = 500;
    parent.run.threads = 1;
    func(&worker, "work", "job.py"); /* index 0 in the worker, absent in the parent */
    uint32_t worker_main = call(&worker, PG_ROOT, "main", 1, 700);
    call(&worker, worker_main, "load", 2, 100);
    call(&worker, worker_main, "work", 4, 50);
    worker.run.events = 14;
    worker.run.start_epoch_ns = 1200;
    worker.run.duration_ns = 600;
    worker.run.threads = 2;
    worker.run.lost_events = 3;
    /* WHEN the worker is merged into the parent */
    PG_CHECK_RC(pg_profile_merge(&parent, &worker), PG_OK);
    /* THEN main -> load is one node with the calls of both */
    uint32_t merged_main = find_node(&parent, PG_ROOT, "main");
    PG_CHECK(merged_main == main_node);
    uint32_t load = find_node(&parent, merged_main, "load");
    PG_CHECK(load != PG_NONE);
    PG_CHECK_U64(parent.nodes[load].calls, 5);
    PG_CHECK_U64(parent.nodes[load].inclusive, 500);
    PG_CHECK_U64(parent.nodes[merged_main].calls, 2);
    PG_CHECK_U64(parent.nodes[merged_main].inclusive, 1700);
    uint32_t work = find_node(&parent, merged_main, "work");
    PG_CHECK(work != PG_NONE);
    PG_CHECK_U64(parent.nodes[work].calls, 4);
    PG_CHECK_U64(parent.nodes[work].events, 8);
    PG_CHECK_U64(parent.func_count, 3);
    PG_CHECK_U64(parent.node_count, 4);
    /* AND the histograms add bucket-wise */
    const pg_hist_t *load_hist = hist_of(&parent, "load");
    PG_CHECK_U64(load_hist->count, 5);
    PG_CHECK_U64(pg_hist_bucket_count(load_hist, pg_hist_bucket(100)), 5);
    const pg_hist_t *main_hist = hist_of(&parent, "main");
    PG_CHECK_U64(main_hist->min, 700);
    PG_CHECK_U64(main_hist->max, 1000);
    /* AND the run spans both, with counters added */
    PG_CHECK_U64(parent.run.start_epoch_ns, 1000);
    PG_CHECK_U64(parent.run.duration_ns, 800);
    PG_CHECK_U64(parent.run.events, 22);
    PG_CHECK_U64(parent.run.threads, 3);
    PG_CHECK_U64(parent.run.lost_events, 3);
    /* AND the merged profile is still a valid file image */
    pg_bytes_t image;
    pg_bytes_init(&image);
    PG_CHECK_RC(pg_profile_encode(&parent, &image), PG_OK);
    pg_bytes_release(&image);
    pg_profile_release(&parent);
    pg_profile_release(&worker);
}

static void test_units_differ(void)
{
    /* GIVEN a worker whose clock unit is twice the parent's */
    pg_profile_t parent, worker;
    PG_CHECK_RC(pg_profile_init(&parent), PG_OK);
    PG_CHECK_RC(pg_profile_init(&worker), PG_OK);
    parent.run.ns_per_unit = 0.5;
    worker.run.ns_per_unit = 1.0;
    call(&parent, PG_ROOT, "step", 1, 4000);
    call(&worker, PG_ROOT, "step", 3, 10000);
    PG_CHECK_RC(pg_profile_merge(&parent, &worker), PG_OK);
    /* THEN its times are converted to the parent's units */
    uint32_t step = find_node(&parent, PG_ROOT, "step");
    PG_CHECK_U64(parent.nodes[step].inclusive, 4000 + 3 * 20000);
    const pg_hist_t *hist = hist_of(&parent, "step");
    PG_CHECK_U64(hist->count, 4);
    PG_CHECK_U64(hist->max, 20000);
    PG_CHECK_U64(hist->min, 4000);
    PG_CHECK_NEAR(pg_hist_quantile(hist, 0.99), 20000, 20000 / 128.0);
    PG_CHECK_U64(pg_hist_bucket_count(hist, pg_hist_bucket(20000)), 3);
    pg_profile_release(&parent);
    pg_profile_release(&worker);
}

static void test_processes_and_samples(void)
{
    /* GIVEN the sample profiles (with a process table in variant 1) */
    for (unsigned variant = 0; variant < PG_SAMPLE_VARIANTS; variant++) {
        pg_profile_t sample, merged;
        PG_CHECK_RC(pg_profile_init(&sample), PG_OK);
        PG_CHECK_RC(pg_sample_build(&sample, variant), PG_OK);
        PG_CHECK_RC(pg_profile_init(&merged), PG_OK);
        merged.run.ns_per_unit = sample.run.ns_per_unit;
        /* WHEN one is merged twice into an empty profile */
        PG_CHECK_RC(pg_profile_merge(&merged, &sample), PG_OK);
        PG_CHECK_RC(pg_profile_merge(&merged, &sample), PG_OK);
        /* THEN every path has twice the sample's calls and the table lists
         * every process twice */
        PG_CHECK_U64(merged.node_count, sample.node_count);
        PG_CHECK_U64(merged.func_count, sample.func_count);
        uint64_t calls = 0, merged_calls = 0;
        for (uint32_t i = 0; i < sample.node_count; i++)
            calls += sample.nodes[i].calls;
        for (uint32_t i = 0; i < merged.node_count; i++)
            merged_calls += merged.nodes[i].calls;
        PG_CHECK_U64(merged_calls, 2 * calls);
        PG_CHECK_U64(merged.process_count, 2 * sample.process_count);
        for (uint32_t i = 0; i < sample.process_count; i++) {
            PG_CHECK(strcmp(merged.processes[i].role, sample.processes[i].role) == 0);
            PG_CHECK_U64(merged.processes[i + sample.process_count].pid, sample.processes[i].pid);
        }
        /* AND it survives a write and read back */
        pg_bytes_t image;
        pg_bytes_init(&image);
        PG_CHECK_RC(pg_profile_encode(&merged, &image), PG_OK);
        pg_profile_t back = {0};
        PG_CHECK_RC(pg_profile_read_buffer(&back, image.data, image.size), PG_OK);
        PG_CHECK_U64(back.process_count, merged.process_count);
        if (back.process_count)
            PG_CHECK_U64(back.processes[1].state, PG_PROCESS_LOST);
        pg_profile_release(&back);
        pg_bytes_release(&image);
        pg_profile_release(&merged);
        pg_profile_release(&sample);
    }
}

static void test_summary_and_arguments(void)
{
    pg_profile_t profile;
    PG_CHECK_RC(pg_profile_init(&profile), PG_OK);
    profile.run.ns_per_unit = 2.0;
    profile.run.events = 10;
    uint32_t main_node = call(&profile, PG_ROOT, "main", 1, 100);
    call(&profile, main_node, "inner", 4, 10);
    pg_process_t summary;
    pg_profile_process_summary(&profile, &summary);
    PG_CHECK_U64(summary.calls, 5);
    PG_CHECK_U64(summary.busy_ns, 200); /* top-level inclusive, ns */
    PG_CHECK_U64(summary.events, 10);
    PG_CHECK_RC(pg_profile_merge(&profile, &profile), PG_ERR_ARG);
    pg_profile_release(&profile);
}

int main(void)
{
    test_paths_and_functions();
    test_units_differ();
    test_processes_and_samples();
    test_summary_and_arguments();
    puts("merge: ok");
    return 0;
}
