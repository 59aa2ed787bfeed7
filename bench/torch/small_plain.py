"""The plainest PyTorch small-net training (bench/configs/small.yaml: 100-25-10 on MNIST resized
to 10x10, batch 100, 10 epochs, SGD), written without common.py, a check on bench/torch/small.py:
threads as the caller's OMP_NUM_THREADS / OPENBLAS_NUM_THREADS left them, one float tensor, a
shuffled index gathered per batch. Timed like small.py: the training, not the data loading.
usage: /usr/bin/python3 bench/torch/small_plain.py [EPOCHS]"""
import json, os, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../datasets/data/mnist/")
x = torch.tensor(np.fromfile(d + "train-images-idx3-ubyte", np.uint8, offset=16), dtype=torch.float32)
x = F.interpolate(x.view(-1, 1, 28, 28) / 255, size=(10, 10), mode="bilinear", align_corners=False)
x = ((x - 0.1307) / 0.3081).view(-1, 100)
y = torch.tensor(np.fromfile(d + "train-labels-idx1-ubyte", np.uint8, offset=8), dtype=torch.long)
t = time.perf_counter()
net = nn.Sequential(nn.Linear(100, 25), nn.ReLU(), nn.Linear(25, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.1)
for e in range(epochs):
    perm = torch.randperm(len(y))
    for k in range(0, len(y), 100):
        idx = perm[k:k + 100]
        loss = F.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
dt = time.perf_counter() - t
print(json.dumps({"workload": "small_plain", "seconds_per_training": dt, "trainings_per_s": 1 / dt,
                  "torch_threads": torch.get_num_threads(), "os_threads": len(os.listdir("/proc/self/task"))}))
