/* libFuzzer harness for one target, chosen at compile time:
 *   clang -DFUZZ_TARGET='"sweep"' -fsanitize=fuzzer,... fuzz.c <dlx sources>
 * The target's calls are in targets.h / targets_h5.h (fuzz_one), shared with
 * tests/test_fuzz_regress.c. Built and run by tests/fuzz/run.sh. */
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
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    dlx_h5r_set_probe(false);
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
