#!/usr/bin/python3
"""The peer's whole-epoch benchmark (../shared/peer/peer_data.py --mode epoch) with one fix.

peer_data.py calls build(a.model).train(), but peer_bench.build returns (model, input_shape), so its
epoch mode stops with AttributeError. This runs the same loader and training step with
build(...)[0]. Everything else is as in peer_data.py. Prints 'RESULT {json}'.
"""
import argparse, json, os, sys, time
import torch, torchvision
from torchvision import transforms as T

ap = argparse.ArgumentParser()
ap.add_argument("--peer", default="../shared/peer")
ap.add_argument("--root", required=True)
ap.add_argument("--model", default="resnet20")
ap.add_argument("--batch", type=int, default=64)
ap.add_argument("--workers", type=int, default=2)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--max-batches", type=int, default=200)
ap.add_argument("--warmup-batches", type=int, default=5)
a = ap.parse_args()
sys.path.insert(0, os.path.abspath(a.peer))
from peer_bench import build

torch.set_num_threads(a.threads)
norm = T.Normalize((0.49, 0.48, 0.45), (0.25, 0.24, 0.26))
tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), norm])
ds = torchvision.datasets.ImageFolder(a.root, transform=tf)
dl = torch.utils.data.DataLoader(ds, batch_size=a.batch, shuffle=True, num_workers=a.workers, drop_last=True, persistent_workers=a.workers > 0)
model = build(a.model)[0].train()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
n = 0
t0 = None
for i, (x, y) in enumerate(dl):
    if i == a.warmup_batches:
        t0 = time.perf_counter()
        n = 0
    loss = torch.nn.functional.cross_entropy(model(x), y % 10)
    opt.zero_grad()
    loss.backward()
    opt.step()
    n += x.shape[0]
    if i + 1 >= a.warmup_batches + a.max_batches:
        break
dt = time.perf_counter() - t0
print("RESULT " + json.dumps({"impl": "pytorch-python", "mode": "epoch", "model": a.model, "images": n, "seconds": dt, "img_per_s": n / dt}))
