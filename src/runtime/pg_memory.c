/* Memory attribution (see pg_memory.h).
 *
 * Sizes of frees: a free passes only the pointer, so every block allocated
 * while profiling is recorded in an open-addressing table pointer -> size
 * (linear probing, deletion by backward shift, so no tombstones; grown at
 * half load). Two tables: one for the MEM and OBJ domains, protected by the
 * GIL, so the common path takes no lock; one for RAW, whose callers may not
 * hold the GIL, protected by raw_lock. Each table is capped at
 * TABLE_MAX_SLOTS (16 bytes a slot): past that, new blocks are passed on
 * unrecorded and counted in "untracked", so the profiler's memory stays
 * bounded whatever the number of live objects. NumPy passes the size to its
 * free, so its blocks need no table.
 *
 * Double counting: pymalloc serves large requests of the MEM/OBJ domains
 * from RAW. The MEM/OBJ wrappers set the thread-local in_wrapper while the
 * wrapped allocator runs, and the RAW wrapper then passes the request on
 * without counting it. The same flag is the RAW wrapper's reentrancy guard.
 *
 * Per thread: pg_thread_t.mem_live (allocated minus freed while profiled)
 * drives peak-during through pg_tracer_acc_level.
 */
#include "pg_memory.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_error.h"
#include "pg_tracer.h"

#define TABLE_MIN_SLOTS 4096u
#define TABLE_MAX_SLOTS (1u << 22) /* 64 MiB per table at most */

typedef struct mem_slot {
    uintptr_t key; /* block address; 0 = empty */
    uint64_t size; /* bytes requested */
} mem_slot_t;

typedef struct mem_table {
    mem_slot_t *slots; /* owned; NULL when not profiling */
    size_t mask;       /* slot count - 1 */
    size_t count;      /* keys stored */
    unsigned shift;    /* 64 - log2(slot count), for the hash */
} mem_table_t;

static mem_table_t object_table;                           /* MEM + OBJ: the GIL */
static mem_table_t raw_table;                              /* RAW: raw_lock */
static pthread_mutex_t raw_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t untracked;                                 /* relaxed atomics */

static __thread int in_wrapper __attribute__((tls_model("initial-exec")));

static PyMemAllocatorEx previous[3]; /* by domain; valid once installed */
static int installed;                /* our wrappers are in place (GIL) */
static volatile int counting;        /* 1 while a session attributes memory */

static size_t slot_of(const mem_table_t *table, uintptr_t key)
{
    return (size_t)(((uint64_t)key * 0x9e3779b97f4a7c15ull) >> table->shift);
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

static void table_release(mem_table_t *table)
{
    free(table->slots);
    memset(table, 0, sizeof *table);
}

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
    mem_table_t bigger;
    if (table_init(&bigger, slots * 2) < 0)
        return 0;
    for (size_t i = 0; i < slots; i++)
        if (table->slots[i].key)
            table_put(&bigger, table->slots[i].key, table->slots[i].size);
    free(table->slots);
    *table = bigger;
    return 1;
}

/* Record a block; returns 0 when it could not be recorded. */
static int table_insert(mem_table_t *table, void *pointer, uint64_t size)
{
    if (!table->slots)
        return 0;
    if ((table->count + 1) * 2 > table->mask + 1 && !table_grow(table)) {
        __atomic_fetch_add(&untracked, 1, __ATOMIC_RELAXED);
        return 0;
    }
    table_put(table, (uintptr_t)pointer, size);
    return 1;
}

/* Forget a block: its size, or 0 when unknown. Backward-shift deletion
 * keeps every remaining key reachable from its home slot. */
static uint64_t table_remove(mem_table_t *table, void *pointer)
{
    uintptr_t key = (uintptr_t)pointer;
    if (!table->slots || !key)
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
    return size;
}

/* Charge an allocation of alloc bytes and a free of freed bytes (one of
 * them usually 0) to the calling thread. Own thread only; no GIL needed. */
static void account(uint64_t alloc, uint64_t freed, int new_block)
{
    pg_thread_t *thread = pg_thread_current;
    uint32_t *mask;
    uint64_t *acc = pg_tracer_acc_target(thread, &mask);
    if (!acc)
        return;
    int64_t before = thread->mem_live;
    int64_t after = before + (int64_t)alloc - (int64_t)freed;
    thread->mem_live = after;
    thread->mem_allocated += alloc;
    uint32_t bits = *mask;
    if (alloc) {
        uint32_t bit = 1u << PG_ACC_MEM_ALLOC_BYTES;
        acc[PG_ACC_MEM_ALLOC_BYTES] = (bits & bit ? acc[PG_ACC_MEM_ALLOC_BYTES] : 0) + alloc;
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
    pg_tracer_acc_level(thread, before, after);
}

/* A block of size bytes appeared at pointer (table: where to record it). */
static void on_alloc(mem_table_t *table, void *pointer, uint64_t size)
{
    if (table_insert(table, pointer, size))
        account(size, 0, 1);
}

/* A block recorded at old_size bytes (0: unknown, so a new block) now
 * holds size bytes; recorded: whether the new size is in the table. */
static void on_resize(int recorded, uint64_t old_size, uint64_t size)
{
    if (!recorded) /* its free will not be seen: settle the old block */
        account(0, old_size, 0);
    else if (!old_size)
        account(size, 0, 1);
    else if (size >= old_size)
        account(size - old_size, 0, 0);
    else
        account(0, old_size - size, 0);
}

/* ---- MEM and OBJ domains: the GIL is held ---- */

static void *object_malloc(void *ctx, size_t size)
{
    PyMemAllocatorEx *wrapped = ctx;
    in_wrapper++;
    void *pointer = wrapped->malloc(wrapped->ctx, size);
    in_wrapper--;
    if (pointer && counting)
        on_alloc(&object_table, pointer, size);
    return pointer;
}

static void *object_calloc(void *ctx, size_t count, size_t size)
{
    PyMemAllocatorEx *wrapped = ctx;
    in_wrapper++;
    void *pointer = wrapped->calloc(wrapped->ctx, count, size);
    in_wrapper--;
    if (pointer && counting)
        on_alloc(&object_table, pointer, (uint64_t)count * size);
    return pointer;
}

static void *object_realloc(void *ctx, void *old, size_t size)
{
    PyMemAllocatorEx *wrapped = ctx;
    uint64_t old_size = counting ? table_remove(&object_table, old) : 0;
    in_wrapper++;
    void *pointer = wrapped->realloc(wrapped->ctx, old, size);
    in_wrapper--;
    if (!pointer) {
        if (old_size) /* the old block lives on */
            table_put(&object_table, (uintptr_t)old, old_size);
        return NULL;
    }
    if (counting)
        on_resize(table_insert(&object_table, pointer, size), old_size, size);
    return pointer;
}

static void object_free(void *ctx, void *pointer)
{
    PyMemAllocatorEx *wrapped = ctx;
    if (pointer && counting) {
        uint64_t size = table_remove(&object_table, pointer);
        if (size)
            account(0, size, 0);
    }
    in_wrapper++;
    wrapped->free(wrapped->ctx, pointer);
    in_wrapper--;
}

/* ---- RAW domain: maybe without the GIL; no Python API here ---- */

static void *raw_malloc(void *ctx, size_t size)
{
    PyMemAllocatorEx *wrapped = ctx;
    void *pointer = wrapped->malloc(wrapped->ctx, size);
    if (!pointer || in_wrapper || !counting)
        return pointer;
    in_wrapper++;
    pthread_mutex_lock(&raw_lock);
    int recorded = table_insert(&raw_table, pointer, size);
    pthread_mutex_unlock(&raw_lock);
    if (recorded)
        account(size, 0, 1);
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
    pthread_mutex_lock(&raw_lock);
    int recorded = table_insert(&raw_table, pointer, (uint64_t)count * size);
    pthread_mutex_unlock(&raw_lock);
    if (recorded)
        account((uint64_t)count * size, 0, 1);
    in_wrapper--;
    return pointer;
}

static void *raw_realloc(void *ctx, void *old, size_t size)
{
    PyMemAllocatorEx *wrapped = ctx;
    if (in_wrapper || !counting)
        return wrapped->realloc(wrapped->ctx, old, size);
    in_wrapper++;
    /* The lock is held across the call so that no other thread can be
     * given old's address (freed by realloc) and record it first. */
    pthread_mutex_lock(&raw_lock);
    uint64_t old_size = table_remove(&raw_table, old);
    void *pointer = wrapped->realloc(wrapped->ctx, old, size);
    int recorded = 0;
    if (!pointer && old_size)
        table_put(&raw_table, (uintptr_t)old, old_size);
    else if (pointer)
        recorded = table_insert(&raw_table, pointer, size);
    pthread_mutex_unlock(&raw_lock);
    if (pointer)
        on_resize(recorded, old_size, size);
    in_wrapper--;
    return pointer;
}

static void raw_free(void *ctx, void *pointer)
{
    PyMemAllocatorEx *wrapped = ctx;
    if (pointer && !in_wrapper && counting) {
        in_wrapper++;
        pthread_mutex_lock(&raw_lock);
        uint64_t size = table_remove(&raw_table, pointer);
        pthread_mutex_unlock(&raw_lock);
        if (size)
            account(0, size, 0);
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
        account(size, 0, 1);
    return pointer;
}

static void *numpy_calloc(void *ctx, size_t count, size_t size)
{
    in_wrapper++;
    void *pointer = numpy_wrapped.calloc(ctx, count, size);
    in_wrapper--;
    if (pointer && counting)
        account((uint64_t)count * size, 0, 1);
    return pointer;
}

static void *numpy_realloc(void *ctx, void *old, size_t size)
{
    in_wrapper++;
    void *pointer = numpy_wrapped.realloc(ctx, old, size);
    in_wrapper--;
    if (pointer && counting)
        account(size, 0, 1);
    return pointer;
}

static void numpy_free(void *ctx, void *pointer, size_t size)
{
    if (pointer && counting)
        account(0, size, 0);
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
    table_release(&raw_table);
    rc = table_init(&raw_table, TABLE_MIN_SLOTS);
    pthread_mutex_unlock(&raw_lock);
    table_release(&object_table);
    if (rc < 0 || (rc = table_init(&object_table, TABLE_MIN_SLOTS)) < 0)
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
    table_release(&object_table);
    pthread_mutex_lock(&raw_lock);
    table_release(&raw_table);
    pthread_mutex_unlock(&raw_lock);
}

uint64_t pg_memory_thread_allocated(void)
{
    pg_thread_t *thread = pg_thread_current;
    return thread ? thread->mem_allocated : 0;
}

uint64_t pg_memory_untracked(void)
{
    return __atomic_load_n(&untracked, __ATOMIC_RELAXED);
}

uint64_t pg_memory_overhead(void)
{
    uint64_t bytes = object_table.slots ? (object_table.mask + 1) * sizeof(mem_slot_t) : 0;
    pthread_mutex_lock(&raw_lock);
    bytes += raw_table.slots ? (raw_table.mask + 1) * sizeof(mem_slot_t) : 0;
    pthread_mutex_unlock(&raw_lock);
    return bytes;
}
