/* libFuzzer harness for one target, chosen at compile time:
 *   clang -DFUZZ_TARGET='"sweep"' -fsanitize=fuzzer,... fuzz.c <dlx sources>
 * The target's calls are in targets.h / targets_h5.h (fuzz_one), shared with
 * tests/test_fuzz_regress.c. Built and run by tests/fuzz/run.sh. */
#include <stdlib.h>
#include <unistd.h>

#include "../../core/h5read.h"
#include "targets_h5.h"

#ifndef FUZZ_TARGET
#error "build with -DFUZZ_TARGET='\"NAME\"' (see fuzz_target_names in targets_h5.h)"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* No probe child per input (a fork of an ASan process costs ~40 ms): the
 * readers are fuzzed directly, and ci.sh sorts a crash input by whether the
 * probe (on in dlx itself and in the fuzz_regress replay) refuses it. */
/* As cli/main.c does: after an H5Fclose that failed (a corrupt file opened
 * for writing, the metrics target), HDF5 1.10 crashes in its own exit handler,
 * so leave without running it. */
static void leave_without_hdf5_handler(void)
{
    if (dlx_h5_close_failed())
        _exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    dlx_h5r_set_probe(false);
    /* HDF5 registers its handler when it starts: start it first, so this
     * handler, registered later, runs before it */
    H5open();
    atexit(leave_without_hdf5_handler);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char tmp[64];
    if (!tmp[0])
        snprintf(tmp, sizeof tmp, "/tmp/dlx_fuzz_%s_%d", FUZZ_TARGET, (int)getpid());
    int bad = fuzz_one(FUZZ_TARGET, data, size, tmp);
    if (bad) {
        fprintf(stderr, "fuzz_%s: property %d broken (see tests/fuzz/targets*.h)\n", FUZZ_TARGET, bad);
        __builtin_trap();
    }
    return 0;
}
