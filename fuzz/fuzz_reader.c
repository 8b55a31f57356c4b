/* Fuzz target for the profile file reader (src/engine/pg_format.c).
 *
 * Properties checked on every input, besides "no crash, no leak, no
 * undefined behaviour, no read out of bounds" (the sanitizers' job):
 * - the reader returns OK or one of the documented format errors, never
 *   PG_ERR_NOMEM: memory is proportional to the input, and fuzz inputs
 *   are small (a hostile count that slipped through would show up here or
 *   as an ASan allocation-size report);
 * - an accepted profile aggregates, yields ordered quantiles, is accepted
 *   by the writer (every rule the reader checks, the writer checks too),
 *   reads back, and re-encodes to the same bytes (canonical encoding).
 */
#include "fuzz_reader.h"
#include "pg_checksums.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_aggregate.h"
#include "pg_bytes.h"
#include "pg_error.h"
#include "pg_format.h"

uint64_t pg_fuzz_accepted = 0;

static void require(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_reader: property broken: %s\n", what);
        abort();
    }
}

static void use_profile(const pg_profile_t *profile)
{
    pg_aggregate_t agg;
    memset(&agg, 0, sizeof agg);
    require(pg_aggregate_build(&agg, profile, 1) == PG_OK, "an accepted profile aggregates");
    for (uint32_t i = 0; i < profile->func_count; i++) {
        const pg_hist_t *hist = &profile->funcs[i].hist;
        double p50 = pg_hist_quantile(hist, 0.5);
        double p99 = pg_hist_quantile(hist, 0.99);
        require(p50 <= p99, "quantiles are ordered");
        require(agg.funcs[i].primitive_calls <= agg.funcs[i].calls, "primitive calls <= calls");
    }
    pg_aggregate_release(&agg);
}

/* encode(profile) reads back, and encode(read back) is the same image. */
static void check_round_trip(const pg_profile_t *profile)
{
    pg_bytes_t first, second;
    pg_bytes_init(&first);
    pg_bytes_init(&second);
    require(pg_profile_encode(profile, &first) == PG_OK,
            "the writer accepts what the reader accepted");
    pg_profile_t again;
    require(pg_profile_init(&again) == PG_OK, "init");
    require(pg_profile_read_buffer(&again, first.data, first.size) == PG_OK,
            "a written image reads back");
    require(pg_profile_encode(&again, &second) == PG_OK, "the copy encodes");
    require(second.size == first.size && memcmp(first.data, second.data, first.size) == 0,
            "encoding is canonical");
    pg_profile_release(&again);
    pg_bytes_release(&first);
    pg_bytes_release(&second);
}

static void read_once(const uint8_t *data, size_t size)
{
    pg_profile_t profile;
    require(pg_profile_init(&profile) == PG_OK, "init");
    int rc = pg_profile_read_buffer(&profile, data, size);
    require(rc == PG_OK || rc == PG_ERR_NOT_PROFILE || rc == PG_ERR_VERSION ||
                rc == PG_ERR_TRUNCATED || rc == PG_ERR_CORRUPT || rc == PG_ERR_LIMIT,
            "the reader returns a documented format error");
    if (rc == PG_OK) {
        pg_fuzz_accepted++;
        use_profile(&profile);
        check_round_trip(&profile);
    }
    pg_profile_release(&profile);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    read_once(data, size);
    if (size > PG_FORMAT_HEADER_SIZE) {
        /* An exact-size copy keeps ASan's view of the end of the input. */
        uint8_t *fixed = malloc(size);
        if (!fixed)
            return 0;
        memcpy(fixed, data, size);
        pg_checksums_fix(fixed, size);
        if (memcmp(fixed, data, size) != 0)
            read_once(fixed, size);
        free(fixed);
    }
    return 0;
}
