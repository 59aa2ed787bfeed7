/* The only list of model families: adding one = a new models/<family>.c and
 * one line here. It lives in experiments/, above the families, because it
 * also lists the sweep family (experiments/sweep_model.c). */
#include "registry.h"

#include <stdio.h>
#include <string.h>

extern const dlx_family dlx_family_classifier;
extern const dlx_family dlx_family_gan;
extern const dlx_family dlx_family_landscape;
extern const dlx_family dlx_family_recurrent;
extern const dlx_family dlx_family_sparse_coding;
extern const dlx_family dlx_family_sweep;
extern const dlx_family dlx_family_nearest;
extern const dlx_family dlx_family_energy;
extern const dlx_family dlx_family_disentangle;

static const dlx_family *const k_families[] = {
    &dlx_family_classifier,
    &dlx_family_gan,
    &dlx_family_landscape,
    &dlx_family_recurrent,
    &dlx_family_sparse_coding,
    &dlx_family_sweep,
    &dlx_family_nearest,
    &dlx_family_energy,
    &dlx_family_disentangle,
};
#define N_FAMILIES ((int)(sizeof k_families / sizeof k_families[0]))

const dlx_family *dlx_family_find(const char *name)
{
    for (int i = 0; i < N_FAMILIES; i++)
        if (strcmp(k_families[i]->name, name) == 0)
            return k_families[i];
    return NULL;
}

const dlx_family *dlx_family_at(int i) { return i >= 0 && i < N_FAMILIES ? k_families[i] : NULL; }

const char *dlx_family_names(void)
{
    static char list[256];
    size_t used = 0;
    list[0] = '\0';
    for (int i = 0; i < N_FAMILIES && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", k_families[i]->name);
    return list;
}
