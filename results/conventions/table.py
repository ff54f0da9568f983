#!/usr/bin/env python3
"""Prints the convention table of docs/training.md from the CSV files here
and the 100-epoch runs' metrics.csv (last epoch of each run)."""
import csv, os, sys
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)

def last(path, skip_comment=True):
    rows = [r for r in csv.reader(open(path)) if r and not r[0].startswith('#')]
    hdr, data = rows[0], rows[1:]
    return dict(zip(hdr, data[-1])), len(data)

runs = [
    ("mean (no 1/γ²), S=1", "1e-5", os.path.join(root, "mnist-wd1e-5", "metrics.csv")),
    ("mean (no 1/γ²), S=1", "1e-4", os.path.join(root, "mnist-wd1e-4", "metrics.csv")),
    ("mean (no 1/γ²), S=1", "1e-3", os.path.join(here, "mean_wd1e-3.csv")),
    ("sum (no 1/γ²), S=1", "1e-4", os.path.join(here, "sum_wd1e-4.csv")),
    ("mean with 1/γ², S=1", "1e-4", os.path.join(here, "mean-gamma_wd1e-4.csv")),
]
print("| convention | λ | λ_eff = λS/A | epochs | test acc | ρ (certified) | paper's ρ | median m | median δ |")
print("|---|---|---|---|---|---|---|---|---|")
A = {"mean (no 1/γ²), S=1": 1/64, "sum (no 1/γ²), S=1": 10/64, "mean with 1/γ², S=1": 1.0}
for name, lam, path in runs:
    if not os.path.exists(path):
        continue
    r, n = last(path)
    acc = float(r.get("test_acc", r.get("acc")))
    rs = r.get("rho_seed_style", r.get("rho_seedstyle"))
    mm = r.get("median_margin", r.get("median_m"))
    print(f"| {name} | {lam} | {float(lam)/A[name]:.2g} | {n} | {100*acc:.2f}% | {float(r['rho']):.3f} | {float(rs):.3f} | {float(mm):.3f} | {float(r['median_delta']):.3f} |")
