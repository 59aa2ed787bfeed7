/* Runs one Check suite by name (meson runs one test per suite), or all. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Suite *tensor_suite(void);
Suite *spec_suite(void);
Suite *spec_getters_suite(void);
Suite *data_suite(void);
Suite *png_suite(void);
Suite *h5io_suite(void);
Suite *h5io_metrics_suite(void);
Suite *h5read_suite(void);
Suite *optim_suite(void);
Suite *ops_ref_suite(void);
Suite *gradcheck_suite(void);
Suite *graph_suite(void);
Suite *layers_suite(void);
Suite *lista_suite(void);
Suite *landscape_suite(void);
Suite *landscape_family_suite(void);
Suite *fuzz_regress_suite(void);
Suite *rundir_suite(void);
Suite *replica_suite(void);
Suite *feeds_suite(void);
Suite *op_registry_suite(void);
Suite *ops_elementwise_suite(void);
Suite *ops_reduce_suite(void);
Suite *conv_transpose_suite(void);
Suite *conv_cols_suite(void);
Suite *batchnorm_suite(void);
Suite *scores_suite(void);
Suite *sample_score_suite(void);
Suite *confusion_suite(void);
Suite *rnn_suite(void);
Suite *vmath_suite(void);
Suite *onnx_suite(void);
Suite *spec_doc_suite(void);
Suite *augment_suite(void);
Suite *laplacian_suite(void);
Suite *energy_suite(void);
Suite *probe_suite(void);
Suite *rop_suite(void);

static const struct {
    const char *name;
    Suite *(*make)(void);
} k_suites[] = {
    {"tensor", tensor_suite}, {"spec", spec_suite}, {"spec_getters", spec_getters_suite}, {"data", data_suite},
    {"png", png_suite},       {"h5io", h5io_suite}, {"h5io_metrics", h5io_metrics_suite}, {"h5read", h5read_suite},       {"optim", optim_suite},
    {"ops_ref", ops_ref_suite}, {"gradcheck", gradcheck_suite}, {"graph", graph_suite},
    {"layers", layers_suite}, {"lista", lista_suite},
    {"landscape", landscape_suite}, {"landscape_family", landscape_family_suite}, {"fuzz_regress", fuzz_regress_suite},
    {"rundir", rundir_suite}, {"replica", replica_suite}, {"feeds", feeds_suite}, {"op_registry", op_registry_suite},
    {"ops_elementwise", ops_elementwise_suite},
    {"ops_reduce", ops_reduce_suite},
    {"conv_transpose", conv_transpose_suite},
    {"conv_cols", conv_cols_suite},
    {"batchnorm", batchnorm_suite},
    {"scores", scores_suite},
    {"sample_score", sample_score_suite},
    {"confusion", confusion_suite},
    {"rnn", rnn_suite},
    {"vmath", vmath_suite},
    {"onnx", onnx_suite},
    {"spec_doc", spec_doc_suite},
    {"augment", augment_suite},
    {"laplacian", laplacian_suite},
    {"energy", energy_suite},
    {"probe", probe_suite},
    {"rop", rop_suite},
};
#define N_SUITES ((int)(sizeof k_suites / sizeof k_suites[0]))

int main(int argc, char **argv)
{
    SRunner *sr = NULL;
    for (int i = 0; i < N_SUITES; i++) {
        if (argc > 1 && strcmp(argv[1], k_suites[i].name) != 0)
            continue;
        if (!sr)
            sr = srunner_create(k_suites[i].make());
        else
            srunner_add_suite(sr, k_suites[i].make());
    }
    if (!sr) {
        fprintf(stderr, "unit: no suite named '%s'\n", argv[1]);
        return 2;
    }
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
