#!/usr/bin/python3
"""Durable save and restore: Cairn next to the disk's limits and its peers on one folder, in one run.

Usage: /usr/bin/python3 bench/scripts/save_vs_baselines.py DIR [--sizes 0.25,1,4,8] [--reps 3]
                                                            [--jsonl FILE] [--no-ndlist]

For every size (GiB, fractions allowed; rounded to whole MiB) and repetition it measures, on DIR:
  dd O_DIRECT + fsync      dd if=SRC of=DIR/.. bs=16M oflag=direct conv=fsync      (write limit)
  dd buffered + fsync      dd if=SRC of=DIR/.. bs=16M conv=fsync                   (write limit)
  dd O_DIRECT read         dd if=DIR/.. of=/dev/null bs=16M iflag=direct  (cold)   (read limit)
  dd buffered read         dd if=DIR/.. of=/dev/null bs=16M               (cold)   (read limit)
  dd O_DIRECT read, huge   the O_DIRECT read with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (cold)
                           (read limit): dd's 16 MiB buffer in 2 MiB pages, as ./cairn asks for
                           its own; a request to a virtio disk holds at most 254 physically
                           contiguous pieces, so with scattered 4 KiB pages it stops near 1 MiB
  torch.save + fsync       Debian's python3-torch, same bytes; torch.load (cold)
  cairn bench save         durable save (median of 3 in one JVM, as a training job saves again
                           and again); restore with a cold page cache, every CRC32C checked; the
                           async save's stall on the training thread, the first save's stall and
                           one in-memory copy of the same bytes (memcpy), from the same JVM
  cairn bench ndlist       DJL's NDList.encode to a file + fsync, NDList.decode back (cold): the
                           same bytes as NDArrays on DJL's PyTorch engine (median of 3 in one JVM)
The read limit is the best of the three cold reads. SRC is random data in /dev/shm (RAM), so
reading it costs no disk time; it exists only while dd and torch need it and is deleted before the
Java steps, so that an 8 GiB run never holds SRC (8 GiB of RAM) beside a JVM's 16 GiB (Cairn's data
and its staging buffers). Page caches are dropped before every read (needs root).

Prints Markdown tables of medians and ratios; --jsonl appends one JSON line per size with every
raw figure (seconds per repetition) and the ratios.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

GIB = 1 << 30
MIB = 1 << 20
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TORCH = r"""
import os, sys, time, torch
src, dst, mode = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "save":
    buf = bytearray(os.path.getsize(src))  # read straight into it: no second copy of SRC
    with open(src, "rb", buffering=0) as f:
        view, got = memoryview(buf), 0
        while got < len(buf):
            got += f.readinto(view[got:])
    t = torch.frombuffer(buf, dtype=torch.uint8)
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

# Medians (seconds) by key; the JSON of one size keeps every repetition.
KEYS = ["dd_direct", "dd_buffered", "dd_read_direct", "dd_read_buffered", "dd_read_direct_huge",
        "torch_save",
        "torch_load", "cairn_save", "cairn_restore", "cairn_stall", "cairn_stall_first",
        "cairn_memcpy", "ndlist_save", "ndlist_restore"]


def drop_caches():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3")


def dd(args, env=None):
    start = time.perf_counter()
    subprocess.run(["dd"] + args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=env)
    return time.perf_counter() - start


def size_bytes(size_gib):
    """Whole MiB, so that O_DIRECT writes and reads of the last block stay aligned."""
    return max(1, round(size_gib * GIB / MIB)) * MIB


def make_source(src, nbytes):
    with open(src, "wb") as f:
        left = nbytes
        while left > 0:
            n = min(left, 16 * MIB)
            f.write(os.urandom(n))
            left -= n


def java_bench(command, nbytes, dirpath, extra):
    res = subprocess.run([os.path.join(ROOT, "cairn"), "bench", command, "--bytes", str(nbytes),
                          "--dir", dirpath, "--json", "--repeat", "3", "--drop-caches"] + extra,
                         check=True, capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def measure(dirpath, size_gib, reps, ndlist):
    nbytes = size_bytes(size_gib)
    src = f"/dev/shm/cairn-bench-src-{nbytes}"
    out = {k: [] for k in KEYS}
    if not ndlist:
        del out["ndlist_save"], out["ndlist_restore"]
    target = os.path.join(dirpath, "cairn-bench-target")
    for _ in range(reps):
        make_source(src, nbytes)  # outside every timing
        try:
            out["dd_direct"].append(dd([f"if={src}", f"of={target}", "bs=16M", "oflag=direct",
                                        "conv=fsync"]))
            drop_caches()
            out["dd_read_direct"].append(dd([f"if={target}", "of=/dev/null", "bs=16M",
                                             "iflag=direct"]))
            drop_caches()
            out["dd_read_buffered"].append(dd([f"if={target}", "of=/dev/null", "bs=16M"]))
            drop_caches()
            huge = dict(os.environ, GLIBC_TUNABLES="glibc.malloc.hugetlb=1")
            out["dd_read_direct_huge"].append(dd([f"if={target}", "of=/dev/null", "bs=16M",
                                                  "iflag=direct"], env=huge))
            os.remove(target)
            out["dd_buffered"].append(dd([f"if={src}", f"of={target}", "bs=16M", "conv=fsync"]))
            os.remove(target)
            t = subprocess.run(["/usr/bin/python3", "-c", TORCH, src, target, "save"],
                               check=True, capture_output=True, text=True)
            out["torch_save"].append(float(t.stdout.strip()))
        finally:
            os.remove(src)  # before torch.load and the JVMs: RAM is what an 8 GiB run lacks
        drop_caches()
        t = subprocess.run(["/usr/bin/python3", "-c", TORCH, src, target, "load"], check=True,
                           capture_output=True, text=True)
        out["torch_load"].append(float(t.stdout.strip()))
        os.remove(target)
        j = java_bench("save", nbytes, dirpath, [])
        out["cairn_save"].append(j["save_seconds"])
        out["cairn_restore"].append(j["restore_seconds"])
        out["cairn_stall"].append(j["stall_seconds"])
        out["cairn_stall_first"].append(j["stall_first_seconds"])
        out["cairn_memcpy"].append(j["memcpy_seconds"])
        if ndlist:
            j = java_bench("ndlist", nbytes, dirpath, [])
            out["ndlist_save"].append(j["save_seconds"])
            out["ndlist_restore"].append(j["restore_seconds"])
    return nbytes, out


def summarize(size_gib, nbytes, out):
    """Medians, GB/s, seconds per GiB and the issue's ratios (throughput ratios: ≥ 1 is at or
    better than the limit or peer)."""
    med = {k: statistics.median(v) for k, v in out.items()}
    gbps = {k: nbytes / 1e9 / med[k] for k in med}
    gib = nbytes / GIB
    write_limit = max(gbps["dd_direct"], gbps["dd_buffered"])
    read_limit = max(gbps["dd_read_direct"], gbps["dd_read_buffered"], gbps["dd_read_direct_huge"])
    ratios = {
        "cairn_save_to_best_dd_write": gbps["cairn_save"] / write_limit,
        "cairn_restore_to_max_torch_load_or_95pct_read_limit":
            gbps["cairn_restore"] / max(gbps["torch_load"], 0.95 * read_limit),
        "cairn_restore_to_read_limit": gbps["cairn_restore"] / read_limit,
        "cairn_save_to_torch_save": gbps["cairn_save"] / gbps["torch_save"],
        "cairn_restore_to_torch_load": gbps["cairn_restore"] / gbps["torch_load"],
        "stall_to_memcpy": med["cairn_stall"] / med["cairn_memcpy"],
    }
    if "ndlist_save" in med:
        ratios["cairn_save_to_ndlist_save"] = gbps["cairn_save"] / gbps["ndlist_save"]
        ratios["cairn_restore_to_ndlist_restore"] = gbps["cairn_restore"] / gbps["ndlist_restore"]
    return {
        "size_gib": size_gib, "bytes": nbytes, "reps": len(out["cairn_save"]),
        "median_seconds": med,
        "gb_per_s": {k: gbps[k] for k in med if not k.startswith("cairn_stall")
                     and k != "cairn_memcpy"},
        "seconds_per_gib": {k: med[k] / gib for k in med},
        "write_limit_gb_per_s": write_limit, "read_limit_gb_per_s": read_limit,
        "ratios": ratios, "raw_seconds": out,
    }


def fmt(x, digits=2):
    return "–" if x is None else f"{x:.{digits}f}"


def print_tables(rows):
    nd = all("ndlist_save" in r["median_seconds"] for r in rows)
    print("### Save (GB/s, medians; ratio ≥ 1 means at or above the limit or peer)")
    print()
    print("| size | dd O_DIRECT+fsync | dd+fsync | **cairn save** | cairn / best dd | torch.save+fsync"
          " | cairn / torch" + (" | NDList.encode+fsync | cairn / NDList" if nd else "") + " |")
    print("|---" * (7 + (2 if nd else 0)) + "|")
    for r in rows:
        g, q = r["gb_per_s"], r["ratios"]
        line = (f"| {r['size_gib']:g} GiB | {fmt(g['dd_direct'])} | {fmt(g['dd_buffered'])}"
                f" | **{fmt(g['cairn_save'])}** | {fmt(q['cairn_save_to_best_dd_write'])}"
                f" | {fmt(g['torch_save'])} | {fmt(q['cairn_save_to_torch_save'])}")
        if nd:
            line += f" | {fmt(g['ndlist_save'])} | {fmt(q['cairn_save_to_ndlist_save'])}"
        print(line + " |")
    print()
    print("### Restore, cold cache (GB/s, medians)")
    print()
    print("| size | dd O_DIRECT read | dd buffered read | dd O_DIRECT read, 2 MiB pages | read limit | **cairn restore** | torch.load"
          " | cairn / max(torch.load, 0.95 × read limit) | cairn / read limit"
          + (" | NDList.decode | cairn / NDList" if nd else "") + " |")
    print("|---" * (9 + (2 if nd else 0)) + "|")
    for r in rows:
        g, q = r["gb_per_s"], r["ratios"]
        line = (f"| {r['size_gib']:g} GiB | {fmt(g['dd_read_direct'])} | {fmt(g['dd_read_buffered'])}"
                f" | {fmt(g['dd_read_direct_huge'])}"
                f" | {fmt(r['read_limit_gb_per_s'])} | **{fmt(g['cairn_restore'])}**"
                f" | {fmt(g['torch_load'])}"
                f" | {fmt(q['cairn_restore_to_max_torch_load_or_95pct_read_limit'])}"
                f" | {fmt(q['cairn_restore_to_read_limit'])}")
        if nd:
            line += f" | {fmt(g['ndlist_restore'])} | {fmt(q['cairn_restore_to_ndlist_restore'])}"
        print(line + " |")
    print()
    print("### Async save stall (seconds, medians)")
    print()
    print("| size | stall | one memcpy | **stall / memcpy** | first save's stall |")
    print("|---|---|---|---|---|")
    for r in rows:
        m = r["median_seconds"]
        print(f"| {r['size_gib']:g} GiB | {fmt(m['cairn_stall'], 4)} | {fmt(m['cairn_memcpy'], 4)}"
              f" | **{fmt(r['ratios']['stall_to_memcpy'])}** | {fmt(m['cairn_stall_first'], 4)} |")
    print()
    print("### Seconds per GiB (flat across sizes when nothing grows faster than the data)")
    print()
    keys = [k for k in KEYS if all(k in r["seconds_per_gib"] for r in rows)]
    print("| | " + " | ".join(f"{r['size_gib']:g} GiB" for r in rows) + " |")
    print("|---" * (len(rows) + 1) + "|")
    for k in keys:
        print(f"| {k} | " + " | ".join(fmt(r["seconds_per_gib"][k], 3) for r in rows) + " |")
    print()
    print("Raw seconds per repetition:")
    print("```")
    print(json.dumps({f"{r['size_gib']:g}": r["raw_seconds"] for r in rows}, indent=1))
    print("```")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--sizes", default="1,4", help="GiB, comma-separated; fractions allowed")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--jsonl", help="append one JSON line per size to this file")
    p.add_argument("--no-ndlist", action="store_true", help="leave DJL's NDList peer out")
    a = p.parse_args()
    sizes = [float(s) for s in a.sizes.split(",")]
    if any(s <= 0 for s in sizes) or a.reps < 1:
        p.error("sizes must be above 0 and --reps at least 1")
    os.makedirs(a.dir, exist_ok=True)
    rows = []
    for size in sizes:
        nbytes, out = measure(a.dir, size, a.reps, not a.no_ndlist)
        row = summarize(size, nbytes, out)
        rows.append(row)
        if a.jsonl:
            with open(a.jsonl, "a") as f:
                f.write(json.dumps(dict(row, bench="save_vs_baselines")) + "\n")
        print(f"{size:g} GiB done", file=sys.stderr, flush=True)
    print_tables(rows)


if __name__ == "__main__":
    main()
