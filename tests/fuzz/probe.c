/* tests/fuzz/ci.sh's sorter of crash inputs, built by tests/fuzz/run.sh with
 * the fuzzers' sanitizers:
 *   probe FILE           dlx's probe (core/h5probe.c) on FILE: exit 3 when
 *                        HDF5 itself crashes or fails on the file (dlx refuses
 *                        it before it parses it), 0 otherwise;
 *   probe FILE TARGET    then, if the probe passes, TARGET's calls on FILE the
 *                        way dlx makes them (probe on, variable-length strings
 *                        read in a child, which the harnesses turn off for
 *                        speed): exit 4 when they end without a crash, so a
 *                        fuzzer's crash on FILE was HDF5's, contained by dlx;
 *                        a crash here is dlx's own. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../core/h5io.h"
#include "../../core/h5read.h"
#include "targets_h5.h"

static int replay(const char *path, const char *target)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 2;
    }
    uint8_t *data = malloc(1 << 24);
    size_t n = data ? fread(data, 1, 1 << 24, f) : 0;
    fclose(f);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "/tmp/dlx_probe_%s_%d", target, (int)getpid());
    int bad = data ? fuzz_one(target, data, n, tmp) : 0;
    remove(tmp);
    free(data);
    if (bad) {
        fprintf(stderr, "probe: %s breaks property %d of fuzz_%s as dlx reads it\n", path, bad, target);
        return 1;
    }
    return 4;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: probe FILE.h5 [TARGET]\n");
        return 2;
    }
    dlx_h5_quiet();
    dlx_err err;
    dlx_err_clear(&err);
    if (dlx_h5r_probe(argv[1], &err) != 0) {
        printf("%s\n", err.msg);
        return 3;
    }
    return argc == 3 ? replay(argv[1], argv[2]) : 0;
}
