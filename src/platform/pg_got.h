/* Redirect calls to C library functions made by the loaded ELF objects of
 * this process, by rewriting their GOT slots (the PLT/GOT relocations the
 * dynamic linker filled in), and put everything back later.
 *
 * Used by the I/O attribution (src/runtime/pg_io.c) to interpose read,
 * write, send, recv and friends in the interpreter and its extension
 * modules without LD_PRELOAD and without touching the C library itself.
 *
 * What is patched: every object of dl_iterate_phdr except the C library,
 * the dynamic linker, the vDSO, the sanitizer runtimes and the object that
 * contains `exclude` (the caller's own module, so its own I/O, such as
 * writing the profile file, is never counted). Only relocations of type
 * JUMP_SLOT and GLOB_DAT naming a hooked symbol are rewritten, and only when
 * the slot holds the C library's function or the object's own lazy-binding
 * stub; a slot that points elsewhere (another tool's hook) is left alone and
 * counted as foreign. Read-only (RELRO) slots are made writable for the
 * store and read-only again.
 *
 * Objects loaded later: "dlopen" is hooked too; after a successful dlopen
 * the new objects are scanned (pg_got_rescan), so `import socket` after
 * pg_got_install is covered. The dlopen wrapper becomes dlopen's caller,
 * which only matters for "$ORIGIN" inside a dlopen argument and for the
 * caller's RPATH when dlopen is given a bare library name.
 *
 * Restore puts back the value each slot had before (a lazy stub is fine:
 * it resolves again), but only where the slot still holds our replacement.
 * A thread already inside a replacement when restore runs finishes its call
 * normally: replacements and the function pointers they call stay valid for
 * the life of the process.
 *
 * Threading: install, rescan, restore and stats serialise on one internal
 * mutex (taken before the dynamic linker's lock, never after). Slot stores
 * are single aligned pointer stores, atomic for threads calling through
 * them. A thread resolving a lazy slot at the very moment it is patched can
 * overwrite the patch (that slot then goes uncounted, nothing breaks).
 *
 * Linux with glibc-style dl_iterate_phdr, x86-64 and AArch64; elsewhere
 * install returns PG_ERR_ARG and nothing is touched. No Python, no signals.
 */
#ifndef PG_GOT_H
#define PG_GOT_H

#include <stddef.h>
#include <stdint.h>

typedef struct pg_got_hook {
    const char *symbol; /* C library entry point, e.g. "read"; borrowed, static */
    void *replacement;  /* function with the same signature */
    void **real;        /* filled by install with the function the replacement
                           must call: the symbol as the default lookup finds it */
} pg_got_hook_t;

typedef struct pg_got_stats {
    uint64_t objects;  /* objects whose relocations were read, last scan */
    uint64_t slots;    /* slots holding a replacement now */
    uint64_t foreign;  /* matching slots left alone: they held another address */
    uint64_t failures; /* slots that could not be made writable */
    uint64_t rescans;  /* rescans run since install (dlopen and explicit) */
} pg_got_stats_t;

/* Resolve every hook's real function, then patch all loaded objects.
 * hooks must stay valid until pg_got_restore. Returns 0, PG_ERR_ARG (already
 * installed, unsupported platform, or a symbol the C library lacks: nothing
 * patched) or PG_ERR_NOMEM. */
int pg_got_install(const pg_got_hook_t *hooks, size_t count, const void *exclude);
/* Patch objects loaded since the last scan. No-op when not installed. */
int pg_got_rescan(void);
/* Put every patched slot back. No-op when not installed. */
void pg_got_restore(void);
int pg_got_installed(void);
void pg_got_stats_get(pg_got_stats_t *out);

#endif
