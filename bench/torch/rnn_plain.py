"""The plainest PyTorch copy-task step (configs/rnn/copy_orthogonal.yaml, copy_lstm.yaml), a
check on bench/torch/rnn.py: threads as the caller's OMP_NUM_THREADS / OPENBLAS_NUM_THREADS
left them, the linear RNN as a Python loop of h = x_t U^T + h W^T + b, nn.LSTM for the lstm, nn.Linear readout, each batch drawn per step.
usage: /usr/bin/python3 bench/torch/rnn_plain.py rnn|lstm [STEPS]"""
import json, os, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

cell = sys.argv[1] if len(sys.argv) > 1 else "rnn"
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 100
T, B, H = 100, 20, 128
L = T + 20


def batch():
    sym = torch.zeros(L, B, dtype=torch.long)
    sym[:10] = torch.randint(1, 9, (10, B))
    sym[T + 9] = 9
    y = torch.zeros(L, B, dtype=torch.long)
    y[T + 10:] = sym[:10]
    return F.one_hot(sym, 10).float(), y.view(-1)


U = nn.Parameter(torch.randn(H, 10) * 0.1)
W = nn.Parameter(torch.linalg.qr(torch.randn(H, H))[0])
b = nn.Parameter(torch.zeros(H))
lstm = nn.LSTM(10, H)
out = nn.Linear(H, 10)
params = ([U, W, b] if cell == "rnn" else list(lstm.parameters())) + list(out.parameters())
opt = torch.optim.Adam(params, lr=1e-3)


def step():
    x, y = batch()
    if cell == "rnn":
        h = torch.zeros(B, H)
        hs = []
        for t in range(L):
            h = x[t] @ U.t() + h @ W.t() + b
            hs.append(h)
        hs = torch.stack(hs)
    else:
        hs = lstm(x)[0]
    loss = F.cross_entropy(out(hs.reshape(-1, H)), y)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()


t = time.perf_counter()
for i in range(10):
    step()
    if time.perf_counter() - t > float(os.environ.get("BENCH_MAX_SECONDS", "30")) / 3:
        break
t = time.perf_counter()
for i in range(steps):
    step()
    if time.perf_counter() - t > float(os.environ.get("BENCH_MAX_SECONDS", "30")):
        break
steps, dt = i + 1, time.perf_counter() - t
print(json.dumps({"workload": "rnn_plain_" + cell, "steps_per_s": steps / dt, "torch_threads": torch.get_num_threads(), "os_threads": len(os.listdir("/proc/self/task"))}))
