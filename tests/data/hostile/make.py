#!/usr/bin/python3
"""Write the hostile HDF5 files of tests/hostile.sh into this directory.

Usage: /usr/bin/python3 tests/data/hostile/make.py RUN_DIR
RUN_DIR holds checkpoint.h5 and metrics.h5 of a tiny dlx run
(tests/data/e2e/ok.yaml with data.train_limit=64); every ckpt_* file is that
checkpoint with one thing made hostile, so the spec inside it still evaluates.
The outputs are committed (CI needs no h5py); rerun this after a change of the
checkpoint format. Each file is small and well formed as HDF5: what is hostile
is what it claims, not its bytes.
"""
import os
import shutil
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def out(name):
    return os.path.join(HERE, name)


def copy_ckpt(run, name):
    shutil.copy(os.path.join(run, "checkpoint.h5"), out(name))
    return h5py.File(out(name), "r+")


def first_weight(f):
    return sorted(k for k in f["params"] if k.endswith(".weight"))[0]


def checkpoints(run):
    shutil.copy(os.path.join(run, "checkpoint.h5"), out("ckpt_ok.h5"))
    shutil.copy(os.path.join(run, "metrics.h5"), out("metrics_ok.h5"))
    # the version attribute an int32 array of 1,000 elements (was a stack overflow)
    with copy_ckpt(run, "ckpt_version_array.h5") as f:
        del f.attrs["version"]
        f.attrs.create("version", np.ones(1000, dtype=np.int32))
    # a negative step (made --resume read outside the data)
    with copy_ckpt(run, "ckpt_step_negative.h5") as f:
        f["step"][()] = -5
    # NaN parameters (evaluated and resumed silently)
    with copy_ckpt(run, "ckpt_nan.h5") as f:
        w = f["params/" + first_weight(f)]
        a = w[()]
        a.flat[3] = np.nan
        w[...] = a  # h5py rewrites the chunk and its Fletcher-32 checksum
    # one bit flipped in a parameter's stored bytes (loaded silently before checksums)
    with copy_ckpt(run, "ckpt_bitflip.h5") as f:
        w = f["params/" + first_weight(f)]
        info = w.id.get_chunk_info(0)
        offset = info.byte_offset + 100
    with open(out("ckpt_bitflip.h5"), "r+b") as fh:
        fh.seek(offset)
        b = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([b[0] ^ 0x10]))
    # a parameter whose data lives in another file (/etc/hostname): never read
    with copy_ckpt(run, "ckpt_external.h5") as f:
        name = "params/" + first_weight(f)
        shape, dtype = f[name].shape, f[name].dtype
        del f[name]
        f.create_dataset(name, shape=shape, dtype=dtype,
                         external=[("/etc/hostname", 0, int(np.prod(shape)) * 4)])
    # a parameter that is an external link to another file (in the test, a FIFO
    # named elink_target.h5 beside it): never followed
    with copy_ckpt(run, "ckpt_elink.h5") as f:
        name = "params/" + first_weight(f).replace(".weight", ".bias")
        del f[name]
        f[name] = h5py.ExternalLink("elink_target.h5", "/params/linear1.bias")
    # a dataset of 12 dimensions (inspect read past an 8-element array)
    with h5py.File(out("rank12.h5"), "w") as f:
        f["deep"] = np.arange(2, dtype=np.float32).reshape((1,) * 11 + (2,))


def metrics(run):
    for name, rows in (("metrics_rows_2e60.h5", 2**60), ("metrics_rows_2e26.h5", 2**26)):
        shutil.copy(os.path.join(run, "metrics.h5"), out(name))
        with h5py.File(out(name), "r+") as f:
            del f["metrics/train_loss"]
            f.create_dataset("metrics/train_loss", shape=(rows, 2), maxshape=(None, 2),
                             chunks=(1024, 2), dtype="f8")


SWEEP_SPEC = "base: base.yaml\naxes: [{name: seed, key: seed, values: [1, 2]}]\n"


def sweep(name, runs=2, columns="seed,train_loss", run_rows=(0, 1), attrs=None):
    with h5py.File(out(name), "w") as f:
        f.attrs["format"] = np.bytes_("dlx-sweep")
        f.attrs["columns"] = np.bytes_(columns)
        f.attrs.create("runs", runs, dtype=np.int64)
        f["spec"] = np.bytes_(SWEEP_SPEC)
        f["table/run"] = np.array(run_rows, dtype=np.int64)
        for c in columns.split(","):
            f["table/" + c] = np.arange(len(run_rows), dtype=np.float64)
        for k, v in (attrs or {}).items():
            del f.attrs[k]
            f.attrs.create(k, v)


def sweeps():
    sweep("sweep_ok.h5")
    sweep("sweep_runs_array.h5", attrs={"runs": np.ones(1000, dtype=np.int64)})
    sweep("sweep_columns_array.h5", attrs={"columns": np.array([b"seed"] * 300)})
    sweep("sweep_runs_wrap.h5", runs=2**62)
    sweep("sweep_run_out_of_range.h5", run_rows=(0, 5))
    sweep("sweep_columns_long.h5", columns=",".join("c%d" % i for i in range(40)), run_rows=(0, 1))


RESULT_SPEC = "model: {kind: sparse_coding, algorithm: ista, atoms: 100}\n"


def results(name, err=None, label="ISTA"):
    with h5py.File(out(name), "w") as f:
        g = f.create_group("rows/ista100")
        g.attrs["spec_text"] = np.bytes_(RESULT_SPEC)
        g.attrs["label"] = np.bytes_(label)
        g.attrs["panel"] = np.bytes_("m = 100")
        g["err_T1"] = np.float64(1.5)
        g["err_T2"] = np.float64(0.5) if err is None else err


def result_files():
    results("results_ok.h5")
    results("results_err_array.h5", err=np.ones(1000))
    # a label that would end gnuplot's quoted string and run a shell command
    results("results_inject.h5", label="x' ; system('touch PWNED') ; print '")


def codes():
    # a codes file (for 10x10 inputs and 100 atoms) whose test arrays claim 2^52
    # rows in a file of 40 KB; its dictionary is real
    with h5py.File(out("codes_huge.h5"), "w") as f:
        f["Wd"] = np.random.default_rng(1).standard_normal((100, 100)).astype(np.float32) / 10
        for name in ("X_test", "Z_test"):
            f.create_dataset(name, shape=(2**52, 100), chunks=(1, 100), dtype="f4")


def main():
    run = sys.argv[1]
    checkpoints(run)
    metrics(run)
    sweeps()
    result_files()
    codes()


if __name__ == "__main__":
    main()
