/* libFuzzer harness: see targets.h (fuzz_spec_one) for what one input exercises.
 * Built and run by tests/fuzz/run.sh. */
#include <unistd.h>

#include "targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int bad = fuzz_spec_one(data, size);
    if (bad) {
        fprintf(stderr, "fuzz_spec: property %d broken (see targets.h)\n", bad);
        __builtin_trap();
    }
    return 0;
}
