#!/usr/bin/python3
"""Hand-made hostile HDF5 files for the fuzz targets (tests/fuzz/targets*.h).

    /usr/bin/python3 tests/fuzz/make_hostile.py      (needs python3-h5py)

Each file is a valid HDF5 file whose content breaks an assumption of a dlx
reader: an array where a scalar is expected, a size that wraps when
multiplied, more dimensions than dlx keeps. Most start from a real seed that
tests/fuzz/make_seeds.sh wrote. They go to corpus/<target>/hostile_*.h5,
replayed by the fuzz_regress suite, except the names in PENDING: those still
crash dlx and go to pending/<target>/ until the reader is fixed (then move
the name out of PENDING and rerun). Run it again after make_seeds.sh.
"""
import os
import shutil

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

# target -> names that still crash (or break a property of) the current
# readers; see pending/README.md
PENDING = {
    "h5": {"version_int32x1000"},
    "metrics": {"rows_2e60"},
    "inspect": {"nine_dims", "odd_types", "version_int32x1000"},
    "sweep": {"all_2e61", "format_array", "runs_int64x1000", "spec_array"},
    "figure": {"err_float64x1000", "label_array"},
}

BIG = 1 << 60  # rows a series or table claims; chunked, so nothing is stored


def out(target, name):
    kind = "pending" if name in PENDING.get(target, ()) else "corpus"
    d = os.path.join(HERE, kind, target)
    os.makedirs(d, exist_ok=True)
    for other in ("corpus", "pending"):  # a name lives in one place only
        p = os.path.join(HERE, other, target, "hostile_" + name + ".h5")
        if os.path.exists(p):
            os.remove(p)
    return os.path.join(d, "hostile_" + name + ".h5")


def copy(seed, target, name, libver=None):
    path = out(target, name)
    shutil.copyfile(os.path.join(CORPUS, seed), path)
    os.chmod(path, 0o644)
    return h5py.File(path, "r+", libver=libver)


def replace(f, name, data, **kw):
    if name in f:
        del f[name]
    return f.create_dataset(name, data=data, **kw)


def huge(f, name, shape, dtype="f8"):
    """A dataset claiming `shape`, with no chunk written."""
    if name in f:
        del f[name]
    return f.create_dataset(name, shape=shape, maxshape=(None,) * len(shape), dtype=dtype,
                            chunks=(1,) * len(shape))


def fixed_str(text, n=None):
    a = np.array([text.encode()] * (n or 1), dtype="S%d" % max(1, len(text) + 1))
    return a if n else a[0]


def checkpoint(target):
    ck = "h5/checkpoint.h5"
    with copy(ck, target, "version_int32x1000") as f:
        f.attrs.create("version", np.ones(1000, dtype="i4"))
    with copy(ck, target, "step_negative") as f:
        replace(f, "step", np.int64(-5))
    with copy(ck, target, "step_array") as f:
        replace(f, "step", np.arange(1000, dtype="i8"))
    with copy(ck, target, "rng_1000") as f:
        replace(f, "rng", np.arange(1000, dtype="u8"))
    with copy(ck, target, "state_1000") as f:
        replace(f, "state", np.zeros(1000, dtype="f8"))
    with copy(ck, target, "spec_array") as f:
        replace(f, "spec", fixed_str("version: 1\n", 1000))
    with copy(ck, target, "family_array") as f:
        f.attrs.create("family", fixed_str("classifier", 1000))
    with copy(ck, target, "weight_2e31x2e31") as f:
        huge(f, "params/linear1.weight", (1 << 31, 1 << 31), "f4")


def metrics(target):
    m = "h5/metrics.h5"
    with copy(m, target, "rows_2e60") as f:
        huge(f, "metrics/train_loss", (BIG, 2))
    with copy(m, target, "rows_2e59_lr") as f:  # 2^59 * 2 * 8 bytes wraps to 0
        huge(f, "metrics/lr", (1 << 59, 2))
    with copy(m, target, "nan_unsorted_steps") as f:
        replace(f, "metrics/train_loss", np.array([[3, 1], [np.nan, 2], [1, 3], [np.inf, 4], [-5, 5]], "f8"),
                maxshape=(None, 2), chunks=(4, 2))
    with copy(m, target, "three_columns") as f:
        replace(f, "metrics/train_loss", np.zeros((4, 3)), maxshape=(None, 3), chunks=(4, 3))
    with copy(m, target, "one_dim") as f:
        replace(f, "metrics/train_loss", np.zeros(5), maxshape=(None,), chunks=(5,))
    with copy(m, target, "int_contiguous") as f:
        replace(f, "metrics/test_loss", np.ones((3, 2), "i4"))
    with copy(m, target, "nine_dims") as f:
        replace(f, "metrics/train_loss", np.zeros((1,) * 9))
    with copy(m, target, "series_is_group") as f:
        del f["metrics/train_loss"]
        f.create_group("metrics/train_loss/inner")
    with h5py.File(out(target, "metrics_is_dataset"), "w") as f:
        f.create_dataset("metrics", data=np.zeros((2, 2)))


def inspect(target):
    with copy("h5/checkpoint.h5", target, "nine_dims") as f:
        f.create_dataset("params/nine", data=np.arange(2 ** 9, dtype="f4").reshape((2,) * 9))
    with copy("h5/checkpoint.h5", target, "version_int32x1000") as f:
        f.attrs.create("version", np.ones(1000, dtype="i4"))
    with h5py.File(out(target, "odd_types"), "w") as f:
        huge(f, "huge", (1 << 40, 1 << 40))
        f.create_dataset("nine_huge", shape=(1 << 7,) * 9, dtype="f4", chunks=(1,) * 9)
        f.create_dataset("compound", data=np.zeros(3, dtype=[("a", "i4"), ("b", "f8")]))
        f.create_dataset("vlen", data=np.array([b"a", b"bb"], dtype=object), dtype=h5py.string_dtype("ascii"))
        f.create_dataset("nan", data=np.array([np.nan, 1.0, -np.inf]))
        f.create_dataset("empty", shape=(0, 5), dtype="f4")
        f.create_dataset("null", shape=None, dtype="f4")
        f["soft"] = h5py.SoftLink("/nowhere")
        f["ext"] = h5py.ExternalLink("/nonexistent.h5", "/x")
        f.create_dataset("metrics/train_loss", data=np.zeros((1,) * 9))


def sweep(target):
    t = "sweep/table.h5"
    with copy(t, target, "runs_int64x1000") as f:
        f.attrs.create("runs", np.arange(1000, dtype="i8"))
    with copy(t, target, "columns_array") as f:
        f.attrs.create("columns", fixed_str("hidden,seed", 100))
    with copy(t, target, "format_array") as f:
        f.attrs.create("format", fixed_str("dlx-sweep", 100))
    with copy(t, target, "columns_100") as f:
        f.attrs.create("columns", fixed_str(",".join("c%d" % i for i in range(100))))
    with copy(t, target, "spec_array") as f:
        replace(f, "spec", fixed_str("version: 1\n", 1000))
    with copy(t, target, "run_2e60") as f:
        huge(f, "table/run", (BIG,), "i8")
    with copy(t, target, "all_2e61") as f:  # 2^61 * 8 bytes wraps to 0
        cols = f.attrs["columns"].decode().split(",")
        huge(f, "table/run", (1 << 61,), "i8")
        for c in cols:
            huge(f, "table/" + c, (1 << 61,))
    with copy(t, target, "run_unsorted_nan") as f:
        n = f["table/run"].shape[0]
        replace(f, "table/run", np.arange(n, dtype="i8")[::-1].copy())
        replace(f, "table/seconds", np.full(n, np.nan))
    with copy(t, target, "run_2d") as f:
        replace(f, "table/run", np.zeros((4, 4), "i8"))


def figure(target):
    r = "figure/results.h5"
    with copy(r, target, "err_float64x1000") as f:
        replace(f, "rows/dict/err_T1", np.ones(1000))
    with copy(r, target, "label_array") as f:
        f["rows/dict"].attrs.create("label", fixed_str("x" * 50, 100))
    with copy(r, target, "spec_text_int") as f:
        f["rows/dict"].attrs.create("spec_text", np.arange(1000, dtype="i4"))
    with copy(r, target, "spec_text_long") as f:
        f["rows/dict"].attrs.create("spec_text", fixed_str("model: {algorithm: lista}\n#" + "x" * 20000))
    with copy(r, target, "row_is_dataset") as f:
        del f["rows/lista"]
        f.create_dataset("rows/lista", data=np.zeros(3))
    with h5py.File(os.path.join(CORPUS, r), "r") as f:
        spec = f["rows/dict"].attrs["spec_text"]
    # more rows and panels than the figure keeps (compact groups keep it small)
    with h5py.File(out(target, "many_rows_panels"), "w", libver="latest") as f:
        for i in range(66):
            g = f.create_group("rows/r%02d" % i)
            g.attrs["spec_text"] = spec
            g.attrs["panel"] = "panel%d" % i
            g.create_dataset("err_T1", data=1.0)
    with copy(r, target, "many_ks") as f:  # more err_T<k> than a row keeps, odd k
        g = f["rows/dict"]
        for k in [k for k in range(2, 70) if "err_T%d" % k not in g] + [2 ** 40, 2 ** 31 - 1]:
            g.create_dataset("err_T%d" % k, data=1.0)
        g.create_dataset("err_T-3", data=1.0)


def codes(target):
    c = "codes/codes.h5"
    with copy(c, target, "wd_2e60") as f:  # 2^60 * 8 * 4 bytes wraps to 0
        huge(f, "Wd", (BIG, 8), "f4")
    with copy(c, target, "xtest_2e61") as f:  # 2^61 * 9 * 4 bytes wraps
        huge(f, "X_test", (1 << 61, 9), "f4")
    with copy(c, target, "wd_one_dim") as f:
        replace(f, "Wd", np.zeros(72, "f4"))
    with copy(c, target, "wd_wrong_rows") as f:
        replace(f, "Wd", np.zeros((3, 8), "f4"))
    with copy(c, target, "ztest_rows_differ") as f:
        replace(f, "Z_test", np.zeros((2, 8), "f4"))
    with copy(c, target, "int8_and_empty") as f:
        replace(f, "X_test", np.zeros((0, 9), "i1"))
        replace(f, "Z_test", np.zeros((0, 8), "f8"))
    with copy(c, target, "wd_string") as f:
        replace(f, "Wd", fixed_str("abc", 72).reshape(9, 8))


if __name__ == "__main__":
    for fn in (checkpoint, metrics, inspect, sweep, figure, codes):
        fn("h5" if fn is checkpoint else fn.__name__)
    checkpoint("inspect")  # `dlx inspect` reads checkpoints first
