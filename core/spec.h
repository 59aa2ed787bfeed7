/* Experiment specs: YAML (via libyaml) parsed into a small tree whose every
 * node remembers file:line:col, plus typed getters that validate presence,
 * type and range and produce located messages, e.g.
 *   configs/x.yaml:14:9: error: model.layers[3]: 'kernal' is not a key of conv; did you mean 'kernel'?
 *
 * Getters that find a key absent insert the default into the tree, so that
 * dlx_spec_dump() afterwards writes the fully resolved spec (defaults
 * included) that checkpoints store. The spec owns all its nodes and strings.
 *
 * Messages. dlx_err_format() gives "file:line:col: error: msg"; msg starts
 * with the path of the node concerned and ": " ("train.epochs: ..."), left out
 * for the root. The location is the value's (wrong type, out of range), the
 * key's (unknown key, duplicate key) or the map's (missing key). Exact texts:
 *   train.epochs: expected an integer, got 'ten'
 *   train.lr: expected a number, got the string '0.1'     (quoted: never a number)
 *   train.shuffle: expected true or false, got 'maybe'
 *   train.epochs: must be between 1 and 100000, got 0     ("at least"/"at most" when
 *                                                          the other bound is INT64/DBL max)
 *   train: missing required key 'epochs'
 *   model.layers[1]: 'kernal' is not a key of conv; did you mean 'kernel'?
 *   model.layers[1]: 'foo' is not a key of conv (allowed: type, filters, kernel)
 *   train.optimizer.type: unknown value 'sgdd'; did you mean 'sgd'? (one of: sgd, adam)
 *   train: duplicate key 'lr' (first at line 4)
 *   invalid YAML: <libyaml's problem> [(<libyaml's context> at line N)]
 *   YAML aliases are not supported / YAML anchors and aliases are not supported
 *   spec is empty: expected a mapping with model:, data: and train:   (file only)
 * Long values are shortened with "..." in messages.
 *
 * Limits: nesting deeper than 64 levels, anchors, aliases, tags, NUL
 * characters and more than one document are DLX_EINVAL. A null value
 * (`key:` with nothing after it, `~`, `null`) counts as an empty mapping or
 * sequence for expect_map/expect_seq/check_keys and the getters (it becomes
 * a map when a default is inserted); scalar getters reject it ("got null").
 */
#ifndef DLX_SPEC_H
#define DLX_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

typedef enum dlx_spec_kind {
    DLX_SPEC_NULL,   /* `~`, `null` or an empty value */
    DLX_SPEC_SCALAR,
    DLX_SPEC_MAP,
    DLX_SPEC_SEQ,
} dlx_spec_kind;

typedef struct dlx_spec_node dlx_spec_node;
struct dlx_spec_node {
    dlx_spec_kind kind;
    dlx_loc loc;           /* loc.file points at the owning spec's file name */
    char *path;            /* "model.layers[2].kernel", for messages */
    char *scalar;          /* DLX_SPEC_SCALAR: the text */
    bool quoted;           /* scalar was quoted in the source: always a string */
    bool defaulted;        /* inserted by a getter as the key's default, not written */
    int n;                 /* MAP: number of pairs; SEQ: number of items */
    char **keys;           /* MAP only */
    dlx_loc *key_locs;     /* MAP only */
    dlx_spec_node **items; /* MAP: values (parallel to keys); SEQ: items */
};

typedef struct dlx_spec dlx_spec;

/* Parse a file. A missing file is DLX_EIO; malformed YAML, aliases, duplicate
 * keys, or a top level that is not a mapping are DLX_EINVAL with line:col, and
 * so are a path that is not a regular file (a FIFO, a device) and a file over
 * DLX_SPEC_MAX_BYTES. */
#define DLX_SPEC_MAX_BYTES (16 << 20)
int dlx_spec_load_file(const char *path, dlx_spec **out, dlx_err *err);
/* Parse text; `name` stands in for the file name in locations. */
int dlx_spec_load_string(const char *text, const char *name, dlx_spec **out, dlx_err *err);
void dlx_spec_destroy(dlx_spec *s);

dlx_spec_node *dlx_spec_root(const dlx_spec *s);
const char *dlx_spec_file(const dlx_spec *s);

/* Apply "a.b.c=value" (from --set): creates missing maps along the path;
 * `value` is parsed as a YAML flow value, so "3", "0.1", "[10, 10]" and
 * "{type: sgd}" all work ("" gives null, "'3'" a string). The key splits at
 * the first '='. Sequence items are addressed by index: layers.2.units=50.
 * The new nodes are located at {"<--set>", 0, 0}; a replaced key keeps its own
 * location. Errors (no '=', an empty key part, an index out of range,
 * descending into a scalar, a bad value) are DLX_EINVAL with no location and
 * a message that starts "--set '<assignment>': "; the tree is then unchanged. */
int dlx_spec_set(dlx_spec *s, const char *assignment, dlx_err *err);

/* The tree as block-style YAML text (indent 2; sequences of scalars in flow
 * style, [3, 3]) that re-parses to an equal tree: scalars quoted in the
 * source stay double-quoted, others are quoted only where YAML needs it.
 * malloc'd; the caller frees; NULL when out of memory. */
char *dlx_spec_dump(const dlx_spec *s);

/* Lookup; NULL when absent or when `map` is not a map. */
dlx_spec_node *dlx_spec_get(const dlx_spec_node *map, const char *key);
/* Dotted lookup from the root: "train.optimizer.lr"; digits index sequences. */
dlx_spec_node *dlx_spec_path(const dlx_spec *s, const char *dotted);

/* Node must be a map / a sequence (or null, read as empty); `what` names it:
 * "model.layers: layers must be a sequence, got '3'"; a NULL node gives
 * "<what> is missing" with no location. */
int dlx_spec_expect_map(const dlx_spec_node *node, const char *what, dlx_err *err);
int dlx_spec_expect_seq(const dlx_spec_node *node, const char *what, dlx_err *err);

/* Every key of `map` must be in `allowed` (NULL-terminated). Parsers call it
 * through dlx_spec_check_doc (core/spec_doc.h), whose table of documented
 * keys is the allowed list. The message for
 * an unknown key names `what` ("conv", "train") and, when one is close by edit
 * distance, suggests it: "'kernal' is not a key of conv; did you mean 'kernel'?" */
int dlx_spec_check_keys(const dlx_spec_node *map, const char *what, const char *const *allowed,
                        dlx_err *err);

/* Typed getters on a key of `map`. If the key is absent: with `required` it is
 * an error ("train: missing required key 'epochs'"), else *out = def and the
 * default is inserted (as text: %lld, %.9g, true/false; at the map's
 * location). Wrong type or out of [min, max] is DLX_EINVAL at the
 * value's line:col, e.g. "train.epochs: expected an integer, got 'ten'" or
 * "train.epochs: must be between 1 and 100000, got 0". *out is only written
 * on success. `map` may be NULL (its parent has no such section): then
 * required keys fail with no location, others give def and insert nothing.
 * Integers: optional sign and decimal digits (no 1e3, 1_000, 0x10).
 * Numbers: decimal, with optional fraction and exponent (1e-3, .5, -2); no
 * inf, nan or hex. Neither accepts a quoted scalar. */
int dlx_spec_int(dlx_spec_node *map, const char *key, bool required, int64_t def, int64_t min,
                 int64_t max, int64_t *out, dlx_err *err);
int dlx_spec_float(dlx_spec_node *map, const char *key, bool required, double def, double min,
                   double max, double *out, dlx_err *err);
/* true/false/yes/no/on/off, any case; not quoted. */
int dlx_spec_bool(dlx_spec_node *map, const char *key, bool required, bool def, bool *out,
                  dlx_err *err);
/* *out points into the tree (valid while the spec lives). def may be NULL
 * (then an absent key gives *out = NULL and inserts nothing). */
int dlx_spec_str(dlx_spec_node *map, const char *key, bool required, const char *def,
                 const char **out, dlx_err *err);
/* A spec file named by another spec file (sweep.base, a table row's spec,
 * model.sweep): the required string `key` of map, resolved by the one path
 * rule - relative to the directory of the file that names it, or to the
 * working directory when the value came from --set or a row's set: list (the
 * command line names it). Absolute paths stay as they are. Data directories
 * and outputs (data.dir, out:, --out) are relative to the working directory:
 * a spec copied into a run directory must keep naming the same data. */
int dlx_spec_file_path(dlx_spec_node *map, const char *key, char *out, size_t n, dlx_err *err);
/* The value must be one of `choices` (NULL-terminated, compared exactly);
 * *out is its index. The message lists the choices and suggests the closest.
 * def < 0 means no default: an absent key gives *out = def, inserts nothing. */
int dlx_spec_enum(dlx_spec_node *map, const char *key, bool required, const char *const *choices,
                  int def, int *out, dlx_err *err);
/* A sequence of integers (or one integer, read as a list of one), each in
 * [min, max]; at most max_n items; *n_out gets the count. Absent and not
 * required: *n_out = 0 and nothing is inserted. */
int dlx_spec_int_list(dlx_spec_node *map, const char *key, bool required, int64_t min, int64_t max,
                      int64_t *out, int max_n, int *n_out, dlx_err *err);

/* Scalar conversions on a node (for sequence items): same messages as above;
 * any scalar, quoted or not, is a string. */
int dlx_spec_node_int(const dlx_spec_node *node, int64_t min, int64_t max, int64_t *out,
                      dlx_err *err);
int dlx_spec_node_str(const dlx_spec_node *node, const char **out, dlx_err *err);

/* Levenshtein distance, exposed for suggestions elsewhere (CLI commands). */
int dlx_edit_distance(const char *a, const char *b);
/* The candidate closest to `word` if it is close enough to be a likely typo:
 * edit distance <= max(1, strlen(word) / 3), or equal ignoring case; the
 * first of equally close ones; NULL if none (or candidates is NULL). */
const char *dlx_closest(const char *word, const char *const *candidates);

#endif
