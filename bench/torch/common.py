"""The one set-up of every PyTorch twin under bench/torch/: threads, data, timing, JSON output.

Import it FIRST, before numpy and torch: OpenMP and OpenBLAS size their thread pools
when the library loads, so the environment must be set before either is imported.
The caller sets OMP_NUM_THREADS (torch's intra-op pool) and OPENBLAS_NUM_THREADS
(bench/run.sh tries 1 and 2 of each); TORCH_THREADS is accepted for OMP_NUM_THREADS
(the older bench/run.sh's name). MKL_NUM_THREADS follows OMP_NUM_THREADS. The
inter-op pool is 1 (nothing here runs ops in parallel with each other). report()
prints the threads the process really ran with: torch.get_num_threads() and the
number of threads in /proc/self/task at the end.

Data is held as users hold it when it fits in memory: one normalised float tensor,
shuffled once into a fixed order, each batch a slice (no per-step uint8 gather or
normalisation, no DataLoader).
"""
import os

_omp = os.environ.get("OMP_NUM_THREADS") or os.environ.get("TORCH_THREADS") or "1"
os.environ["OMP_NUM_THREADS"] = _omp
os.environ.setdefault("MKL_NUM_THREADS", _omp)
os.environ.setdefault("OPENBLAS_NUM_THREADS", _omp)

import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(int(_omp))
torch.set_num_interop_threads(1)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# a timed window stops after this many seconds even if its steps are not done
# (a two-thread setting can crawl on a shared machine); the rate is steps done / time
MAX_SECONDS = float(os.environ.get("BENCH_MAX_SECONDS", "30"))


def load_mnist(split, limit=None):
    """The first `limit` samples of a split as uint8 (N, 1, 28, 28) and labels
    (BENCH_TRAIN_LIMIT for train, as bench/run.sh sets it to dlx's data.train_limit;
    all when 0), reading only those bytes, as dlx does."""
    if limit is None:
        limit = int(os.environ.get("BENCH_TRAIN_LIMIT", "0")) if split == "train" else 0
    d = os.path.join(os.environ.get("DLX_DATA_DIR", os.path.join(ROOT, "datasets", "data")), "mnist")
    prefix = "train" if split == "train" else "t10k"
    with open(os.path.join(d, prefix + "-images-idx3-ubyte"), "rb") as f:
        x = np.frombuffer(f.read(16 + 784 * limit if limit else -1), dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with open(os.path.join(d, prefix + "-labels-idx1-ubyte"), "rb") as f:
        y = np.frombuffer(f.read(8 + limit if limit else -1), dtype=np.uint8, offset=8)
    return x, y


# Whether a twin's opt.zero_grad sets the gradients to None (backward then
# allocates fresh tensors) or zeroes them in place (PyTorch 1.13's default).
# Each twin keeps the setting that measured faster here (bench/RESULTS.md):
# in place for the MLP and LeNet-5 (set_to_none 12-21 % slower on the MLP),
# set_to_none for EBGAN (1.1-1.3x faster); the others as measured in the
# table "the twins' zero_grad". BENCH_SET_TO_NONE=1 or 0 measures either one.
_set_to_none_used = None


def set_to_none(default):
    global _set_to_none_used
    v = os.environ.get("BENCH_SET_TO_NONE")
    _set_to_none_used = default if v is None or v == "" else v == "1"
    return _set_to_none_used


SET_TO_NONE = set_to_none(False)


def mnist_float(split, limit=None, scale="norm", pad=0, pad_value=None):
    """MNIST as one float tensor (N, 1, 28 + 2 pad, ...) and int64 labels.
    scale "norm": (p/255 - 0.1307) / 0.3081 as dlx's data.mean/std; "pm1": [-1, 1];
    pad: border of the background value (the scaled 0)."""
    x_u8, y_u8 = load_mnist(split, limit)
    x = torch.from_numpy(x_u8.astype(np.float32)).div_(255.0)
    if scale == "norm":
        x.sub_(0.1307).div_(0.3081)
    else:
        x.mul_(2.0).sub_(1.0)
    if pad:
        bg = float(x.min()) if pad_value is None else pad_value
        x = torch.nn.functional.pad(x, (pad, pad, pad, pad), value=bg)
    return x.contiguous(), torch.from_numpy(y_u8.astype(np.int64))


def shuffled(x, y, seed=1):
    """x and y in one fixed shuffled order, contiguous, so that a batch is a slice."""
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(y)))
    return x[order].contiguous(), y[order].contiguous()


def now():
    return time.perf_counter()


def time_steps(step, steps, warmup):
    """Runs step(i) warmup times (at most MAX_SECONDS / 3), then times up to `steps`
    more (stopping after MAX_SECONDS); returns (steps timed, seconds, last step's return value)."""
    t0 = now()
    for i in range(warmup):  # at most a third of the window: a crawling setting still ends
        step(i)
        if now() - t0 > MAX_SECONDS / 3:
            break
    out, n, t0 = None, 0, now()
    while n < steps:
        out = step(warmup + n)
        n += 1
        if now() - t0 > MAX_SECONDS:
            break
    return n, now() - t0, out


def time_training(net, opt, x, y, batch, steps, warmup=20):
    """(steps timed, seconds) of cross-entropy training steps on slices of the
    shuffled float tensor x, after a warm-up."""
    import torch.nn.functional as F

    xs, ys = shuffled(x, y)
    nb = len(ys) // batch

    def step(i):
        k = (i % nb) * batch
        opt.zero_grad(set_to_none=SET_TO_NONE)
        F.cross_entropy(net(xs[k:k + batch]), ys[k:k + batch]).backward()
        opt.step()

    n, dt, _ = time_steps(step, steps, warmup)
    return n, dt


def report(**kv):
    kv["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    kv["torch_threads"] = torch.get_num_threads()
    kv["interop_threads"] = torch.get_num_interop_threads()
    kv["omp_env"] = os.environ.get("OMP_NUM_THREADS")
    kv["openblas_env"] = os.environ.get("OPENBLAS_NUM_THREADS")
    kv["os_threads"] = len(os.listdir("/proc/self/task"))
    kv["set_to_none"] = _set_to_none_used
    print(json.dumps(kv))
    sys.stdout.flush()
