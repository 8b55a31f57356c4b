/* Writes the fuzz seeds: the sample profiles of tests/c/pg_sample.c, plus
 * variants that reach the paths a plain profile does not (a newer minor
 * version, an unknown section). fuzz/corpus/ holds a committed copy;
 * fuzz/run.sh regenerates them so they follow format changes.
 *
 *   make_seeds DIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_bytes.h"
#include "pg_error.h"
#include "pg_format.h"
#include "pg_sample.h"

static int save(const char *directory, const char *name, const uint8_t *data, size_t size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", directory, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "make_seeds: %s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

/* The image of profile with an extra "ZZ01" section before "END " and
 * minor version 1: what a later 1.x writer might produce. */
static int save_later_minor(const char *directory, const pg_bytes_t *image)
{
    static const char extra[] = "a section this reader does not know";
    size_t end = image->size - PG_FORMAT_SECTION_HEADER_SIZE;
    pg_bytes_t out;
    pg_bytes_init(&out);
    pg_bytes_put(&out, image->data, end);
    out.data[10] = 1; /* minor version, little-endian u16 at offset 10 */
    pg_bytes_put(&out, "ZZ01", 4);
    pg_bytes_put_u32le(&out, pg_crc32(0, extra, sizeof extra - 1));
    pg_bytes_put_u64le(&out, sizeof extra - 1);
    pg_bytes_put(&out, extra, sizeof extra - 1);
    pg_bytes_put(&out, image->data + end, PG_FORMAT_SECTION_HEADER_SIZE);
    int failed = out.failed || save(directory, "later-minor.pgprof", out.data, out.size);
    pg_bytes_release(&out);
    return failed;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    int failed = 0;
    for (unsigned variant = 0; variant < PG_SAMPLE_VARIANTS && !failed; variant++) {
        pg_profile_t profile;
        pg_bytes_t image;
        pg_bytes_init(&image);
        int rc = pg_profile_init(&profile);
        if (rc == PG_OK)
            rc = pg_sample_build(&profile, variant);
        if (rc == PG_OK)
            rc = pg_profile_encode(&profile, &image);
        if (rc < 0) {
            fprintf(stderr, "make_seeds: sample %u: %s\n", variant, pg_error_message(rc));
            failed = 1;
        } else {
            char name[64];
            snprintf(name, sizeof name, "sample-%u.pgprof", variant);
            failed = save(argv[1], name, image.data, image.size);
            if (!failed && variant == 1)
                failed = save_later_minor(argv[1], &image);
        }
        pg_bytes_release(&image);
        pg_profile_release(&profile);
    }
    return failed;
}
