#!/usr/bin/python3
"""Loads a convnet-exported safetensors file into torchvision's VGG with load_state_dict(strict=True)
and compares its logits on the fixture input with convnet's, without the safetensors package
(torch 1.13 from Debian has none): the format is parsed here with the standard library and numpy.

    /usr/bin/python3 scripts/check_export_in_torchvision.py EXPORTED.safetensors ../shared/fixtures/weights/input.npy EXPECTED_LOGITS.npy
"""
import json, struct, sys
import numpy as np
import torch, torchvision

path, inp, expected = sys.argv[1], sys.argv[2], sys.argv[3]
raw = open(path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
state = {}
for name, info in header.items():
    if name == "__metadata__":
        continue
    a, b = info["data_offsets"]
    dtype = {"F32": np.float32, "I64": np.int64}[info["dtype"]]
    state[name] = torch.from_numpy(np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dtype).reshape(info["shape"]).copy())
model = torchvision.models.vgg11_bn(num_classes=5)
model.classifier[0] = torch.nn.Linear(25088, 64)
model.classifier[3] = torch.nn.Linear(64, 64)
model.classifier[6] = torch.nn.Linear(64, 5)
model.load_state_dict(state, strict=True)
model.eval()
with torch.no_grad():
    out = model(torch.from_numpy(np.load(inp))).numpy()
diff = float(np.abs(out - np.load(expected)).max())
print(f"load_state_dict(strict=True) ok; {len(state)} tensors; max |torchvision - expected| = {diff:.2e}")
sys.exit(0 if diff < 1e-4 else 1)
