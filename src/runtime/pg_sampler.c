#include "pg_sampler.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pg_error.h"
#include "pg_nvml.h"
#include "pg_procfs.h"

/* Threads attributed per tick; more are rare and share nothing extra. */
#define MAX_PUBLISHED 256

/* One reading of the cumulative counters. */
typedef struct counters {
    uint64_t ns;         /* CLOCK_MONOTONIC */
    pg_proc_stat_t stat; /* kept from the previous reading when a read fails */
    pg_proc_io_t io;     /* the whole process */
    pg_proc_io_t own;    /* the sampler thread: its /proc reads are not the
                            program's I/O and are subtracted */
} counters_t;

/* The one sampler of the process. lock protects everything below it that
 * both threads touch: timeline, charges, stop, gpu_status. The other
 * fields are written by the control thread (GIL) before the sampler thread
 * starts or after it is joined. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;       /* signalled by stop; CLOCK_MONOTONIC waits */
    pthread_t thread;
    int running;               /* a sampler thread exists (control thread) */
    int atfork_registered;     /* control thread */
    int stop;                  /* lock: the thread should finish */
    int gpu;                   /* read NVML */
    uint64_t interval_ns;      /* sampling period */
    counters_t first;          /* counters at start */
    pg_timeline_t timeline;    /* lock; owned */
    pg_node_charges_t charges; /* lock; owned */
    char gpu_status[256];      /* lock */
} sampler = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t grew(uint64_t now, uint64_t before)
{
    return now > before ? now - before : 0;
}

static uint64_t monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* own: also read the calling (sampler) thread's counters. Order matters:
 * own before the process, so that the sampler's reads between two process
 * readings equal those between two own readings (up to a few bytes of a
 * changing number's digits), whatever the files' sizes. */
static void read_counters(counters_t *c, int own)
{
    counters_t previous = *c;
    if (pg_procfs_process_stat(&c->stat) < 0)
        c->stat = previous.stat;
    if (own && pg_procfs_thread_io(0, &c->own) < 0)
        c->own = previous.own;
    if (pg_procfs_process_io(&c->io) < 0)
        c->io = previous.io;
    c->ns = monotonic_ns();
}

/* The program's part of a process I/O counter's growth. */
static uint64_t program_io(uint64_t now, uint64_t before, uint64_t own_now, uint64_t own_before)
{
    uint64_t total = grew(now, before), own = grew(own_now, own_before);
    return total > own ? total - own : 0;
}


/* GPU busy ns summed over devices and this process's GPU bytes, for the
 * interval ending now. */
typedef struct gpu_tick {
    uint64_t busy_ns;
    uint64_t process_bytes;
} gpu_tick_t;

static gpu_tick_t read_gpus(pg_nvml_t *nvml, uint64_t dt_ns, pg_timeline_gpu_t *gpu)
{
    gpu_tick_t tick = {0};
    pid_t pid = getpid();
    for (uint32_t d = 0; d < nvml->device_count; d++) {
        pg_nvml_reading_t reading;
        (void)pg_nvml_read(nvml, d, pid, &reading); /* zeros on error, counted */
        gpu[d].busy_ns = dt_ns / 100 * reading.utilisation;
        gpu[d].memory_bytes = reading.memory_used;
        gpu[d].process_bytes = reading.process_memory;
        tick.busy_ns += gpu[d].busy_ns;
        tick.process_bytes += reading.process_memory;
    }
    return tick;
}

/* Charge this tick's GPU figures to the nodes the threads are in: busy
 * time split evenly, memory as a level. Called with sampler.lock held;
 * takes thread_lock inside (never the other way round). */
static void charge_nodes(gpu_tick_t tick)
{
    if (!tick.busy_ns && !tick.process_bytes)
        return;
    uint32_t nodes[MAX_PUBLISHED];
    size_t n = pg_tracer_published_nodes(nodes, MAX_PUBLISHED);
    for (size_t i = 0; i < n; i++)
        (void)pg_node_charges_add(&sampler.charges, nodes[i], tick.busy_ns / n,
                                  tick.process_bytes);
}

/* Record the interval from *previous to now. */
static void take_sample(counters_t *previous, pg_nvml_t *nvml)
{
    counters_t now = *previous;
    read_counters(&now, 1);
    if (now.ns <= previous->ns)
        return;
    uint64_t dt = now.ns - previous->ns;
    pg_timeline_sample_t sample = {
        .t_ns = previous->ns - sampler.first.ns,
        .dt_ns = dt,
        .rss_bytes = now.stat.rss_bytes,
        .threads = now.stat.threads,
        .cpu_user_ns = grew(now.stat.utime_ns, previous->stat.utime_ns),
        .cpu_system_ns = grew(now.stat.stime_ns, previous->stat.stime_ns),
        .read_chars = program_io(now.io.rchar, previous->io.rchar, now.own.rchar,
                                 previous->own.rchar),
        .write_chars = program_io(now.io.wchar, previous->io.wchar, now.own.wchar,
                                  previous->own.wchar),
        .read_bytes = grew(now.io.read_bytes, previous->io.read_bytes),
        .write_bytes = grew(now.io.write_bytes, previous->io.write_bytes),
    };
    pg_timeline_gpu_t gpu[PG_NVML_MAX_DEVICES];
    memset(gpu, 0, sizeof gpu); /* devices NVML no longer reads stay 0 */
    gpu_tick_t tick = read_gpus(nvml, dt, gpu);
    pthread_mutex_lock(&sampler.lock);
    (void)pg_timeline_add(&sampler.timeline, &sample, gpu); /* ordered: cannot fail */
    charge_nodes(tick);
    pthread_mutex_unlock(&sampler.lock);
    *previous = now;
}

static void open_gpus(pg_nvml_t *nvml)
{
    char why[200] = "";
    int n = sampler.gpu ? pg_nvml_open(nvml, why, sizeof why) : -1;
    pthread_mutex_lock(&sampler.lock);
    if (n > 0) {
        int used = snprintf(sampler.gpu_status, sizeof sampler.gpu_status, "%d device%s:", n,
                            n == 1 ? "" : "s");
        for (uint32_t d = 0; d < nvml->device_count; d++) {
            (void)pg_timeline_add_device(&sampler.timeline, nvml->names[d], nvml->memory_total[d]);
            if (used > 0 && (size_t)used < sizeof sampler.gpu_status)
                used += snprintf(sampler.gpu_status + used, sizeof sampler.gpu_status - (size_t)used,
                                 "%s %s", d ? "," : "", nvml->names[d]);
        }
        if (sampler.timeline.gpu_count != nvml->device_count) {
            pg_nvml_close(nvml); /* out of memory: GPU figures stay 0 */
            snprintf(sampler.gpu_status, sizeof sampler.gpu_status, "none (out of memory)");
        }
    } else if (sampler.gpu) {
        snprintf(sampler.gpu_status, sizeof sampler.gpu_status, "none (%s)", why);
    }
    pthread_mutex_unlock(&sampler.lock);
}

static void *sampler_main(void *unused)
{
    (void)unused;
    pg_nvml_t nvml;
    memset(&nvml, 0, sizeof nvml);
    open_gpus(&nvml);
    counters_t previous = sampler.first;
    (void)pg_procfs_thread_io(0, &previous.own);
    uint64_t next = previous.ns + sampler.interval_ns;
    pthread_mutex_lock(&sampler.lock);
    while (!sampler.stop) {
        struct timespec until = {.tv_sec = (time_t)(next / 1000000000u),
                                 .tv_nsec = (long)(next % 1000000000u)};
        pthread_cond_timedwait(&sampler.wake, &sampler.lock, &until);
        if (sampler.stop)
            break;
        uint64_t now = monotonic_ns();
        if (now < next)
            continue; /* woken early */
        pthread_mutex_unlock(&sampler.lock);
        take_sample(&previous, &nvml);
        pthread_mutex_lock(&sampler.lock);
        next += sampler.interval_ns;
        if (next <= now) /* fell behind (a suspended process): skip ticks */
            next = now + sampler.interval_ns;
    }
    pthread_mutex_unlock(&sampler.lock);
    take_sample(&previous, &nvml); /* the last partial interval */
    pthread_mutex_lock(&sampler.lock);
    pg_timeline_flush(&sampler.timeline);
    pthread_mutex_unlock(&sampler.lock);
    pg_nvml_close(&nvml);
    return NULL;
}

/* In a forked child: the thread did not survive fork, and it may have
 * held the lock in the middle of an update. The child drops (leaks, once)
 * the timeline and charges it cannot trust; the parent keeps sampling. */
static void forget_after_fork(void)
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    sampler.lock = fresh;
    if (sampler.running) {
        memset(&sampler.timeline, 0, sizeof sampler.timeline);
        memset(&sampler.charges, 0, sizeof sampler.charges);
        snprintf(sampler.gpu_status, sizeof sampler.gpu_status, "none (forked child)");
    }
    sampler.running = 0;
}

int pg_sampler_start(double hz, int gpu)
{
    if (sampler.running || !(hz >= 0.0 && hz <= 10000.0))
        return PG_ERR_ARG;
    pg_timeline_release(&sampler.timeline);
    pg_node_charges_release(&sampler.charges);
    if (hz == 0.0) {
        snprintf(sampler.gpu_status, sizeof sampler.gpu_status, "none (timeline off)");
        return PG_OK;
    }
    if (!sampler.atfork_registered && pthread_atfork(NULL, NULL, forget_after_fork) == 0)
        sampler.atfork_registered = 1;
    sampler.interval_ns = (uint64_t)(1e9 / hz);
    sampler.gpu = gpu;
    sampler.stop = 0;
    snprintf(sampler.gpu_status, sizeof sampler.gpu_status, "none (%s)",
             gpu ? "no GPU reading yet" : "disabled");
    int rc = pg_timeline_init(&sampler.timeline, PG_TIMELINE_DEFAULT_CAPACITY, sampler.interval_ns);
    if (rc < 0)
        return rc;
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&sampler.wake, &attributes);
    pthread_condattr_destroy(&attributes);
    memset(&sampler.first, 0, sizeof sampler.first);
    read_counters(&sampler.first, 0);
    /* The thread starts with every signal blocked (it inherits the mask):
     * the program's signals (SIGINT, SIGTERM, CPU-timer signals) must go
     * to the program's threads, never interrupt the sampler. */
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    int created = pthread_create(&sampler.thread, NULL, sampler_main, NULL);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (created != 0) {
        pg_timeline_release(&sampler.timeline);
        return PG_ERR_IO;
    }
    sampler.running = 1;
    return PG_OK;
}

void pg_sampler_stop(pg_timeline_t *timeline, pg_node_charges_t *charges, char *gpu_status,
                     size_t status_size)
{
    if (sampler.running) {
        pthread_mutex_lock(&sampler.lock);
        sampler.stop = 1;
        pthread_cond_signal(&sampler.wake);
        pthread_mutex_unlock(&sampler.lock);
        pthread_join(sampler.thread, NULL);
        pthread_cond_destroy(&sampler.wake);
        sampler.running = 0;
    }
    pthread_mutex_lock(&sampler.lock);
    *timeline = sampler.timeline;
    *charges = sampler.charges;
    memset(&sampler.timeline, 0, sizeof sampler.timeline);
    memset(&sampler.charges, 0, sizeof sampler.charges);
    snprintf(gpu_status, status_size, "%s", sampler.gpu_status);
    pthread_mutex_unlock(&sampler.lock);
}

int pg_sampler_snapshot(pg_timeline_t *copy)
{
    pthread_mutex_lock(&sampler.lock);
    int rc = pg_timeline_copy(copy, &sampler.timeline);
    pthread_mutex_unlock(&sampler.lock);
    return rc;
}

void pg_sampler_status(char *gpu_status, size_t status_size)
{
    pthread_mutex_lock(&sampler.lock);
    snprintf(gpu_status, status_size, "%s", sampler.gpu_status);
    pthread_mutex_unlock(&sampler.lock);
}

int pg_sampler_attach(pg_profile_t *profile, pg_timeline_t *timeline,
                      const pg_node_charges_t *charges, const char *gpu_status)
{
    pg_timeline_release(&profile->timeline);
    profile->timeline = *timeline;
    memset(timeline, 0, sizeof *timeline);
    int rc = pg_profile_meta_set(profile, "gpu", gpu_status);
    if (rc < 0 || profile->timeline.gpu_count == 0)
        return rc;
    int64_t busy = pg_profile_metric_intern(profile, "gpu.busy_ns", "ns", PG_METRIC_SUM);
    int64_t memory = pg_profile_metric_intern(profile, "gpu.mem_bytes", "bytes", PG_METRIC_MAX);
    if (busy < 0 || memory < 0)
        return (int)(busy < 0 ? busy : memory);
    uint32_t limit = charges->size < profile->node_count ? charges->size : profile->node_count;
    for (uint32_t node = 0; node < limit && rc == PG_OK; node++) {
        if (charges->busy_ns[node])
            rc = pg_profile_metric_charge(profile, (uint32_t)busy, node, charges->busy_ns[node]);
        if (charges->max_bytes[node] && rc == PG_OK)
            rc = pg_profile_metric_charge(profile, (uint32_t)memory, node, charges->max_bytes[node]);
    }
    return rc;
}

int pg_sampler_running(void)
{
    return sampler.running;
}

uint64_t pg_sampler_memory(void)
{
    pthread_mutex_lock(&sampler.lock);
    uint64_t bytes = pg_timeline_memory(&sampler.timeline);
    bytes += (uint64_t)sampler.charges.size * 2 * sizeof(uint64_t);
    pthread_mutex_unlock(&sampler.lock);
    return bytes;
}
