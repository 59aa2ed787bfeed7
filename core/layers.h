/* Layer builders: a YAML `layers:` list -> parameter and op nodes.
 *
 * Each entry is a map with `type:` and the type's keys. Common keys:
 *   name:    the layer's name (default <type><k>, e.g. conv1, linear2); its
 *            parameters are <name>.weight and <name>.bias
 *   inputs:  [a, b] names of earlier layers (or "input") this layer reads;
 *            default: the previous layer. add and concat take several.
 *   share:   name of another layer whose parameters this layer uses (tied
 *            weights); shapes must agree and gradients add up. NETWORK:LAYER
 *            names a layer of another network (model.networks), built
 *            before this one: the only way two networks share parameters,
 *            which stay in that network's group (its optimizer updates them).
 * An entry {repeat: N, layers: [...], share: false} stands for N copies of
 * its layers (N in 0..64; 0: none), built in order; each copy's layer names
 * get the suffix _1 .. _N (auto names count per type within the block:
 * linear1_2), and inputs: inside the block name this copy's layers first.
 * share: true makes copies 2..N use copy 1's parameters (the share:
 * mechanism). Blocks nest (names linear1_2_1), at most 8 deep, 256 layers
 * once expanded. N is a spec key: a sweep axis can set layers.0.repeat.
 * Types are the layer types of the op registry (core/ops/registry.c): each
 * op file holds its own builder (core/layer_build.h).
 * Unknown types and keys are errors with file:line:col and a suggestion.
 */
#ifndef DLX_LAYERS_H
#define DLX_LAYERS_H

#include "err.h"
#include "graph.h"
#include "layer_build.h"
#include "params.h"
#include "spec.h"

/* The longest layer name: <name>.weight must fit a parameter name. Names are
 * non-empty, without '/' or control characters, not "." or ".."
 * (dlx_name_check): they become HDF5 paths. */
#define DLX_LAYER_NAME_MAX (DLX_NAME_MAX - 1 - (int)sizeof ".weight" + 1)

/* The i-th layer type of the op registry (NULL past the last). */
const dlx_layer_def *dlx_layer_type_at(int i);
/* The reference sections of layers: lists (the keys every entry has, then
 * the repeat block), then "layer.<type>" per type of the op registry, its
 * help as the description; false past the last. */
bool dlx_layer_section_at(int i, dlx_spec_section *out);

/* One built layer, for the architecture table printed at start-up. */
typedef struct dlx_layer_info {
    char name[DLX_NAME_MAX];
    char type[32];
    dlx_shape out;
    int64_t n_params; /* parameters this layer declared (0 when shared) */
} dlx_layer_info;

typedef struct dlx_layers_out {
    dlx_node *output;      /* the last layer's node */
    dlx_layer_info *info;  /* malloc'd, n entries; caller frees */
    int n;
} dlx_layers_out;

/* Build `layers` (a sequence node) on top of `input`. Parameter names are
 * prefixed with `prefix` (may be "" ; e.g. "gen." for a generator). Declares
 * parameters in `params` (not yet finalized) and op nodes in g. */
int dlx_layers_build(dlx_graph *g, dlx_params *params, dlx_spec_node *layers, const char *prefix,
                     dlx_node *input, dlx_layers_out *out, dlx_err *err);

#endif
