/* Private to core/spec*.c: the helpers that the parser (spec.c), the dump
 * (spec_dump.c) and the typed getters (spec_get.c) share. Not a public API. */
#ifndef DLX_SPEC_INTERNAL_H
#define DLX_SPEC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "spec.h"

/* "path: " before a message, or nothing for the root. */
/* deepest nesting a spec (or a --set value) may have */
#define SPEC_MAX_DEPTH 64

struct dlx_spec {
    char *file;
    dlx_spec_node *root;
};

/* the file name of nodes made by --set (and a table row's set: list) */
#define SPEC_SET_FILE "<--set>"

#define PFX(node) (node)->path, ((node)->path[0] ? ": " : "")

const char *spec_brief(const char *s, char *buf, size_t n);
char *spec_child_path_key(const char *parent, const char *key);
const char *spec_describe(const dlx_spec_node *v, char *buf, size_t n);
int spec_is_null_text(const char *s);
int spec_map_append(dlx_spec_node *m, char *key, dlx_loc key_loc, dlx_spec_node *val);
void spec_node_free(dlx_spec_node *n);
dlx_spec_node *spec_node_new(dlx_spec_kind kind, dlx_loc loc, const char *path);
void spec_null_to_map(dlx_spec_node *n);
int spec_oom(dlx_err *err);
/* shared by the parser (spec.c) and --set (spec_set.c) */
int spec_parse_index(const char *s, size_t len);
int spec_parse_text(const unsigned char *text, size_t len, const char *file, const char *errname,
                    dlx_spec_node **out, dlx_err *err);
void spec_relocate(dlx_spec_node *n, dlx_loc loc);
int spec_repath(dlx_spec_node *n, const char *path);

#endif
