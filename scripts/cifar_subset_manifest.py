#!/usr/bin/python3
"""The training images ../shared/peer/peer_recipe.py --subset N picks (seed 42), as a CSV manifest for convnet.

    /usr/bin/python3 scripts/cifar_subset_manifest.py ../shared/datasets/cifar10 10000 > subset10k.csv
"""
import csv, glob, os, sys
import torch

data, n = sys.argv[1], int(sys.argv[2])
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 42
files, labels = [], []
for c in sorted(os.listdir(f"{data}/train")):  # the peer's order: classes sorted, files sorted
    for f in sorted(glob.glob(f"{data}/train/{c}/*")):
        files.append(os.path.abspath(f)); labels.append(c)
idx = torch.randperm(len(files), generator=torch.Generator().manual_seed(seed))[:n]
w = csv.writer(sys.stdout, lineterminator="\n")
w.writerow(["path", "label"])
for i in idx.tolist():
    w.writerow([files[i], labels[i]])
