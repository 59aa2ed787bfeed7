/* The reference of spec keys, kept beside the code that parses them.
 *
 * Every map of a spec that dlx reads has one table of dlx_key_doc next to
 * its parser: key, type, default, range and one line of meaning. The same
 * table is the list of keys the map may hold (dlx_spec_check_doc), so the
 * reference (`dlx spec`, docs/spec.md) cannot name a key the parser refuses
 * or miss one it accepts. Adding a key = one row in that table, beside the
 * getter that reads it; then regenerate docs/spec.md (`dlx spec --markdown`).
 *
 * A module lists its tables as sections (dlx_spec_section, a name such as
 * "train" or "optimizer.adam" and one line on where the map sits) in an
 * array ending with {NULL}; experiments/spec_ref.c collects every module's
 * array, and core/layers.c makes the layer sections from the op registry.
 * The renderers here return malloc'd text (library code prints nothing).
 */
#ifndef DLX_SPEC_DOC_H
#define DLX_SPEC_DOC_H

#include "err.h"
#include "spec.h"

typedef struct dlx_key_doc {
    const char *key;     /* NULL ends a table */
    const char *type;    /* "integer", "number", "bool", "string", "one of ...", "map", "list of ..." */
    const char *def;     /* "required", the default the parser applies, or "-" (none: absent means off) */
    const char *range;   /* the values the parser accepts ("" when the type says it all) */
    const char *meaning; /* one line */
} dlx_key_doc;

typedef struct dlx_spec_section {
    const char *name;        /* "train", "model.gan"; NULL ends an array */
    const char *where;       /* one line: where the map sits and what it is for */
    const dlx_key_doc *keys; /* its table */
    const char *prefix;      /* put before name ("layer." + a layer type), or NULL */
} dlx_spec_section;

/* prefix + name into buf; returns buf. */
const char *dlx_spec_section_name(const dlx_spec_section *s, char *buf, size_t n);

/* dlx_spec_check_keys with the table's keys as the allowed list (same
 * messages). The tables form: a NULL-terminated list of tables whose keys
 * together are allowed (a layer's own keys and everyone's). At most
 * DLX_SPEC_DOC_KEYS_MAX keys in all. */
#define DLX_SPEC_DOC_KEYS_MAX 64
int dlx_spec_check_doc(const dlx_spec_node *map, const char *what, const dlx_key_doc *keys, dlx_err *err);
int dlx_spec_check_docs(const dlx_spec_node *map, const char *what, const dlx_key_doc *const *tables,
                        dlx_err *err);

/* The number of rows of a table. */
int dlx_key_doc_count(const dlx_key_doc *keys);
/* The row of `key`, or NULL. */
const dlx_key_doc *dlx_key_doc_find(const dlx_key_doc *keys, const char *key);

/* One section as aligned text: "name: where", then a row per key. */
char *dlx_spec_doc_text(const dlx_spec_section *s);
/* One section as Markdown: "## name", where, a table of its keys. */
char *dlx_spec_doc_markdown(const dlx_spec_section *s);
/* Its line in a Markdown list of sections: "- `name`: where". */
char *dlx_spec_doc_markdown_item(const dlx_spec_section *s);

#endif
