"""Shared by the PyTorch peers: MNIST from the same IDX files dlx reads, timing, JSON output."""
import json
import os
import resource
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_mnist(split, limit=None):
    """The first `limit` samples of a split (BENCH_TRAIN_LIMIT for train, as
    bench/run.sh sets it to dlx's data.train_limit; all when 0), reading only those
    bytes, as dlx does, so both processes hold the same data."""
    if limit is None:
        limit = int(os.environ.get("BENCH_TRAIN_LIMIT", "0")) if split == "train" else 0
    d = os.environ.get("DLX_DATA_DIR", os.path.join(ROOT, "datasets", "data"))
    d = os.path.join(d, "mnist")
    prefix = "train" if split == "train" else "t10k"
    with open(os.path.join(d, prefix + "-images-idx3-ubyte"), "rb") as f:
        x = np.frombuffer(f.read(16 + 784 * limit if limit else -1), dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with open(os.path.join(d, prefix + "-labels-idx1-ubyte"), "rb") as f:
        y = np.frombuffer(f.read(8 + limit if limit else -1), dtype=np.uint8, offset=8)
    return x, y


def normalize(x_uint8):
    # same transform as dlx: (p/255 - mean) / std; kept as uint8 until batching, like dlx
    return (torch.from_numpy(x_uint8.astype(np.float32)) / 255.0 - 0.1307) / 0.3081


def setup_threads():
    t = int(os.environ.get("TORCH_THREADS", "1"))
    torch.set_num_threads(t)
    return t


def report(**kv):
    kv["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    kv["torch_threads"] = torch.get_num_threads()
    kv["openblas_threads"] = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(json.dumps(kv))
    sys.stdout.flush()


def now():
    return time.perf_counter()


def time_training(net, opt, x_u8, y_all, batch, steps, warmup=20):
    """Seconds for `steps` SGD steps of cross-entropy training, after a warm-up;
    batches are drawn in a fixed shuffled order, converted from uint8 per batch."""
    import torch.nn.functional as F

    order = np.random.default_rng(1).permutation(len(y_all))

    def step(i):
        idx = order[(i * batch) % (len(order) - batch):][:batch]
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(normalize(x_u8[idx])), y_all[idx]).backward()
        opt.step()

    for i in range(warmup):
        step(i)
    t0 = now()
    for i in range(steps):
        step(i)
    return now() - t0
