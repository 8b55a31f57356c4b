/* Replay and mutation driver for compilers without libFuzzer (gcc).
 *
 *   fuzz_reader [-runs=N] [-max_total_time=S] [-seed=N] [-max_len=N] PATH...
 *
 * Runs every file of the given corpus directories (or files) through
 * LLVMFuzzerTestOneInput, then deterministic random mutations of them:
 * bit flips, byte values, nudges, truncations, insertions, deletions,
 * chunk copies, varint overwrites and splices of two inputs, stacked 1 to 4
 * deep. There is no coverage feedback; inputs the reader accepts join the
 * pool instead, since they are the ones that go deep. Without -runs and
 * -max_total_time it stops after 2000 mutations per seed. A finding aborts
 * the process through the sanitizers (non-zero exit); other libFuzzer
 * flags are accepted and ignored. Before dying, the input being run is
 * written to <artifact_prefix>crash-replay-<pid> (-artifact_prefix=P, as
 * with libFuzzer), so the finding can be replayed: fuzz_reader FILE.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>

#include "fuzz_reader.h"

#define POOL_MAX 1024
#define DEFAULT_MUTATIONS_PER_SEED 2000

typedef struct input {
    uint8_t *data; /* owned */
    size_t size;
} input_t;

typedef struct driver {
    input_t pool[POOL_MAX]; /* seeds first, then accepted mutants */
    size_t pool_count;
    size_t seed_count;
    uint64_t runs;           /* mutation executions to do; 0 = by time/default */
    double max_seconds;      /* 0 = no time limit */
    uint64_t random_state;   /* xorshift64 state, never 0 */
    size_t max_len;          /* mutants are cut to this length */
} driver_t;

/* The input under test, for the crash handlers: set before each run.
 * Written only by the main thread; read only while dying. */
static const uint8_t *current_data;
static size_t current_size;
static char crash_path[4096]; /* prepared up front: no snprintf when dying */

/* Called by the sanitizers before they exit, and on SIGABRT (a broken
 * property calls abort). Only async-signal-safe calls. */
static void save_current_input(void)
{
    static volatile sig_atomic_t saved = 0;
    if (saved || !current_data)
        return;
    saved = 1;
    int fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    ssize_t written = write(fd, current_data, current_size);
    close(fd);
    static const char note[] = "replay: the failing input was written to ";
    if (written == (ssize_t)current_size) {
        int ok = write(2, note, sizeof note - 1) > 0;
        ok = ok && write(2, crash_path, strlen(crash_path)) > 0;
        ok = ok && write(2, "\n", 1) > 0;
        (void)ok; /* nothing left to do when stderr is gone */
    }
}

static void on_abort(int signal_number)
{
    save_current_input();
    signal(signal_number, SIG_DFL);
    raise(signal_number);
}

static void run_input(const uint8_t *data, size_t size)
{
    current_data = data;
    current_size = size;
    LLVMFuzzerTestOneInput(data, size);
    current_data = NULL;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t next_random(driver_t *d)
{
    uint64_t x = d->random_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    d->random_state = x;
    return x;
}

static size_t below(driver_t *d, size_t n)
{
    return n ? (size_t)(next_random(d) % n) : 0;
}

/* Takes ownership of data; frees it when the pool is full. */
static void pool_add(driver_t *d, uint8_t *data, size_t size)
{
    if (d->pool_count == POOL_MAX) {
        free(data);
        return;
    }
    d->pool[d->pool_count].data = data;
    d->pool[d->pool_count].size = size;
    d->pool_count++;
}

static void load_file(driver_t *d, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return;
    }
    uint8_t *data = malloc(d->max_len ? d->max_len : 1);
    size_t size = data ? fread(data, 1, d->max_len, f) : 0;
    fclose(f);
    uint8_t *fitted = data ? realloc(data, size ? size : 1) : NULL;
    if (fitted)
        pool_add(d, fitted, size);
    else
        free(data);
}

static void load_path(driver_t *d, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        load_file(d, path);
        return;
    }
    struct dirent **entries;
    int n = scandir(path, &entries, NULL, alphasort); /* sorted: deterministic */
    for (int i = 0; i < n; i++) {
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, entries[i]->d_name);
        if (entries[i]->d_name[0] != '.' && stat(full, &st) == 0 && S_ISREG(st.st_mode))
            load_file(d, full);
        free(entries[i]);
    }
    free(entries);
}

/* Replace [at, at + old_length) of *data with bytes (or nothing). */
static void splice_bytes(uint8_t **data, size_t *size, size_t at, size_t old_length,
                         const uint8_t *bytes, size_t length)
{
    size_t new_size = *size - old_length + length;
    uint8_t *out = malloc(new_size ? new_size : 1);
    if (!out)
        return;
    /* memcpy with a NULL pointer is undefined even for 0 bytes. */
    if (at)
        memcpy(out, *data, at);
    if (length)
        memcpy(out + at, bytes, length);
    if (*size - at - old_length)
        memcpy(out + at + length, *data + at + old_length, *size - at - old_length);
    free(*data);
    *data = out;
    *size = new_size;
}

static void mutate_once(driver_t *d, uint8_t **data, size_t *size)
{
    static const uint8_t interesting[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x41};
    uint8_t bytes[16];
    size_t at = below(d, *size), length;
    switch (*size ? below(d, 10) : 5) {
    case 0:
        (*data)[at] ^= (uint8_t)(1u << below(d, 8));
        break;
    case 1:
        (*data)[at] = (uint8_t)next_random(d);
        break;
    case 2:
        (*data)[at] = interesting[below(d, sizeof interesting)];
        break;
    case 3: /* nudge a count, an index or a kind */
        (*data)[at] = (uint8_t)((*data)[at] + (below(d, 2) ? 1 : 255) * (1 + below(d, 2)));
        break;
    case 4:
        *size = at;
        break;
    case 5:
        length = 1 + below(d, 8);
        for (size_t i = 0; i < length; i++)
            bytes[i] = (uint8_t)next_random(d);
        splice_bytes(data, size, at, 0, bytes, length);
        break;
    case 6:
        length = 1 + below(d, 16);
        splice_bytes(data, size, at, length < *size - at ? length : *size - at, NULL, 0);
        break;
    case 7: /* copy a chunk of the input elsewhere in it */
        length = 1 + below(d, 16);
        if (length > *size - at)
            length = *size - at;
        memcpy(bytes, *data + at, length);
        splice_bytes(data, size, below(d, *size + 1), 0, bytes, length);
        break;
    case 8: { /* a varint of a random width, possibly overlong or huge */
        length = 1 + below(d, 11);
        for (size_t i = 0; i < length; i++)
            bytes[i] = (uint8_t)(next_random(d) | (i + 1 < length ? 0x80 : 0));
        size_t old = length < *size - at ? length : *size - at;
        splice_bytes(data, size, at, old, bytes, length);
        break;
    }
    default: { /* splice: our prefix, another input's suffix */
        const input_t *other = &d->pool[below(d, d->pool_count)];
        size_t from = below(d, other->size + 1);
        splice_bytes(data, size, at, *size - at, other->data + from, other->size - from);
        break;
    }
    }
}

/* One mutant of pool entry index, run through the target. */
static void run_mutant(driver_t *d, size_t index)
{
    const input_t *seed = &d->pool[index];
    size_t size = seed->size;
    uint8_t *data = malloc(size ? size : 1);
    if (!data)
        return;
    memcpy(data, seed->data, size);
    for (size_t depth = 1 + below(d, 4); depth > 0; depth--)
        mutate_once(d, &data, &size);
    if (size > d->max_len)
        size = d->max_len;
    /* Exact-size copy: ASan must see the true end of the input. */
    uint8_t *exact = malloc(size ? size : 1);
    if (exact) {
        memcpy(exact, data, size);
        uint64_t accepted = pg_fuzz_accepted;
        run_input(exact, size);
        if (pg_fuzz_accepted != accepted) {
            pool_add(d, exact, size);
            exact = NULL;
        }
    }
    free(exact);
    free(data);
}

static int parse_flag(driver_t *d, const char *arg)
{
    const char *value = strchr(arg, '=');
    if (!value)
        return 0;
    value++;
    if (strncmp(arg, "-runs=", 6) == 0)
        d->runs = strtoull(value, NULL, 10);
    else if (strncmp(arg, "-max_total_time=", 16) == 0)
        d->max_seconds = strtod(value, NULL);
    else if (strncmp(arg, "-seed=", 6) == 0)
        d->random_state = strtoull(value, NULL, 10) | 1;
    else if (strncmp(arg, "-max_len=", 9) == 0)
        d->max_len = (size_t)strtoull(value, NULL, 10);
    else if (strncmp(arg, "-artifact_prefix=", 17) == 0)
        snprintf(crash_path, sizeof crash_path, "%scrash-replay-%ld", value, (long)getpid());
    else
        fprintf(stderr, "replay: ignoring %s (libFuzzer only)\n", arg);
    return 1;
}

int main(int argc, char **argv)
{
    static driver_t d;
    d.random_state = 0x9e3779b97f4a7c15ull;
    d.max_len = 1 << 20;
    snprintf(crash_path, sizeof crash_path, "crash-replay-%ld", (long)getpid());
    for (int i = 1; i < argc; i++)
        if (argv[i][0] != '-' || !parse_flag(&d, argv[i]))
            load_path(&d, argv[i]);
    if (d.pool_count == 0) {
        fprintf(stderr, "usage: %s [-runs=N] [-max_total_time=S] [-seed=N] CORPUS...\n"
                        "(no input files found)\n", argv[0]);
        return 2;
    }
    __sanitizer_set_death_callback(save_current_input);
    signal(SIGABRT, on_abort);
    double start = now_seconds();
    d.seed_count = d.pool_count;
    for (size_t i = 0; i < d.seed_count; i++)
        run_input(d.pool[i].data, d.pool[i].size);
    uint64_t limit = d.runs;
    if (!limit && d.max_seconds <= 0)
        limit = (uint64_t)d.seed_count * DEFAULT_MUTATIONS_PER_SEED;
    uint64_t done = 0;
    for (size_t next = 0; !limit || done < limit; done++, next++) {
        if (d.max_seconds > 0 && (done & 255) == 0 && now_seconds() - start >= d.max_seconds)
            break;
        run_mutant(&d, next % d.pool_count);
    }
    double seconds = now_seconds() - start;
    printf("replay: %zu seeds, %llu mutations, %llu execs in %.1f s (%.0f execs/s), "
           "%llu accepted, pool %zu\n",
           d.seed_count, (unsigned long long)done, (unsigned long long)(done + d.seed_count),
           seconds, (double)(done + d.seed_count) / (seconds > 0 ? seconds : 1),
           (unsigned long long)pg_fuzz_accepted, d.pool_count);
    for (size_t i = 0; i < d.pool_count; i++)
        free(d.pool[i].data);
    return 0;
}
