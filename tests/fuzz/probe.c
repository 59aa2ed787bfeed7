/* tests/fuzz/ci.sh's sorter of crash inputs: `probe FILE` runs dlx's probe
 * (core/h5probe.c) on FILE, built with the fuzzers' sanitizers, and exits 3
 * when HDF5 itself crashes or fails on the file (dlx refuses such a file
 * before it parses it), 0 otherwise. Built by tests/fuzz/run.sh. */
#include <stdio.h>

#include "../../core/h5io.h"
#include "../../core/h5read.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: probe FILE.h5\n");
        return 2;
    }
    dlx_h5_quiet();
    dlx_err err;
    dlx_err_clear(&err);
    if (dlx_h5r_probe(argv[1], &err) == 0)
        return 0;
    printf("%s\n", err.msg);
    return 3;
}
