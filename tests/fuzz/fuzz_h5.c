/* libFuzzer harness: see targets.h (fuzz_h5_one) for what one input exercises.
 * Built and run by tests/fuzz/run.sh. */
#include <unistd.h>

#include "targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char tmp[64];
    if (!tmp[0])
        snprintf(tmp, sizeof tmp, "/tmp/dlx_fuzz_h5_%d", (int)getpid());
    int bad = fuzz_h5_one(data, size, tmp);
    if (bad) {
        fprintf(stderr, "fuzz_h5: property %d broken (see targets.h)\n", bad);
        __builtin_trap();
    }
    return 0;
}
