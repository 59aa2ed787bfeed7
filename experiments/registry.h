/* The list of model families (experiments/registry.c): looked up by
 * `model.kind` when a model is created (experiments/model.h), and by `dlx
 * reproduce` for a row's figure. It sits in experiments/, above the
 * families, because it lists every family, the sweep family of
 * experiments/sweep_model.c among them; the contract of one family is
 * models/family.h.
 */
#ifndef DLX_REGISTRY_H
#define DLX_REGISTRY_H

#include "../models/family.h"

/* The family named `name`, or NULL. */
const dlx_family *dlx_family_find(const char *name);
/* Family i in the list's order (NULL past the end). */
const dlx_family *dlx_family_at(int i);
/* "classifier, gan, ..." for messages. */
const char *dlx_family_names(void);

#endif
