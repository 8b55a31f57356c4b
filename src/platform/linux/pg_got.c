/* Linux implementation of pg_got.h: walks the dynamic sections of the loaded
 * objects (dl_iterate_phdr) and rewrites the GOT slots of hooked symbols. */
#define _GNU_SOURCE
#include "pg_got.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pg_error.h"

#if defined(__x86_64__)
#define GOT_SUPPORTED 1
#define GOT_JUMP_SLOT R_X86_64_JUMP_SLOT
#define GOT_GLOB_DAT R_X86_64_GLOB_DAT
#elif defined(__aarch64__)
#define GOT_SUPPORTED 1
#define GOT_JUMP_SLOT R_AARCH64_JUMP_SLOT
#define GOT_GLOB_DAT R_AARCH64_GLOB_DAT
#else
#define GOT_SUPPORTED 0
#endif

enum { MAX_HOOKS = 32 };

/* One slot we rewrote: where it is and what it held before. */
typedef struct got_record {
    void **slot;
    void *original;
} got_record_t;

/* Everything below is protected by got_lock. */
static pthread_mutex_t got_lock = PTHREAD_MUTEX_INITIALIZER;
static int got_installed;
static pg_got_hook_t got_hooks[MAX_HOOKS]; /* the caller's hooks + dlopen */
static size_t got_hook_count;
static const void *got_exclude;       /* address inside the excluded object */
static got_record_t *got_records;     /* owned */
static size_t got_record_count, got_record_capacity;
static unsigned long long got_adds;   /* dlpi_adds at the last scan */
static pg_got_stats_t got_stats;
static int got_restoring;             /* scan mode: 0 patch, 1 restore */

/* The real dlopen, set once at the first install, never cleared. */
static void *(*real_dlopen)(const char *, int);

/* dlopen replacement: after a successful load, patch the new objects. */
static void *got_dlopen(const char *file, int flags)
{
    void *handle = real_dlopen(file, flags);
    if (handle) {
        int saved = errno;
        (void)pg_got_rescan();
        errno = saved;
    }
    return handle;
}

/* What one loaded object looks like to us. */
typedef struct object_view {
    uintptr_t base;
    const ElfW(Sym) *symtab;
    const char *strtab;
    const ElfW(Rela) *rela[2]; /* DT_JMPREL (when RELA) and DT_RELA */
    size_t rela_count[2];
    uintptr_t low, high;             /* span of the PT_LOAD segments */
    uintptr_t relro_low, relro_high; /* pages the loader made read-only */
} object_view_t;

static int name_skipped(const char *path)
{
    static const char *const prefixes[] = {
        "libc.so", "ld-linux", "ld64.so", "ld-musl", "linux-vdso", "linux-gate",
        "libasan", "libubsan", "libtsan", "liblsan", "libhwasan", "libdl.so", "libpthread.so",
    };
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(base, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return 0;
}

/* Dynamic-section pointers are absolute once glibc has relocated them, but
 * offsets on loaders that leave the section alone. */
static uintptr_t dyn_address(uintptr_t base, ElfW(Addr) value)
{
    return value < base ? base + value : value;
}

static void view_segments(const struct dl_phdr_info *info, object_view_t *view,
                          const ElfW(Dyn) **dynamic)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    view->low = UINTPTR_MAX;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = view->base + ph->p_vaddr;
        if (ph->p_type == PT_DYNAMIC) {
            *dynamic = (const ElfW(Dyn) *)start;
        } else if (ph->p_type == PT_LOAD) {
            if (start < view->low)
                view->low = start;
            if (start + ph->p_memsz > view->high)
                view->high = start + ph->p_memsz;
        } else if (ph->p_type == PT_GNU_RELRO) {
            /* the loader protects whole pages: start and end rounded down */
            view->relro_low = start & ~(page - 1);
            view->relro_high = (start + ph->p_memsz) & ~(page - 1);
        }
    }
}

/* Fill view; 0 when the object has nothing we can patch. */
static int view_init(const struct dl_phdr_info *info, object_view_t *view)
{
    const ElfW(Dyn) *dynamic = NULL;
    memset(view, 0, sizeof *view);
    view->base = info->dlpi_addr;
    view_segments(info, view, &dynamic);
    if (!dynamic || view->low >= view->high)
        return 0;
    ElfW(Addr) jmprel = 0, rela = 0;
    size_t jmprel_size = 0, rela_size = 0;
    int plt_is_rela = 0;
    for (const ElfW(Dyn) *d = dynamic; d->d_tag != DT_NULL; d++) {
        switch (d->d_tag) {
        case DT_SYMTAB: view->symtab = (const ElfW(Sym) *)dyn_address(view->base, d->d_un.d_ptr); break;
        case DT_STRTAB: view->strtab = (const char *)dyn_address(view->base, d->d_un.d_ptr); break;
        case DT_JMPREL: jmprel = d->d_un.d_ptr; break;
        case DT_PLTRELSZ: jmprel_size = d->d_un.d_val; break;
        case DT_PLTREL: plt_is_rela = d->d_un.d_val == DT_RELA; break;
        case DT_RELA: rela = d->d_un.d_ptr; break;
        case DT_RELASZ: rela_size = d->d_un.d_val; break;
        default: break;
        }
    }
    if (!view->symtab || !view->strtab)
        return 0;
    if (jmprel && plt_is_rela) {
        view->rela[0] = (const ElfW(Rela) *)dyn_address(view->base, jmprel);
        view->rela_count[0] = jmprel_size / sizeof(ElfW(Rela));
    }
    if (rela) {
        view->rela[1] = (const ElfW(Rela) *)dyn_address(view->base, rela);
        view->rela_count[1] = rela_size / sizeof(ElfW(Rela));
    }
    return 1;
}

static int slot_store(const object_view_t *view, void **slot, void *value)
{
    uintptr_t address = (uintptr_t)slot;
    if (address >= view->relro_low && address < view->relro_high) {
        uintptr_t page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
        void *page = (void *)(address & ~(page_size - 1));
        if (mprotect(page, page_size, PROT_READ | PROT_WRITE) != 0)
            return -1;
        __atomic_store_n(slot, value, __ATOMIC_SEQ_CST);
        mprotect(page, page_size, PROT_READ);
        return 0;
    }
    __atomic_store_n(slot, value, __ATOMIC_SEQ_CST);
    return 0;
}

static const pg_got_hook_t *hook_find(const char *name)
{
    for (size_t i = 0; i < got_hook_count; i++)
        if (name[0] == got_hooks[i].symbol[0] && strcmp(name, got_hooks[i].symbol) == 0)
            return &got_hooks[i];
    return NULL;
}

static got_record_t *record_find(void **slot)
{
    for (size_t i = 0; i < got_record_count; i++)
        if (got_records[i].slot == slot)
            return &got_records[i];
    return NULL;
}

static int record_add(void **slot, void *original)
{
    got_record_t *record = record_find(slot);
    if (!record) {
        if (got_record_count == got_record_capacity) {
            size_t capacity = got_record_capacity ? got_record_capacity * 2 : 64;
            got_record_t *grown = realloc(got_records, capacity * sizeof *grown);
            if (!grown)
                return -1;
            got_records = grown;
            got_record_capacity = capacity;
        }
        record = &got_records[got_record_count++];
        record->slot = slot;
    }
    record->original = original;
    return 0;
}

/* Patch (or, when restoring, put back) one slot of a hooked symbol. */
static void slot_visit(const object_view_t *view, const pg_got_hook_t *hook, void **slot)
{
    void *value = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (got_restoring) {
        if (value != hook->replacement)
            return;
        got_record_t *record = record_find(slot);
        if (slot_store(view, slot, record ? record->original : *hook->real) != 0)
            got_stats.failures++;
        return;
    }
    if (value == hook->replacement) {
        got_stats.slots++;
        return;
    }
    /* the real function, or this object's own lazy-binding stub */
    int lazy_stub = (uintptr_t)value >= view->low && (uintptr_t)value < view->high;
    if (value != *hook->real && !lazy_stub) {
        got_stats.foreign++;
        return;
    }
    if (record_add(slot, value) != 0 || slot_store(view, slot, hook->replacement) != 0) {
        got_stats.failures++;
        return;
    }
    got_stats.slots++;
}

static void object_visit(const object_view_t *view)
{
    for (int table = 0; table < 2; table++) {
        for (size_t i = 0; i < view->rela_count[table]; i++) {
            const ElfW(Rela) *r = &view->rela[table][i];
            unsigned long type = ELF64_R_TYPE(r->r_info);
            if (type != GOT_JUMP_SLOT && type != GOT_GLOB_DAT)
                continue;
            const ElfW(Sym) *sym = &view->symtab[ELF64_R_SYM(r->r_info)];
            /* only imports: an object's own definition is never redirected */
            if (sym->st_shndx != SHN_UNDEF || sym->st_name == 0)
                continue;
            const pg_got_hook_t *hook = hook_find(view->strtab + sym->st_name);
            if (hook)
                slot_visit(view, hook, (void **)(view->base + r->r_offset));
        }
    }
}

static int phdr_callback(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size, (void)data;
    got_adds = info->dlpi_adds;
    object_view_t view;
    if (name_skipped(info->dlpi_name ? info->dlpi_name : "") || !view_init(info, &view))
        return 0;
    if ((uintptr_t)got_exclude >= view.low && (uintptr_t)got_exclude < view.high)
        return 0;
    got_stats.objects++;
    object_visit(&view);
    return 0;
}

/* got_lock held. */
static void scan(int restoring)
{
    got_restoring = restoring;
    got_stats.objects = got_stats.slots = got_stats.foreign = 0;
    dl_iterate_phdr(phdr_callback, NULL);
}

static int adds_callback(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    *(unsigned long long *)data = info->dlpi_adds;
    return 1; /* the counter is process-wide: the first object is enough */
}

/* Objects ever loaded: unchanged means nothing new to scan. */
static unsigned long long adds_now(void)
{
    unsigned long long adds = 0;
    dl_iterate_phdr(adds_callback, &adds);
    return adds;
}

int pg_got_install(const pg_got_hook_t *hooks, size_t count, const void *exclude)
{
    void *reals[MAX_HOOKS];
    if (!GOT_SUPPORTED || count + 1 > MAX_HOOKS)
        return PG_ERR_ARG;
    /* dlsym before got_lock: it takes the loader's lock, which a thread in
     * dlopen holds while a constructor may call our dlopen wrapper (which
     * takes got_lock): got_lock is never held while waiting for it. */
    for (size_t i = 0; i < count; i++)
        if (!(reals[i] = dlsym(RTLD_DEFAULT, hooks[i].symbol)))
            return PG_ERR_ARG;
    void *dlopen_function = dlsym(RTLD_DEFAULT, "dlopen");
    pthread_mutex_lock(&got_lock);
    if (got_installed) {
        pthread_mutex_unlock(&got_lock);
        return PG_ERR_ARG;
    }
    for (size_t i = 0; i < count; i++) {
        *hooks[i].real = reals[i];
        got_hooks[i] = hooks[i];
    }
    if (!real_dlopen)
        real_dlopen = (void *(*)(const char *, int))dlopen_function;
    got_hooks[count] = (pg_got_hook_t){"dlopen", (void *)got_dlopen, (void **)&real_dlopen};
    got_hook_count = real_dlopen ? count + 1 : count;
    got_exclude = exclude;
    memset(&got_stats, 0, sizeof got_stats);
    got_installed = 1;
    scan(0);
    pthread_mutex_unlock(&got_lock);
    return PG_OK;
}

int pg_got_rescan(void)
{
    pthread_mutex_lock(&got_lock);
    if (got_installed && adds_now() != got_adds) {
        got_stats.rescans++;
        scan(0);
    }
    pthread_mutex_unlock(&got_lock);
    return PG_OK;
}

void pg_got_restore(void)
{
    pthread_mutex_lock(&got_lock);
    if (got_installed) {
        scan(1);
        free(got_records);
        got_records = NULL;
        got_record_count = got_record_capacity = 0;
        got_stats.slots = 0;
        got_installed = 0;
    }
    pthread_mutex_unlock(&got_lock);
}

int pg_got_installed(void)
{
    pthread_mutex_lock(&got_lock);
    int installed = got_installed;
    pthread_mutex_unlock(&got_lock);
    return installed;
}

void pg_got_stats_get(pg_got_stats_t *out)
{
    pthread_mutex_lock(&got_lock);
    *out = got_stats;
    pthread_mutex_unlock(&got_lock);
}
