/* The profile-reader fuzz target's entry point, shared by the libFuzzer
 * build (clang) and the replay/mutation driver (replay_main.c, any
 * compiler). */
#ifndef PG_FUZZ_READER_H
#define PG_FUZZ_READER_H

#include <stddef.h>
#include <stdint.h>

/* Read data as a profile file, twice: as given (the CRCs reject most
 * mutations) and with every section CRC recomputed (so the mutation
 * reaches the payload parsers). Aborts on any broken property. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs accepted as valid profiles so far (either reading); the replay
 * driver keeps such inputs as new seeds. */
extern uint64_t pg_fuzz_accepted;

#endif
