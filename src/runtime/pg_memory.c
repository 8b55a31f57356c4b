/* Memory attribution (see pg_memory.h).
 *
 * What is exact and what is sampled. Bytes allocated and allocation counts
 * are exact: the wrapper sees every request and its size. Frees pass only
 * a pointer, so freed bytes (hence net bytes) and the live level behind
 * peak-during need each block's size at its free. Looking every block up
 * in a table costs a cache miss per allocation and per free (measured: 2x
 * on an allocation-heavy workload), so:
 * - blocks over SMALL_BLOCK bytes (pymalloc's own limit: they come from
 *   malloc, which costs far more than a lookup) are recorded exactly;
 * - smaller blocks are sampled: one block per SAMPLE_BYTES (on average) of
 *   small allocations of a thread is recorded with weight SAMPLE_BYTES,
 *   so each small block counts in expectation with its own size (the
 *   estimate is unbiased; its error shrinks with the number of samples, a
 *   few percent over a few MiB of small objects).
 * A free first asks a filter of small counters (one byte per hash bucket,
 * FILTER_SLOTS bytes, L1-resident) whether the block may be recorded;
 * only then does it look in the table. The live level moves by recorded
 * sizes and weights, so net and peak of small objects are estimates while
 * large blocks (the 100 MB array, the 1 MB buffers) are exact.
 *
 * Tables: open addressing, pointer -> recorded size, linear probing,
 * deletion by backward shift, grown at half load, capped at TABLE_MAX_SLOTS
 * (past the cap, blocks go unrecorded and are counted in "untracked", so
 * the profiler's memory stays bounded). One table for the MEM and OBJ
 * domains, protected by the GIL (no lock on the common path); one for RAW,
 * whose callers may not hold the GIL, protected by raw_lock (its filter is
 * read without the lock: a block is recorded before its address can reach
 * another thread, through whatever handed it over). NumPy passes sizes to
 * its free, so its blocks need no table and are all exact.
 *
 * Double counting: pymalloc serves large MEM/OBJ requests from RAW. The
 * MEM/OBJ wrappers set the thread-local in_wrapper while the wrapped
 * allocator runs, and the RAW wrapper then passes the request on without
 * counting it. The same flag is the RAW wrapper's reentrancy guard.
 */
#include "pg_memory.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_error.h"
#include "pg_tracer.h"

#define SMALL_BLOCK 512u           /* larger blocks are recorded exactly */
#define SAMPLE_BYTES 65536u        /* mean small bytes between two samples */
#define FILTER_SLOTS (1u << 15)    /* filter counters per table (bytes): L1-sized */
#define TABLE_MIN_SLOTS 4096u
#define TABLE_MAX_SLOTS (1u << 22) /* 64 MiB per table at most */

typedef struct mem_slot {
    uintptr_t key; /* block address; 0 = empty */
    uint64_t size; /* recorded size: bytes requested, or a sample's weight */
} mem_slot_t;

typedef struct mem_table {
    mem_slot_t *slots; /* owned; NULL when not profiling */
    size_t mask;       /* slot count - 1 */
    size_t count;      /* keys stored */
    unsigned shift;    /* 64 - log2(slot count), for the hash */
    uint8_t *filter;   /* owned, FILTER_SLOTS counters of keys per bucket;
                          255 sticks (never decremented) */
} mem_table_t;

static mem_table_t object_table;                           /* MEM + OBJ: the GIL */
static mem_table_t raw_table;                              /* RAW: raw_lock */
static pthread_mutex_t raw_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t untracked;                                 /* relaxed atomics */

/* Thread-local, initial-exec: no call to reach them from a hook. */
#define PG_TLS __thread __attribute__((tls_model("initial-exec")))
static PG_TLS int in_wrapper;         /* inside a MEM/OBJ/NumPy wrapper */
static PG_TLS int64_t sample_left;    /* small bytes until the next sample */
static PG_TLS uint64_t sample_random; /* xorshift state; 0 = unseeded */

static PyMemAllocatorEx previous[3]; /* by domain; valid once installed */
static int installed;                /* our wrappers are in place (GIL) */
static volatile int counting;        /* 1 while a session attributes memory */

/* Home slot of a block. Within a 1 MiB chunk of addresses, neighbouring
 * blocks get neighbouring slots (allocators hand out blocks in address
 * order, so a burst touches a few cache lines of the table); chunks are
 * scattered by a multiplicative hash of their number. */
static size_t slot_of(const mem_table_t *table, uintptr_t key)
{
    uint64_t chunk = ((uint64_t)key >> 20) * 0x9e3779b97f4a7c15ull;
    return (size_t)(((uint64_t)key >> 4) + (chunk >> table->shift)) & table->mask;
}

static size_t filter_of(uintptr_t key)
{
    return (size_t)(((uint64_t)key >> 4) * 0x9e3779b97f4a7c15ull >> 49) & (FILTER_SLOTS - 1);
}

static int table_init(mem_table_t *table, size_t slots)
{
    mem_slot_t *memory = calloc(slots, sizeof *memory);
    if (!memory)
        return PG_ERR_NOMEM;
    table->slots = memory;
    table->mask = slots - 1;
    table->count = 0;
    table->shift = 64u - (unsigned)__builtin_ctzll(slots);
    return PG_OK;
}

/* Empty the table for a session. The filter, once allocated, is kept for
 * the life of the process and only cleared: RAW wrappers read it without
 * the lock, so it must never be freed under them. */
static int table_start(mem_table_t *table)
{
    free(table->slots);
    table->slots = NULL;
    if (table->filter)
        memset(table->filter, 0, FILTER_SLOTS);
    else if (!(table->filter = calloc(FILTER_SLOTS, 1)))
        return PG_ERR_NOMEM;
    return table_init(table, TABLE_MIN_SLOTS);
}

/* End of a session: the slots go, the filter is cleared (see table_start). */
static void table_stop(mem_table_t *table)
{
    free(table->slots);
    table->slots = NULL;
    table->count = 0;
    if (table->filter)
        memset(table->filter, 0, FILTER_SLOTS);
}

/* Store without filter bookkeeping (the caller did it, or is rehashing). */
static void table_put(mem_table_t *table, uintptr_t key, uint64_t size)
{
    size_t at = slot_of(table, key);
    while (table->slots[at].key && table->slots[at].key != key)
        at = (at + 1) & table->mask;
    if (!table->slots[at].key)
        table->count++;
    table->slots[at].key = key;
    table->slots[at].size = size;
}

/* Double the table; 0 when it is at its cap or memory is short. */
static int table_grow(mem_table_t *table)
{
    size_t slots = table->mask + 1;
    if (slots >= TABLE_MAX_SLOTS)
        return 0;
    mem_table_t bigger = *table;
    if (table_init(&bigger, slots * 2) < 0)
        return 0;
    for (size_t i = 0; i < slots; i++)
        if (table->slots[i].key)
            table_put(&bigger, table->slots[i].key, table->slots[i].size);
    free(table->slots);
    *table = bigger;
    return 1;
}

/* Record a block; 0 when it could not be recorded. */
static int table_insert(mem_table_t *table, void *pointer, uint64_t size)
{
    if (!table->slots)
        return 0;
    if ((table->count + 1) * 2 > table->mask + 1 && !table_grow(table)) {
        __atomic_fetch_add(&untracked, 1, __ATOMIC_RELAXED);
        return 0;
    }
    uint8_t *counter = &table->filter[filter_of((uintptr_t)pointer)];
    uint8_t seen = __atomic_load_n(counter, __ATOMIC_RELAXED);
    if (seen < 255)
        __atomic_store_n(counter, (uint8_t)(seen + 1), __ATOMIC_RELAXED);
    table_put(table, (uintptr_t)pointer, size);
    return 1;
}

/* 0 when pointer is certainly not recorded (no lock needed). */
static int table_may_hold(const mem_table_t *table, const void *pointer)
{
    const uint8_t *filter = table->filter;
    return filter && __atomic_load_n(&filter[filter_of((uintptr_t)pointer)], __ATOMIC_RELAXED);
}

/* Forget a block: its recorded size, or 0 when it is not recorded.
 * Backward-shift deletion keeps every remaining key reachable. */
static uint64_t table_remove(mem_table_t *table, void *pointer)
{
    uintptr_t key = (uintptr_t)pointer;
    if (!table->slots || !key || !table_may_hold(table, pointer))
        return 0;
    size_t at = slot_of(table, key);
    while (table->slots[at].key != key) {
        if (!table->slots[at].key)
            return 0;
        at = (at + 1) & table->mask;
    }
    uint64_t size = table->slots[at].size;
    size_t hole = at;
    for (size_t next = (hole + 1) & table->mask; table->slots[next].key;
         next = (next + 1) & table->mask) {
        size_t home = slot_of(table, table->slots[next].key);
        /* move next into the hole unless its home lies in (hole, next] */
        if (((next - home) & table->mask) >= ((next - hole) & table->mask)) {
            table->slots[hole] = table->slots[next];
            hole = next;
        }
    }
    table->slots[hole].key = 0;
    table->count--;
    uint8_t *counter = &table->filter[filter_of(key)];
    uint8_t seen = __atomic_load_n(counter, __ATOMIC_RELAXED);
    if (seen < 255)
        __atomic_store_n(counter, (uint8_t)(seen - 1), __ATOMIC_RELAXED);
    return size;
}

/* The weight to record a block of size bytes with: its size when large,
 * SAMPLE_BYTES when it is a sampled small block, 0 when not sampled. */
static uint64_t record_weight(uint64_t size)
{
    if (size > SMALL_BLOCK)
        return size;
    if ((sample_left -= (int64_t)size) > 0)
        return 0;
    uint64_t x = sample_random ? sample_random : (uint64_t)(uintptr_t)&sample_random | 1;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    sample_random = x;
    /* next gap uniform in [S/2, 3S/2): mean S, no aliasing with loops */
    sample_left += (int64_t)(SAMPLE_BYTES / 2 + x % SAMPLE_BYTES);
    return SAMPLE_BYTES;
}

/* Charge to the calling thread: allocated bytes (exact), one more block
 * when new_block, freed bytes, and a live-level change of up - down
 * (recorded sizes and weights). Own thread only, no GIL needed. */
static void account(uint64_t allocated, int new_block, uint64_t freed, uint64_t up, uint64_t down)
{
    pg_thread_t *thread = pg_thread_current;
    uint32_t *mask;
    uint64_t *acc = pg_tracer_acc_target(thread, &mask);
    if (!acc)
        return;
    int64_t before = thread->mem_live;
    int64_t after = before + (int64_t)up - (int64_t)down;
    thread->mem_live = after;
    thread->mem_allocated += allocated;
    uint32_t bits = *mask;
    if (allocated) {
        uint32_t bit = 1u << PG_ACC_MEM_ALLOC_BYTES;
        acc[PG_ACC_MEM_ALLOC_BYTES] = (bits & bit ? acc[PG_ACC_MEM_ALLOC_BYTES] : 0) + allocated;
        bits |= bit;
    }
    if (new_block) {
        uint32_t bit = 1u << PG_ACC_MEM_ALLOC_COUNT;
        acc[PG_ACC_MEM_ALLOC_COUNT] = (bits & bit ? acc[PG_ACC_MEM_ALLOC_COUNT] : 0) + 1;
        bits |= bit;
    }
    if (freed) {
        uint32_t bit = 1u << PG_ACC_MEM_FREED_BYTES;
        acc[PG_ACC_MEM_FREED_BYTES] = (bits & bit ? acc[PG_ACC_MEM_FREED_BYTES] : 0) + freed;
        bits |= bit;
    }
    *mask = bits;
    if (up != down)
        pg_tracer_acc_level(thread, before, after);
}

/* Table values: a large block's size, or a sampled small block's weight
 * with SAMPLED set (its exact size is unknown). */
#define SAMPLED (1ull << 63)

/* What to record for a new block of size bytes (0: nothing). */
static uint64_t record_value(uint64_t size)
{
    uint64_t weight = record_weight(size);
    return !weight || size > SMALL_BLOCK ? weight : weight | SAMPLED;
}

/* Charge a block of size bytes recorded (or not, recorded == 0) as value,
 * replacing (realloc) the block recorded as old (0: none, or unknown). A
 * resize of a block of known size counts only its growth as allocated and
 * its shrinking as freed; otherwise the new block is a new allocation and
 * the old one, if recorded, is freed. */
static void charge_block(uint64_t size, uint64_t value, uint64_t old)
{
    uint64_t up = value & ~SAMPLED, down = old & ~SAMPLED;
    if (old && !(old & SAMPLED))
        account(size > old ? size - old : 0, 0, old > size ? old - size : 0, up, down);
    else
        account(size, 1, down, up, down);
}

/* A block of size bytes appeared at pointer (table: where to record it);
 * old: the table value of the block it replaces (realloc), or 0. */
static void on_alloc(mem_table_t *table, void *pointer, uint64_t size, uint64_t old)
{
    uint64_t value = record_value(size);
    if (value && !table_insert(table, pointer, value))
        value = 0;
    charge_block(size, value, old);
}

/* ---- MEM and OBJ domains: the GIL is held ---- */

static void *object_malloc(void *ctx, size_t size)
{
    PyMemAllocatorEx *wrapped = ctx;
    in_wrapper++;
    void *pointer = wrapped->malloc(wrapped->ctx, size);
    in_wrapper--;
    if (pointer && counting)
        on_alloc(&object_table, pointer, size, 0);
    return pointer;
}

static void *object_calloc(void *ctx, size_t count, size_t size)
{
    PyMemAllocatorEx *wrapped = ctx;
    in_wrapper++;
    void *pointer = wrapped->calloc(wrapped->ctx, count, size);
    in_wrapper--;
    if (pointer && counting)
        on_alloc(&object_table, pointer, (uint64_t)count * size, 0);
    return pointer;
}

/* A realloc: see charge_block (growth of a known block, else a new block). */
static void *object_realloc(void *ctx, void *old, size_t size)
{
    PyMemAllocatorEx *wrapped = ctx;
    uint64_t old_weight = counting ? table_remove(&object_table, old) : 0;
    in_wrapper++;
    void *pointer = wrapped->realloc(wrapped->ctx, old, size);
    in_wrapper--;
    if (!pointer) {
        if (old_weight) /* the old block lives on */
            table_insert(&object_table, old, old_weight);
        return NULL;
    }
    if (counting)
        on_alloc(&object_table, pointer, size, old_weight);
    return pointer;
}

static void object_free(void *ctx, void *pointer)
{
    PyMemAllocatorEx *wrapped = ctx;
    if (pointer && counting) {
        uint64_t weight = table_remove(&object_table, pointer) & ~SAMPLED;
        if (weight)
            account(0, 0, weight, 0, weight);
    }
    in_wrapper++;
    wrapped->free(wrapped->ctx, pointer);
    in_wrapper--;
}

/* ---- RAW domain: maybe without the GIL; no Python API here ---- */

static void raw_record(void *pointer, uint64_t size, uint64_t old)
{
    uint64_t value = record_value(size);
    if (value) {
        pthread_mutex_lock(&raw_lock);
        if (!table_insert(&raw_table, pointer, value))
            value = 0;
        pthread_mutex_unlock(&raw_lock);
    }
    charge_block(size, value, old);
}

static uint64_t raw_forget(void *pointer)
{
    if (!table_may_hold(&raw_table, pointer))
        return 0;
    pthread_mutex_lock(&raw_lock);
    uint64_t weight = table_remove(&raw_table, pointer);
    pthread_mutex_unlock(&raw_lock);
    return weight;
}

static void *raw_malloc(void *ctx, size_t size)
{
    PyMemAllocatorEx *wrapped = ctx;
    void *pointer = wrapped->malloc(wrapped->ctx, size);
    if (!pointer || in_wrapper || !counting)
        return pointer;
    in_wrapper++;
    raw_record(pointer, size, 0);
    in_wrapper--;
    return pointer;
}

static void *raw_calloc(void *ctx, size_t count, size_t size)
{
    PyMemAllocatorEx *wrapped = ctx;
    void *pointer = wrapped->calloc(wrapped->ctx, count, size);
    if (!pointer || in_wrapper || !counting)
        return pointer;
    in_wrapper++;
    raw_record(pointer, (uint64_t)count * size, 0);
    in_wrapper--;
    return pointer;
}

static void *raw_realloc(void *ctx, void *old, size_t size)
{
    PyMemAllocatorEx *wrapped = ctx;
    if (in_wrapper || !counting)
        return wrapped->realloc(wrapped->ctx, old, size);
    in_wrapper++;
    /* Forgotten before the call: once realloc returns, another thread may
     * be given old's address and record it. */
    uint64_t old_weight = old ? raw_forget(old) : 0;
    void *pointer = wrapped->realloc(wrapped->ctx, old, size);
    if (!pointer && old_weight) {
        pthread_mutex_lock(&raw_lock);
        table_insert(&raw_table, old, old_weight);
        pthread_mutex_unlock(&raw_lock);
    } else if (pointer) {
        raw_record(pointer, size, old_weight);
    }
    in_wrapper--;
    return pointer;
}

static void raw_free(void *ctx, void *pointer)
{
    PyMemAllocatorEx *wrapped = ctx;
    if (pointer && !in_wrapper && counting) {
        in_wrapper++;
        uint64_t weight = raw_forget(pointer) & ~SAMPLED;
        if (weight)
            account(0, 0, weight, 0, weight);
        in_wrapper--;
    }
    wrapped->free(wrapped->ctx, pointer);
}

/* ---- NumPy (NEP 49): its data-memory handler, by layout (no numpy
 * headers at build time). A handler is a "mem_handler" capsule around: */
typedef struct numpy_allocator {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t count, size_t size);
    void *(*realloc)(void *ctx, void *pointer, size_t size);
    void (*free)(void *ctx, void *pointer, size_t size);
} numpy_allocator_t;

typedef struct numpy_handler {
    char name[127];
    uint8_t version; /* 1 */
    numpy_allocator_t allocator;
} numpy_handler_t;

#define NUMPY_API_FEATURE_VERSION 211 /* PyArray_GetNDArrayCFeatureVersion */
#define NUMPY_API_GET_HANDLER 305     /* PyDataMem_GetHandler */
#define NUMPY_FEATURE_HANDLERS 0x0f   /* NumPy 1.22: handler API */

static numpy_handler_t *numpy_default; /* patched handler, NULL when none */
static numpy_allocator_t numpy_wrapped; /* its functions before the patch */

/* NumPy may allocate without the GIL: these touch only the calling
 * thread's frames. NumPy passes sizes to free, so no table is needed;
 * a realloc (rare for array data) counts its new size as a new block. */
static void *numpy_malloc(void *ctx, size_t size)
{
    in_wrapper++;
    void *pointer = numpy_wrapped.malloc(ctx, size);
    in_wrapper--;
    if (pointer && counting)
        account(size, 1, 0, size, 0);
    return pointer;
}

static void *numpy_calloc(void *ctx, size_t count, size_t size)
{
    in_wrapper++;
    void *pointer = numpy_wrapped.calloc(ctx, count, size);
    in_wrapper--;
    if (pointer && counting)
        account((uint64_t)count * size, 1, 0, (uint64_t)count * size, 0);
    return pointer;
}

static void *numpy_realloc(void *ctx, void *old, size_t size)
{
    in_wrapper++;
    void *pointer = numpy_wrapped.realloc(ctx, old, size);
    in_wrapper--;
    if (pointer && counting)
        account(size, 1, 0, size, 0);
    return pointer;
}

static void numpy_free(void *ctx, void *pointer, size_t size)
{
    if (pointer && counting)
        account(0, 0, size, 0, size);
    in_wrapper++;
    numpy_wrapped.free(ctx, pointer, size);
    in_wrapper--;
}

/* 1 when [address, address + size) lies in one writable mapping. */
static int writable(const void *address, size_t size)
{
    FILE *maps = fopen("/proc/self/maps", "re");
    if (!maps)
        return 0;
    uintptr_t start = (uintptr_t)address, end = start + size;
    unsigned long low, high;
    char perms[8];
    int found = 0;
    char line[512];
    while (!found && fgets(line, sizeof line, maps))
        if (sscanf(line, "%lx-%lx %7s", &low, &high, perms) == 3 && low <= start &&
            end <= high)
            found = perms[1] == 'w' ? 1 : -1;
    fclose(maps);
    return found == 1;
}

/* NumPy keeps the current handler in a context variable, so a handler set
 * with PyDataMem_SetHandler would not reach threads (each starts in a
 * fresh context). The default handler (the variable's default, used by
 * every context that set none) is wrapped in place instead: its functions
 * are replaced by wrappers that call them. Contexts with a handler of
 * their own are not seen. */
int pg_memory_hook_numpy(void **api)
{
    if (!counting)
        return 0;
    unsigned (*feature_version)(void) = (unsigned (*)(void))api[NUMPY_API_FEATURE_VERSION];
    if (feature_version() < NUMPY_FEATURE_HANDLERS)
        return 0;
    PyObject *(*get_handler)(void) = (PyObject * (*)(void)) api[NUMPY_API_GET_HANDLER];
    PyObject *context = PyContext_New();
    if (!context || PyContext_Enter(context) < 0) {
        Py_XDECREF(context);
        PyErr_Clear();
        return 0;
    }
    PyObject *handler = get_handler();
    PyContext_Exit(context);
    Py_DECREF(context);
    numpy_handler_t *found = NULL;
    if (handler && PyCapsule_IsValid(handler, "mem_handler"))
        found = PyCapsule_GetPointer(handler, "mem_handler");
    Py_XDECREF(handler); /* numpy keeps the default handler alive */
    PyErr_Clear();
    if (!found || found->version != 1 || !found->allocator.malloc || !found->allocator.free)
        return 0;
    if (found == numpy_default)
        return 1;
    if (numpy_default || !writable(&found->allocator, sizeof found->allocator))
        return 0;
    numpy_wrapped = found->allocator;
    numpy_default = found;
    __atomic_store_n(&found->allocator.calloc, numpy_calloc, __ATOMIC_RELEASE);
    __atomic_store_n(&found->allocator.realloc, numpy_realloc, __ATOMIC_RELEASE);
    __atomic_store_n(&found->allocator.free, numpy_free, __ATOMIC_RELEASE);
    __atomic_store_n(&found->allocator.malloc, numpy_malloc, __ATOMIC_RELEASE);
    return 1;
}

/* ---- session control (GIL) ---- */

static PyMemAllocatorEx wrappers[3] = {
    [PYMEM_DOMAIN_RAW] = {NULL, raw_malloc, raw_calloc, raw_realloc, raw_free},
    [PYMEM_DOMAIN_MEM] = {NULL, object_malloc, object_calloc, object_realloc, object_free},
    [PYMEM_DOMAIN_OBJ] = {NULL, object_malloc, object_calloc, object_realloc, object_free},
};

int pg_memory_start(void)
{
    int rc = pg_tracer_acc_enable(1u << PG_ACC_MEM_ALLOC_BYTES | 1u << PG_ACC_MEM_ALLOC_COUNT |
                                  1u << PG_ACC_MEM_FREED_BYTES | 1u << PG_ACC_MEM_PEAK);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&raw_lock);
    rc = table_start(&raw_table);
    pthread_mutex_unlock(&raw_lock);
    if (rc < 0 || (rc = table_start(&object_table)) < 0)
        return rc;
    untracked = 0;
    if (!installed) {
        /* Each wrapper's ctx is the allocator it wraps. */
        for (int domain = 0; domain < 3; domain++) {
            PyMem_GetAllocator((PyMemAllocatorDomain)domain, &previous[domain]);
            wrappers[domain].ctx = &previous[domain];
        }
        for (int domain = 0; domain < 3; domain++)
            PyMem_SetAllocator((PyMemAllocatorDomain)domain, &wrappers[domain]);
        installed = 1;
    }
    counting = 1;
    return PG_OK;
}

void pg_memory_stop(void)
{
    counting = 0;
    if (installed) {
        int ours = 1;
        for (int domain = 0; domain < 3; domain++) {
            PyMemAllocatorEx current;
            PyMem_GetAllocator((PyMemAllocatorDomain)domain, &current);
            ours = ours && current.malloc == wrappers[domain].malloc &&
                   current.ctx == wrappers[domain].ctx;
        }
        /* Someone wrapped us since: unhooking would drop them too, so the
         * wrappers stay and pass everything through. */
        if (ours) {
            for (int domain = 0; domain < 3; domain++)
                PyMem_SetAllocator((PyMemAllocatorDomain)domain, &previous[domain]);
            installed = 0;
        }
    }
    if (numpy_default && numpy_default->allocator.malloc == numpy_malloc) {
        /* back to NumPy's own functions (blocks need nothing from us) */
        __atomic_store_n(&numpy_default->allocator.malloc, numpy_wrapped.malloc, __ATOMIC_RELEASE);
        __atomic_store_n(&numpy_default->allocator.calloc, numpy_wrapped.calloc, __ATOMIC_RELEASE);
        __atomic_store_n(&numpy_default->allocator.realloc, numpy_wrapped.realloc,
                         __ATOMIC_RELEASE);
        __atomic_store_n(&numpy_default->allocator.free, numpy_wrapped.free, __ATOMIC_RELEASE);
        numpy_default = NULL;
    }
    /* A wrapper still running (RAW in another thread, under raw_lock) sees
     * an empty table and records nothing. */
    table_stop(&object_table);
    pthread_mutex_lock(&raw_lock);
    table_stop(&raw_table);
    pthread_mutex_unlock(&raw_lock);
}

uint64_t pg_memory_thread_allocated(void)
{
    pg_thread_t *thread = pg_thread_current;
    return thread ? thread->mem_allocated : 0;
}

int pg_memory_counting(void)
{
    return counting;
}

uint64_t pg_memory_untracked(void)
{
    return __atomic_load_n(&untracked, __ATOMIC_RELAXED);
}

uint64_t pg_memory_overhead(void)
{
    uint64_t bytes = object_table.slots ? (object_table.mask + 1) * sizeof(mem_slot_t) +
                                              FILTER_SLOTS : 0;
    pthread_mutex_lock(&raw_lock);
    bytes += raw_table.slots ? (raw_table.mask + 1) * sizeof(mem_slot_t) + FILTER_SLOTS : 0;
    pthread_mutex_unlock(&raw_lock);
    return bytes;
}
