/* Protocol-buffers wire format (core/protobuf.h). */
#include <stdlib.h>
#include <string.h>

#include "protobuf.h"

enum { WIRE_VARINT = 0, WIRE_LEN = 2, WIRE_I32 = 5 };

void dlx_pb_init(dlx_pb *b)
{
    memset(b, 0, sizeof *b);
}

void dlx_pb_free(dlx_pb *b)
{
    free(b->data);
    dlx_pb_init(b);
}

int dlx_pb_check(const dlx_pb *b, const char *what, dlx_err *err)
{
    if (b->failed)
        return dlx_err_setf(err, DLX_ENOMEM, DLX_NOLOC, "out of memory while encoding %s", what);
    return 0;
}

/* Room for n more bytes; false (and failed set) when it cannot be had. */
static bool reserve(dlx_pb *b, size_t n)
{
    if (b->failed)
        return false;
    if (n > SIZE_MAX / 2 - b->len) {
        b->failed = true;
        return false;
    }
    if (b->len + n <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
        cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

int dlx_pb_varint_size(uint64_t v)
{
    int n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* v as a varint at p (room for 10 bytes); returns the bytes written */
static int put_varint(uint8_t *p, uint64_t v)
{
    int n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static void varint(dlx_pb *b, uint64_t v)
{
    if (reserve(b, 10))
        b->len += (size_t)put_varint(b->data + b->len, v);
}

static void tag(dlx_pb *b, int field, int wire)
{
    varint(b, ((uint64_t)field << 3) | (uint64_t)wire);
}

void dlx_pb_raw(dlx_pb *b, const void *p, size_t n)
{
    if (n && reserve(b, n)) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
    }
}

void dlx_pb_varint(dlx_pb *b, int field, uint64_t v)
{
    tag(b, field, WIRE_VARINT);
    varint(b, v);
}

void dlx_pb_int64(dlx_pb *b, int field, int64_t v)
{
    dlx_pb_varint(b, field, (uint64_t)v);
}

/* the float's bits, least significant byte first, whatever the host's order */
static void put_f32(uint8_t *p, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(u >> (8 * i));
}

void dlx_pb_float(dlx_pb *b, int field, float v)
{
    tag(b, field, WIRE_I32);
    if (reserve(b, 4)) {
        put_f32(b->data + b->len, v);
        b->len += 4;
    }
}

void dlx_pb_bytes(dlx_pb *b, int field, const void *p, size_t n)
{
    tag(b, field, WIRE_LEN);
    varint(b, n);
    dlx_pb_raw(b, p, n);
}

void dlx_pb_string(dlx_pb *b, int field, const char *s)
{
    dlx_pb_bytes(b, field, s, strlen(s));
}

void dlx_pb_floats_le(dlx_pb *b, int field, const float *v, int64_t n)
{
    size_t bytes = (size_t)n * 4;
    tag(b, field, WIRE_LEN);
    varint(b, bytes);
    if (!reserve(b, bytes))
        return;
    for (int64_t i = 0; i < n; i++)
        put_f32(b->data + b->len + (size_t)i * 4, v[i]);
    b->len += bytes;
}

void dlx_pb_packed_int64(dlx_pb *b, int field, const int64_t *v, int n)
{
    size_t bytes = 0;
    for (int i = 0; i < n; i++)
        bytes += (size_t)dlx_pb_varint_size((uint64_t)v[i]);
    tag(b, field, WIRE_LEN);
    varint(b, bytes);
    for (int i = 0; i < n; i++)
        varint(b, (uint64_t)v[i]);
}

size_t dlx_pb_begin(dlx_pb *b, int field)
{
    tag(b, field, WIRE_LEN);
    return b->len;
}

void dlx_pb_end(dlx_pb *b, size_t mark)
{
    if (b->failed)
        return;
    DLX_ASSERT(mark <= b->len);
    size_t n = b->len - mark;
    int k = dlx_pb_varint_size(n);
    if (!reserve(b, (size_t)k))
        return;
    /* the message moves up by its length's size; the length goes before it */
    memmove(b->data + mark + k, b->data + mark, n);
    put_varint(b->data + mark, n);
    b->len += (size_t)k;
}
