"""PyTorch peer of `nabla-bench train` / `train-mlp`: the same model, optimizer, batch, threads
and Fashion-MNIST slice, run the way PyTorch users run it (eager mode, a DataLoader-free loop over
shuffled tensors, torch.set_num_threads). Prints one JSON line."""
import gzip, json, resource, sys, time

import numpy as np
import torch
from torch import nn

model_name, threads = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(1)
root = "/usr/share/datasets/fashion-mnist"
with gzip.open(f"{root}/train-images-idx3-ubyte.gz") as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:6400].copy()
with gzip.open(f"{root}/train-labels-idx1-ubyte.gz") as f:
    labels = np.frombuffer(f.read(), np.uint8, offset=8)[:6400].astype(np.int64)
x, y = torch.from_numpy(images), torch.from_numpy(labels)


class Rescale(nn.Module):
    def forward(self, t):
        return t.float() / 255


if model_name == "mlp":
    net = nn.Sequential(Rescale(), nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2),
                        nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 10))
else:
    net = nn.Sequential(Rescale(), nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(),
                        nn.Dropout(0.5), nn.Linear(128, 10))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()


def epoch(count):
    net.train()
    order = torch.randperm(count)
    for i in range(0, count, 128):
        idx = order[i:i + 128]
        opt.zero_grad()
        loss = loss_fn(net(x[idx]), y[idx])
        loss.backward()
        opt.step()


epoch(640)  # warm-up, as nabla-bench does
start = time.perf_counter()
epoch(6400)
seconds = time.perf_counter() - start
print(json.dumps({"case": f"torch_train_{model_name}", "samples_per_s": round(6400 / seconds, 1),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                  "threads": threads, "torch": torch.__version__}))
