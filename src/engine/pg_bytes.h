/* Byte-level encoding for the profile file: a growable output buffer, a
 * bounds-checked input cursor, LEB128 varints and CRC-32.
 *
 * Both halves use a sticky error so that encoders and decoders read as a
 * straight sequence of puts/gets with one check at the end of a unit:
 * - pg_bytes_t: after the first failed allocation every put is a no-op and
 *   `failed` stays set; data/size still describe a valid prefix.
 * - pg_cursor_t: after the first read past the end or the first malformed
 *   varint every get returns 0 and `failed` stays set; `at` never exceeds
 *   `size`, so no read ever leaves [data, data + size).
 *
 * All multi-byte fixed-width integers are little-endian, independent of the
 * host; doubles are their IEEE-754 binary64 bit pattern, little-endian.
 * No dependency on the rest of the engine except pg_error.h.
 */
#ifndef PG_BYTES_H
#define PG_BYTES_H

#include <stddef.h>
#include <stdint.h>

/* Longest LEB128 encoding of a 64-bit value: ceil(64 / 7). */
#define PG_UV_MAX_BYTES 10

typedef struct pg_bytes {
    uint8_t *data;   /* owned; NULL until the first put */
    size_t size;     /* bytes written */
    size_t capacity; /* bytes allocated */
    int failed;      /* sticky: 1 after an allocation failed */
} pg_bytes_t;

void pg_bytes_init(pg_bytes_t *bytes);
/* Free the buffer; bytes is left empty and reusable. */
void pg_bytes_release(pg_bytes_t *bytes);
/* Hand the buffer to the caller (who frees it) and leave bytes empty. */
uint8_t *pg_bytes_detach(pg_bytes_t *bytes, size_t *size);

void pg_bytes_put(pg_bytes_t *bytes, const void *data, size_t size);
void pg_bytes_put_u16le(pg_bytes_t *bytes, uint16_t value);
void pg_bytes_put_u32le(pg_bytes_t *bytes, uint32_t value);
void pg_bytes_put_u64le(pg_bytes_t *bytes, uint64_t value);
/* Unsigned LEB128, shortest form (1 to 10 bytes). */
void pg_bytes_put_uv(pg_bytes_t *bytes, uint64_t value);
void pg_bytes_put_f64(pg_bytes_t *bytes, double value);

/* Overwrite already written bytes (used to patch section headers). The
 * range must lie inside [0, size); ignored after a failure. */
void pg_bytes_patch_u32le(pg_bytes_t *bytes, size_t at, uint32_t value);
void pg_bytes_patch_u64le(pg_bytes_t *bytes, size_t at, uint64_t value);

typedef struct pg_cursor {
    const uint8_t *data; /* borrowed */
    size_t size;         /* readable bytes at data */
    size_t at;           /* next byte to read, <= size */
    int failed;          /* sticky: 1 after an overrun or a bad varint */
} pg_cursor_t;

void pg_cursor_init(pg_cursor_t *cursor, const uint8_t *data, size_t size);

static inline size_t pg_cursor_left(const pg_cursor_t *cursor)
{
    return cursor->size - cursor->at;
}

uint16_t pg_cursor_u16le(pg_cursor_t *cursor);
uint32_t pg_cursor_u32le(pg_cursor_t *cursor);
uint64_t pg_cursor_u64le(pg_cursor_t *cursor);
/* Unsigned LEB128. Fails on an overrun, on more than 10 bytes, on a 10th
 * byte above 1 (the value would not fit 64 bits) and on an overlong form
 * (a last byte of 0 after the first), so each value has one encoding. */
uint64_t pg_cursor_uv(pg_cursor_t *cursor);
double pg_cursor_f64(pg_cursor_t *cursor);
/* Borrowed pointer to the next size bytes, advancing past them; NULL (and
 * failed set) when fewer remain. */
const uint8_t *pg_cursor_take(pg_cursor_t *cursor, size_t size);

/* CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), the checksum of
 * zlib.crc32 and PNG. Pass 0 as crc to start; feed the result back to
 * continue over several pieces. */
uint32_t pg_crc32(uint32_t crc, const void *data, size_t size);

#endif
