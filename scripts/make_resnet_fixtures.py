#!/usr/bin/python3
"""Makes the torchvision ResNet fixtures the tests compare convnet against (nothing is downloaded):

    /usr/bin/python3 scripts/make_resnet_fixtures.py [OUT_DIR]     # default target/fixtures/resnet

Debian's python3-torchvision (torch 1.13.1 / torchvision 0.14.1: `apt-get install python3-torchvision`) is enough.
For resnet18 and resnet50, randomly initialised as torchvision does, with a 5-class head:
  <name>-head5.pth          torch.save of the state_dict, zip format (as torchvision's published files);
                            BatchNorm running statistics are measured on random inputs and then perturbed, affine
                            parameters random, num_batches_tracked = 1234; the head scaled so that the logits
                            are of order one
  <name>-head5.logits.npy   float32 [2, 5]: torchvision's eval-mode output for input.npy
  input.npy                 float32 [2, 3, 224, 224], standard normal (seed 0)
The files are large (45 and 95 MB) and are not committed: .ci/run makes them before the tests, and the tests that
need them are skipped, with the reason, where they are absent. The directory may also be given to the tests as
$CONVNET_RESNET_FIXTURES.
"""
import os
import sys

import numpy as np
import torch
import torchvision

out = sys.argv[1] if len(sys.argv) > 1 else "target/fixtures/resnet"
os.makedirs(out, exist_ok=True)

torch.manual_seed(0)
x = torch.randn(2, 3, 224, 224)
np.save(os.path.join(out, "input.npy"), x.numpy().astype(np.float32))

for i, name in enumerate(["resnet18", "resnet50"]):
    torch.manual_seed(100 + i)
    model = getattr(torchvision.models, name)(num_classes=5)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    # Statistics of the layers' actual activations, so that the logits stay of order one through 16 units;
    # then every BatchNorm gets random statistics and affine parameters around them.
    for m in bns:
        m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(4, 3, 224, 224))
        for m in bns:
            c = m.num_features
            m.running_mean.add_(0.1 * torch.randn(c))
            m.running_var.mul_(torch.empty(c).uniform_(0.8, 1.25))
            m.weight.copy_(torch.empty(c).uniform_(0.5, 1.5))
            m.bias.copy_(0.1 * torch.randn(c))
            m.num_batches_tracked.fill_(1234)
            m.momentum = 0.1
    model.eval()
    with torch.no_grad():
        # The residual stream of an untrained post-activation ResNet grows unit by unit (resnet50's logits reach
        # about 180 here); the head is scaled so that they are of order one, as a trained network's are, and an
        # absolute tolerance of 1e-4 means the same for both models.
        model.fc.weight.mul_(3.0 / float(model(x).abs().max()))
        logits = model(x).numpy().astype(np.float32)
    path = os.path.join(out, name + "-head5.pth")
    torch.save(model.state_dict(), path)  # zip format since PyTorch 1.6
    np.save(os.path.join(out, name + "-head5.logits.npy"), logits)
    print("%s: %d tensors, %.1f MB, logits max |%.3f|" % (
        path, len(model.state_dict()), os.path.getsize(path) / 1e6, float(np.abs(logits).max())))
