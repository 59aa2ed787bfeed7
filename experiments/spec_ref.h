/* The spec reference: every section of core/spec_doc.h that dlx has, in the
 * order `dlx spec` and docs/spec.md list them. It lives in experiments/
 * because it lists what every layer below declares: the top level of a
 * model spec, each family's own sections (dlx_family.spec_sections, through
 * the registry), images data:, train:, its optimizers and updates, the
 * optimizer and schedule types, the layers (from the op registry), sweep
 * specs and table specs. The tables themselves stay beside their parsers;
 * nothing here repeats a key.
 *
 * Names select sections: NAME gives the section NAME and every section
 * under it (NAME.x, NAME[]...): `train` gives train, train.optimizers.NAME,
 * train.updates[], train.landscape, ...; `layers` gives the keys of every
 * layer, the repeat block and one line per layer type.
 * Text comes back malloc'd; NULL when out of memory.
 */
#ifndef DLX_SPEC_REF_H
#define DLX_SPEC_REF_H

#include <stdbool.h>

#include "../core/spec_doc.h"

/* The i-th section; false past the last. */
bool dlx_spec_ref_at(int i, dlx_spec_section *out);
/* Whether `name` selects any section. */
bool dlx_spec_ref_matches(const char *name);
/* The sections `name` selects, as text (*found = false and "" when none). */
char *dlx_spec_ref_text(const char *name, bool *found);
/* One line per section: its name and where it sits. */
char *dlx_spec_ref_list(void);
/* The whole reference as Markdown: docs/spec.md. */
char *dlx_spec_ref_markdown(void);

#endif
