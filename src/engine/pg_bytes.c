#include "pg_bytes.h"

#include <stdlib.h>
#include <string.h>

void pg_bytes_init(pg_bytes_t *bytes)
{
    memset(bytes, 0, sizeof *bytes);
}

void pg_bytes_release(pg_bytes_t *bytes)
{
    free(bytes->data);
    pg_bytes_init(bytes);
}

uint8_t *pg_bytes_detach(pg_bytes_t *bytes, size_t *size)
{
    uint8_t *data = bytes->data;
    *size = bytes->size;
    pg_bytes_init(bytes);
    return data;
}

/* Make room for extra more bytes; sets the sticky failure on overflow or
 * when the allocation fails. Growth doubles, so n puts cost O(n). */
static int reserve(pg_bytes_t *bytes, size_t extra)
{
    if (bytes->failed)
        return 0;
    if (extra <= bytes->capacity - bytes->size)
        return 1;
    if (extra > SIZE_MAX / 2 - bytes->size) {
        bytes->failed = 1;
        return 0;
    }
    size_t capacity = bytes->capacity ? bytes->capacity : 256;
    while (capacity - bytes->size < extra)
        capacity *= 2;
    uint8_t *data = realloc(bytes->data, capacity);
    if (!data) {
        bytes->failed = 1;
        return 0;
    }
    bytes->data = data;
    bytes->capacity = capacity;
    return 1;
}

void pg_bytes_put(pg_bytes_t *bytes, const void *data, size_t size)
{
    if (size == 0 || !reserve(bytes, size))
        return;
    memcpy(bytes->data + bytes->size, data, size);
    bytes->size += size;
}

/* Little-endian by construction (shifts), whatever the host order. */
static void store_le(uint8_t *out, uint64_t value, int width)
{
    for (int i = 0; i < width; i++)
        out[i] = (uint8_t)(value >> (8 * i));
}

static uint64_t load_le(const uint8_t *in, int width)
{
    uint64_t value = 0;
    for (int i = 0; i < width; i++)
        value |= (uint64_t)in[i] << (8 * i);
    return value;
}

static void put_le(pg_bytes_t *bytes, uint64_t value, int width)
{
    if (!reserve(bytes, (size_t)width))
        return;
    store_le(bytes->data + bytes->size, value, width);
    bytes->size += (size_t)width;
}

void pg_bytes_put_u16le(pg_bytes_t *bytes, uint16_t value)
{
    put_le(bytes, value, 2);
}

void pg_bytes_put_u32le(pg_bytes_t *bytes, uint32_t value)
{
    put_le(bytes, value, 4);
}

void pg_bytes_put_u64le(pg_bytes_t *bytes, uint64_t value)
{
    put_le(bytes, value, 8);
}

void pg_bytes_put_uv(pg_bytes_t *bytes, uint64_t value)
{
    uint8_t out[PG_UV_MAX_BYTES];
    size_t length = 0;
    while (value >= 0x80) {
        out[length++] = (uint8_t)(value | 0x80);
        value >>= 7;
    }
    out[length++] = (uint8_t)value;
    pg_bytes_put(bytes, out, length);
}

void pg_bytes_put_f64(pg_bytes_t *bytes, double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    put_le(bytes, bits, 8);
}

void pg_bytes_patch_u32le(pg_bytes_t *bytes, size_t at, uint32_t value)
{
    if (!bytes->failed && at <= bytes->size && bytes->size - at >= 4)
        store_le(bytes->data + at, value, 4);
}

void pg_bytes_patch_u64le(pg_bytes_t *bytes, size_t at, uint64_t value)
{
    if (!bytes->failed && at <= bytes->size && bytes->size - at >= 8)
        store_le(bytes->data + at, value, 8);
}

void pg_cursor_init(pg_cursor_t *cursor, const uint8_t *data, size_t size)
{
    /* Never NULL: a zero-length take still yields a pointer that memchr,
     * memcmp and pointer arithmetic accept. */
    static const uint8_t nothing[1];
    cursor->data = data ? data : nothing;
    cursor->size = data ? size : 0;
    cursor->at = 0;
    cursor->failed = 0;
}

const uint8_t *pg_cursor_take(pg_cursor_t *cursor, size_t size)
{
    if (cursor->failed || size > pg_cursor_left(cursor)) {
        cursor->failed = 1;
        return NULL;
    }
    const uint8_t *at = cursor->data + cursor->at;
    cursor->at += size;
    return at;
}

static uint64_t get_le(pg_cursor_t *cursor, int width)
{
    const uint8_t *in = pg_cursor_take(cursor, (size_t)width);
    return in ? load_le(in, width) : 0;
}

uint16_t pg_cursor_u16le(pg_cursor_t *cursor)
{
    return (uint16_t)get_le(cursor, 2);
}

uint32_t pg_cursor_u32le(pg_cursor_t *cursor)
{
    return (uint32_t)get_le(cursor, 4);
}

uint64_t pg_cursor_u64le(pg_cursor_t *cursor)
{
    return get_le(cursor, 8);
}

uint64_t pg_cursor_uv(pg_cursor_t *cursor)
{
    uint64_t value = 0;
    for (int i = 0; i < PG_UV_MAX_BYTES; i++) {
        const uint8_t *in = pg_cursor_take(cursor, 1);
        if (!in)
            return 0;
        uint8_t byte = *in;
        /* The 10th byte carries bit 63 only; anything more overflows. */
        if (i == PG_UV_MAX_BYTES - 1 && byte > 1)
            break;
        value |= (uint64_t)(byte & 0x7f) << (7 * i);
        if (!(byte & 0x80)) {
            if (byte == 0 && i > 0)
                break; /* overlong: a shorter form exists */
            return value;
        }
    }
    cursor->failed = 1;
    return 0;
}

double pg_cursor_f64(pg_cursor_t *cursor)
{
    uint64_t bits = get_le(cursor, 8);
    double value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

/* Four-bit table: two lookups per byte, 64 bytes of constants, no
 * initialisation race. Entry i is the CRC of the nibble i shifted through
 * four rounds of the reflected polynomial. */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu,
    0x76dc4190u, 0x6b6b51f4u, 0x4db26158u, 0x5005713cu,
    0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
    0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu,
};

uint32_t pg_crc32(uint32_t crc, const void *data, size_t size)
{
    const uint8_t *in = data;
    crc = ~crc;
    for (size_t i = 0; i < size; i++) {
        crc ^= in[i];
        crc = crc_nibble[crc & 0x0f] ^ (crc >> 4);
        crc = crc_nibble[crc & 0x0f] ^ (crc >> 4);
    }
    return ~crc;
}
