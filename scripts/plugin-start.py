#!/usr/bin/env python3
"""VERSION start-up of CNI plugin binaries: median and p90 wall time of N sequential runs each,
from subprocess.run to exit, and the median CPU time (user + system) of the child, the runs of
all binaries interleaved so load affects them alike. On a loaded machine the CPU time is the
steadier figure.

    scripts/plugin-start.py [-n 300] BINARY...   (e.g. .build-plugins/release/cni-hello-plugin /usr/lib/cni/portmap)
"""
import argparse, resource, statistics, subprocess, time

parser = argparse.ArgumentParser()
parser.add_argument("-n", type=int, default=300)
parser.add_argument("binaries", nargs="+")
arguments = parser.parse_args()
environment = {"PATH": "/usr/bin:/bin", "CNI_COMMAND": "VERSION"}
times = {binary: [] for binary in arguments.binaries}
cpu = {binary: [] for binary in arguments.binaries}
for _ in range(arguments.n):
    for binary in arguments.binaries:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter_ns()
        result = subprocess.run([binary], env=environment, input=b'{"cniVersion":"1.0.0"}', capture_output=True)
        times[binary].append((time.perf_counter_ns() - start) / 1e6)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu[binary].append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
        assert result.returncode == 0, (binary, result.stdout, result.stderr)
print("| Binary | VERSION wall median | wall p90 | CPU median (user + sys) |")
print("|---|---|---|---|")
for binary, samples in times.items():
    samples.sort()
    print(f"| {binary} | {statistics.median(samples):.2f} ms | {samples[int(len(samples) * 0.9)]:.2f} ms | {statistics.median(cpu[binary]):.2f} ms |")
