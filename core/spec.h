/* Experiment specs: YAML (via libyaml) parsed into a small tree whose every
 * node remembers file:line:col, plus typed getters that validate presence,
 * type and range and produce located messages, e.g.
 *   configs/x.yaml:14:9: error: model.layers[3]: 'kernal' is not a key of conv; did you mean 'kernel'?
 *
 * Getters that find a key absent insert the default into the tree, so that
 * dlx_spec_dump() afterwards writes the fully resolved spec (defaults
 * included) that checkpoints store. The spec owns all its nodes and strings.
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
    int n;                 /* MAP: number of pairs; SEQ: number of items */
    char **keys;           /* MAP only */
    dlx_loc *key_locs;     /* MAP only */
    dlx_spec_node **items; /* MAP: values (parallel to keys); SEQ: items */
};

typedef struct dlx_spec dlx_spec;

/* Parse a file. A missing file is DLX_EIO; malformed YAML, aliases, duplicate
 * keys, or a top level that is not a mapping are DLX_EINVAL with line:col. */
int dlx_spec_load_file(const char *path, dlx_spec **out, dlx_err *err);
/* Parse text; `name` stands in for the file name in locations. */
int dlx_spec_load_string(const char *text, const char *name, dlx_spec **out, dlx_err *err);
void dlx_spec_destroy(dlx_spec *s);

dlx_spec_node *dlx_spec_root(const dlx_spec *s);
const char *dlx_spec_file(const dlx_spec *s);

/* Apply "a.b.c=value" (from --set): creates missing maps along the path;
 * `value` is parsed as a YAML flow value, so "3", "0.1", "[10, 10]" and
 * "{type: sgd}" all work. Sequence items are addressed by index: layers.2.units=50.
 * Errors (no '=', an index out of range, descending into a scalar) are DLX_EINVAL. */
int dlx_spec_set(dlx_spec *s, const char *assignment, dlx_err *err);

/* The tree as block-style YAML text that re-parses to an equal tree.
 * malloc'd; the caller frees. */
char *dlx_spec_dump(const dlx_spec *s);

/* Lookup; NULL when absent or when `map` is not a map. */
dlx_spec_node *dlx_spec_get(const dlx_spec_node *map, const char *key);
/* Dotted lookup from the root: "train.optimizer.lr"; digits index sequences. */
dlx_spec_node *dlx_spec_path(const dlx_spec *s, const char *dotted);

/* Node must be a map / a sequence; `what` names it in the message. */
int dlx_spec_expect_map(const dlx_spec_node *node, const char *what, dlx_err *err);
int dlx_spec_expect_seq(const dlx_spec_node *node, const char *what, dlx_err *err);

/* Every key of `map` must be in `allowed` (NULL-terminated). The message for
 * an unknown key names `what` ("conv", "train") and, when one is close by edit
 * distance, suggests it: "'kernal' is not a key of conv; did you mean 'kernel'?" */
int dlx_spec_check_keys(const dlx_spec_node *map, const char *what, const char *const *allowed,
                        dlx_err *err);

/* Typed getters on a key of `map`. If the key is absent: with `required` it is
 * an error ("train: missing required key 'epochs'"), else *out = def and the
 * default is inserted. Wrong type or out of [min, max] is DLX_EINVAL at the
 * value's line:col, e.g. "train.epochs: expected an integer, got 'ten'" or
 * "train.epochs: must be between 1 and 100000, got 0". */
int dlx_spec_int(dlx_spec_node *map, const char *key, bool required, int64_t def, int64_t min,
                 int64_t max, int64_t *out, dlx_err *err);
int dlx_spec_float(dlx_spec_node *map, const char *key, bool required, double def, double min,
                   double max, double *out, dlx_err *err);
/* true/false/yes/no/on/off */
int dlx_spec_bool(dlx_spec_node *map, const char *key, bool required, bool def, bool *out,
                  dlx_err *err);
/* *out points into the tree (valid while the spec lives). def may be NULL
 * (then an absent key gives *out = NULL and inserts nothing). */
int dlx_spec_str(dlx_spec_node *map, const char *key, bool required, const char *def,
                 const char **out, dlx_err *err);
/* The value must be one of `choices` (NULL-terminated); *out is its index.
 * The message lists the choices and suggests the closest. */
int dlx_spec_enum(dlx_spec_node *map, const char *key, bool required, const char *const *choices,
                  int def, int *out, dlx_err *err);
/* A sequence of integers (or one integer, read as a list of one), each in
 * [min, max]; at most max_n items; *n_out gets the count. Absent and not
 * required: *n_out = 0 and nothing is inserted. */
int dlx_spec_int_list(dlx_spec_node *map, const char *key, bool required, int64_t min, int64_t max,
                      int64_t *out, int max_n, int *n_out, dlx_err *err);

/* Scalar conversions on a node (for sequence items): same messages as above. */
int dlx_spec_node_int(const dlx_spec_node *node, int64_t min, int64_t max, int64_t *out,
                      dlx_err *err);
int dlx_spec_node_str(const dlx_spec_node *node, const char **out, dlx_err *err);

/* Levenshtein distance, exposed for suggestions elsewhere (CLI commands). */
int dlx_edit_distance(const char *a, const char *b);
/* The candidate closest to `word` if it is close enough to be a likely typo. */
const char *dlx_closest(const char *word, const char *const *candidates);

#endif
