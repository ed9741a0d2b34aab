#!/usr/bin/python3
"""Durable save and restore: Cairn next to dd and torch.save on the same folder, in one run.

Usage: /usr/bin/python3 bench/scripts/save_vs_baselines.py DIR [--sizes 1,4] [--reps 3]

For every size (GiB) and repetition it measures, on DIR:
  dd O_DIRECT + fsync          dd if=SRC of=DIR/.. bs=16M oflag=direct conv=fsync
  dd buffered + fsync          dd if=SRC of=DIR/.. bs=16M conv=fsync
  dd O_DIRECT read             dd if=DIR/.. of=/dev/null bs=16M iflag=direct  (cold)
  cairn bench save             durable save (median of 3 in one JVM, as a training job saves
                               again and again); restore with a cold page cache
  torch.save + fsync           Debian's python3-torch, same bytes; torch.load (cold)
SRC is random data in /dev/shm, so reading it costs no disk time. Page caches are dropped
before every read (needs root). Prints a Markdown table of medians and ratios.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

GIB = 1 << 30
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TORCH = r"""
import os, sys, time, torch
src, dst, mode = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "save":
    with open(src, "rb") as f:
        t = torch.frombuffer(bytearray(f.read()), dtype=torch.uint8)
    start = time.perf_counter()
    with open(dst, "wb") as f:
        torch.save({"model": t}, f)
        f.flush()
        os.fsync(f.fileno())
    dfd = os.open(os.path.dirname(dst), os.O_RDONLY)
    os.fsync(dfd)
    os.close(dfd)
    print(time.perf_counter() - start)
else:
    start = time.perf_counter()
    t = torch.load(dst)["model"]
    s = int(t[::4096].sum())
    print(time.perf_counter() - start)
"""


def drop_caches():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3")


def dd(args):
    start = time.perf_counter()
    subprocess.run(["dd"] + args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(dirpath, size_gib, reps):
    nbytes = size_gib * GIB
    src = f"/dev/shm/cairn-bench-src-{size_gib}"
    if not os.path.exists(src) or os.path.getsize(src) != nbytes:
        with open(src, "wb") as f:
            for _ in range(size_gib * 64):
                f.write(os.urandom(16 << 20))
    out = {k: [] for k in ["dd_direct", "dd_buffered", "dd_read", "cairn_save", "cairn_restore",
                           "torch_save", "torch_load"]}
    target = os.path.join(dirpath, "cairn-bench-target")
    for _ in range(reps):
        out["dd_direct"].append(dd([f"if={src}", f"of={target}", "bs=16M", "oflag=direct",
                                    "conv=fsync"]))
        drop_caches()
        out["dd_read"].append(dd([f"if={target}", "of=/dev/null", "bs=16M", "iflag=direct"]))
        os.remove(target)
        out["dd_buffered"].append(dd([f"if={src}", f"of={target}", "bs=16M", "conv=fsync"]))
        os.remove(target)
        res = subprocess.run([os.path.join(ROOT, "cairn"), "bench", "save", "--bytes",
                              f"{size_gib}GiB", "--dir", dirpath, "--json", "--repeat", "3",
                              "--drop-caches"], check=True, capture_output=True, text=True)
        j = json.loads(res.stdout.strip().splitlines()[-1])
        out["cairn_save"].append(j["save_seconds"])
        out["cairn_restore"].append(j["restore_seconds"])
        t = subprocess.run(["/usr/bin/python3", "-c", TORCH, src, target, "save"], check=True,
                           capture_output=True, text=True)
        out["torch_save"].append(float(t.stdout.strip()))
        drop_caches()
        t = subprocess.run(["/usr/bin/python3", "-c", TORCH, src, target, "load"], check=True,
                           capture_output=True, text=True)
        out["torch_load"].append(float(t.stdout.strip()))
        os.remove(target)
    return nbytes, out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--sizes", default="1,4")
    p.add_argument("--reps", type=int, default=3)
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    print("| size | dd O_DIRECT+fsync | dd+fsync | **cairn save** | cairn / best dd | torch.save+fsync"
          " | dd O_DIRECT read | **cairn restore** | torch.load |")
    print("|---|---|---|---|---|---|---|---|---|")
    raw = {}
    for size in [int(s) for s in a.sizes.split(",")]:
        nbytes, out = measure(a.dir, size, a.reps)
        raw[size] = out
        gbps = {k: nbytes / 1e9 / statistics.median(v) for k, v in out.items()}
        best_dd = max(gbps["dd_direct"], gbps["dd_buffered"])
        print(f"| {size} GiB | {gbps['dd_direct']:.2f} GB/s | {gbps['dd_buffered']:.2f} GB/s"
              f" | **{gbps['cairn_save']:.2f} GB/s** | {gbps['cairn_save'] / best_dd:.2f}"
              f" | {gbps['torch_save']:.2f} GB/s | {gbps['dd_read']:.2f} GB/s"
              f" | **{gbps['cairn_restore']:.2f} GB/s** | {gbps['torch_load']:.2f} GB/s |")
        sys.stdout.flush()
    print()
    print("Raw seconds per repetition:")
    print("```")
    print(json.dumps(raw, indent=1))
    print("```")


if __name__ == "__main__":
    main()
