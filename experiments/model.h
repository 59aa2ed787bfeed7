/* Creating a model: the spec's model.kind (or a checkpoint's stored spec)
 * picks the family through the registry (experiments/registry.h), which
 * builds the model record of train/run.h. dlx_model_destroy calls the
 * family's destroy. Here in experiments/, beside the registry, because the
 * registry lists the sweep family, which is defined in experiments/; the
 * runners of experiments/ and the CLI create models through it. */
#ifndef DLX_MODEL_H
#define DLX_MODEL_H

#include <stddef.h>

#include "../core/err.h"
#include "../core/spec.h"
#include "../core/spec_doc.h"
#include "../train/run.h"

/* The reference of a model spec's top level (core/spec_doc.h), ending in {NULL}. */
extern const dlx_spec_section dlx_model_spec_sections[];

/* Create a model from a spec: read seed, model.kind, find the family, create.
 * Takes ownership of spec (also on failure). */
int dlx_model_create(dlx_spec *spec, const char *run_dir, const dlx_hooks *hooks, dlx_model **out,
                     dlx_err *err);
/* The same with worker threads (0 = spec or default) and an activation-memory
 * limit in bytes (0 = none), both needed while the graph is built. */
int dlx_model_create_opts(dlx_spec *spec, const char *run_dir, const dlx_hooks *hooks, int threads,
                          size_t max_memory, dlx_model **out, dlx_err *err);
/* Create a model from a checkpoint's stored spec and load its parameters. */
int dlx_model_from_checkpoint(const char *path, const dlx_hooks *hooks, dlx_model **out,
                              dlx_err *err);
/* The same with n_sets KEY=VALUE assignments applied to the stored spec
 * first (dlx eval --set: settings of the evaluation, under model.eval.
 * only, so the parameters still fit; another key is DLX_EINVAL). */
int dlx_model_from_checkpoint_set(const char *path, const char *const *sets, int n_sets, const dlx_hooks *hooks,
                                  dlx_model **out, dlx_err *err);
void dlx_model_destroy(dlx_model *m);

#endif
