/* A protocol-buffers wire-format encoder, just what writing an ONNX model
 * needs (core/onnx.h), so dlx depends on no protobuf library.
 *
 * A dlx_pb is a growable byte buffer. Each call appends one field: its tag
 * (field number << 3 | wire type) and its value. Varints (wire type 0:
 * int32, int64, enums, bool), 32-bit little-endian floats (wire type 5),
 * length-delimited bytes, strings, packed repeated int64s and nested
 * messages (wire type 2). A nested message is opened with dlx_pb_begin,
 * which returns a mark, filled like any buffer and closed with dlx_pb_end,
 * which inserts its length (a minimal varint) in front of it; messages nest.
 *
 * An allocation failure sets `failed` and every later call does nothing, so a
 * writer checks once, at the end (dlx_pb_check), instead of after each field.
 */
#ifndef DLX_PROTOBUF_H
#define DLX_PROTOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct dlx_pb {
    uint8_t *data;
    size_t len, cap;
    bool failed; /* an allocation failed: the buffer is incomplete */
} dlx_pb;

void dlx_pb_init(dlx_pb *b);
void dlx_pb_free(dlx_pb *b);
/* DLX_ENOMEM, naming `what`, when an append failed; else 0. */
int dlx_pb_check(const dlx_pb *b, const char *what, dlx_err *err);

/* Bytes appended as they are (an encoded message's fields: repeated
 * entries written into another buffer). */
void dlx_pb_raw(dlx_pb *b, const void *p, size_t n);
/* Wire type 0. A negative int64 is its two's complement: 10 bytes. */
void dlx_pb_varint(dlx_pb *b, int field, uint64_t v);
void dlx_pb_int64(dlx_pb *b, int field, int64_t v);
/* Wire type 5: the float's bits, little endian. */
void dlx_pb_float(dlx_pb *b, int field, float v);
/* Wire type 2: length, then the bytes. */
void dlx_pb_bytes(dlx_pb *b, int field, const void *p, size_t n);
void dlx_pb_string(dlx_pb *b, int field, const char *s);
/* Wire type 2: n float32s, little endian, as one bytes field (ONNX's raw_data). */
void dlx_pb_floats_le(dlx_pb *b, int field, const float *v, int64_t n);
/* A packed repeated int64: one length-delimited field of n varints. */
void dlx_pb_packed_int64(dlx_pb *b, int field, const int64_t *v, int n);

/* Open a nested message (field, wire type 2); returns the mark for dlx_pb_end. */
size_t dlx_pb_begin(dlx_pb *b, int field);
/* Close the message opened at mark: its length goes in front of it. */
void dlx_pb_end(dlx_pb *b, size_t mark);

/* Bytes of v as a varint (1 to 10). */
int dlx_pb_varint_size(uint64_t v);

#endif
