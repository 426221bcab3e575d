"""The allocator tuning takes effect on glibc and yields to a deployment's own MALLOC_ settings.

Each check runs in a fresh interpreter, since mallopt changes the whole process it runs in,
and reads glibc's own accounting (`mallinfo2`) around allocations made through ctypes:
- a 16 MiB block comes from the heap once tuned (mmap threshold 32 MiB), where untuned
  glibc (128 KiB threshold) maps it on its own;
- 16 MiB freed at the top of the heap stays there once tuned (trim threshold 256 MiB),
  where untuned glibc hands it back to the kernel;
- threads share two arenas once tuned (glibc alone gives each thread its own);
- 300 MiB freed below a live block stays resident, idle or not, until the idle trimmer
  runs, and then goes back to the kernel (resident size read from /proc/self/statm).
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from typing import Literal

import pytest

from darkroom.runtime import allocator

MIB = 1024**2
BLOCK = 16 * MIB
PIECE = 64 * 1024
"""Below glibc's default mmap threshold: pieces always come from the heap."""
NOISE = 1 * MIB
"""What the interpreter itself may allocate or free between two readings."""

PROBE = """
import ctypes, json, sys

FIELDS = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
          "uordblks", "fordblks", "keepcost")

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in FIELDS]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Mallinfo2
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]

def info():
    raw = libc.mallinfo2()
    return {name: getattr(raw, name) for name in ("arena", "hblkhd", "uordblks", "fordblks")}

tuned = None
if sys.argv[1] == "tuned":
    from darkroom.runtime.allocator import tune_allocator
    tuned = tune_allocator()

block, piece = int(sys.argv[2]), int(sys.argv[3])
readings = {}

# Many pieces, each small enough for the heap whatever the mmap threshold, freed together:
# they merge into free space at the top of the heap, which glibc trims past its threshold.
# The addresses go to an array made beforehand: a growing list would be reallocated by
# malloc between the pieces and pin the heap's top.
count = block // piece
pieces = (ctypes.c_void_p * count)()
readings["pieces_before"] = info()
for i in range(count):
    pieces[i] = libc.malloc(piece)
readings["pieces_held"] = info()
for i in reversed(range(count)):
    libc.free(pieces[i])
readings["pieces_freed"] = info()
assert all(pieces)

# One big block: mapped on its own above the mmap threshold, else carved from the heap.
readings["block_before"] = info()
address = libc.malloc(block)
assert address
ctypes.memset(address, 1, block)
readings["block_held"] = info()
libc.free(address)
readings["block_freed"] = info()

print(json.dumps({"tuned": tuned, "readings": readings}))
"""

Reading = dict[str, int]


@dataclass(frozen=True)
class Run:
    tuned: bool | None
    readings: dict[str, Reading]

    def delta(self, field: str, start: str, end: str) -> int:
        """How much `field` grew from reading `start` to reading `end` (negative: shrank)."""
        return self.readings[end][field] - self.readings[start][field]


def has_mallinfo2() -> bool:
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        return hasattr(ctypes.CDLL("libc.so.6"), "mallinfo2")
    except OSError:
        return False


glibc_only = pytest.mark.skipif(
    not has_mallinfo2(),
    reason="the thresholds are glibc's, and read through mallinfo2 (glibc 2.33 or newer)",
)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of this process without any malloc tuning of its own."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("MALLOC_") and name != "GLIBC_TUNABLES"
    }
    return env | extra


def probe(mode: Literal["tuned", "untuned"]) -> Run:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, mode, str(BLOCK), str(PIECE)],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    found = json.loads(result.stdout)
    return Run(found["tuned"], found["readings"])


@glibc_only
def test_tuned_a_16_mib_block_comes_from_the_heap_and_stays_there_once_freed() -> None:
    run = probe("tuned")
    assert run.tuned is True
    # Not mapped on its own: no new mmapped bytes, the heap's in-use bytes grew by the block.
    assert abs(run.delta("hblkhd", "block_before", "block_held")) < NOISE, run.readings
    assert run.delta("uordblks", "block_before", "block_held") >= BLOCK, run.readings
    # Freed, it stays in the heap as free space: the heap is not trimmed.
    assert run.delta("arena", "block_held", "block_freed") > -NOISE, run.readings
    assert run.delta("fordblks", "block_held", "block_freed") >= BLOCK - NOISE, run.readings


@glibc_only
def test_tuned_freed_pieces_stay_in_the_heap() -> None:
    run = probe("tuned")
    assert run.tuned is True
    assert run.delta("arena", "pieces_before", "pieces_held") >= BLOCK - NOISE, run.readings
    assert run.delta("arena", "pieces_held", "pieces_freed") > -NOISE, run.readings
    assert run.delta("fordblks", "pieces_held", "pieces_freed") >= BLOCK - NOISE, run.readings


@glibc_only
def test_untuned_glibc_maps_the_block_and_trims_the_freed_pieces() -> None:
    # The control: without the tuning the same allocations behave as the module says.
    run = probe("untuned")
    assert run.tuned is None
    assert run.delta("hblkhd", "block_before", "block_held") >= BLOCK, run.readings
    assert abs(run.delta("uordblks", "block_before", "block_held")) < NOISE, run.readings
    assert run.delta("hblkhd", "block_held", "block_freed") <= -BLOCK, run.readings
    assert run.delta("arena", "pieces_before", "pieces_held") >= BLOCK - NOISE, run.readings
    assert run.delta("arena", "pieces_held", "pieces_freed") <= -(BLOCK - NOISE), run.readings


PRINT_APPLIED = "from darkroom.runtime.allocator import tune_allocator; print(tune_allocator())"


def applied(**env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", PRINT_APPLIED],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()


@glibc_only
def test_applied_on_glibc_unless_the_deployment_set_its_own() -> None:
    assert applied() == "True"
    assert applied(MALLOC_TRIM_THRESHOLD_="131072") == "False"
    assert applied(MALLOC_MMAP_THRESHOLD_="131072") == "False"


def test_other_platforms_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert allocator.tune_allocator() is False


# --- handing memory back when idle -----------------------------------------------------


class FakeCpu:
    """The process's CPU time, advanced by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_idle_trimmer_trims_once_after_each_busy_spell() -> None:
    cpu, trims = FakeCpu(), list[float]()

    def trim() -> bool:
        trims.append(cpu.now)
        return True

    trimmer = allocator.IdleTrimmer(trim, interval=30, idle_cpu_fraction=0.02, cpu_time=cpu)

    def window(cpu_seconds: float) -> int:
        cpu.now += cpu_seconds
        return trimmer.step()

    # Start-up counts as a burst: the first quiet window trims.
    assert [window(0.1), window(0.1), window(0.0)] == [1, 0, 0]
    # A burst (a transform or render uses more than 0.6 s of CPU in 30 s): kept while busy...
    assert [window(5.0), window(20.0), window(0.7)] == [0, 0, 0]
    # ... and handed back once, in the first quiet window after it.
    assert [window(0.05), window(0.05), window(0.05)] == [1, 0, 0]
    assert len(trims) == trimmer.trims == 2


def test_no_trimmer_off_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert allocator.malloc_trim() is None
    assert allocator.idle_trimmer() is None


BURST = """
import ctypes, json, os, sys, time
from darkroom.runtime.allocator import idle_trimmer, tune_allocator

PAGE = os.sysconf("SC_PAGE_SIZE")

def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE

assert tune_allocator()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
total, block = int(sys.argv[1]), int(sys.argv[2])
count = total // block
readings = {"baseline": rss()}
# A burst: many medium blocks (under the tuned mmap threshold, so from the heap), touched
# like decoded pixels, then freed, except the one allocated last: like any object still
# alive at the top of the heap, it keeps free() from trimming the space below it.
blocks = (ctypes.c_void_p * (count + 1))()
for i in range(count + 1):
    blocks[i] = libc.malloc(block)
    ctypes.memset(blocks[i], 1, block)
readings["peak"] = rss()
for i in range(count):
    libc.free(blocks[i])
readings["freed"] = rss()
time.sleep(1.0)
readings["idle_without_trimmer"] = rss()
trimmer = idle_trimmer(interval=0.2)
trimmer.start()
deadline = time.monotonic() + 20
while rss() > readings["baseline"] + total // 4 and time.monotonic() < deadline:
    time.sleep(0.05)
readings["idle_with_trimmer"] = rss()
trimmer.stop()
libc.free(blocks[count])
print(json.dumps(readings))
"""


@glibc_only
def test_memory_of_a_burst_stays_until_idle_then_goes_back() -> None:
    total = 300 * MIB
    result = subprocess.run(
        [sys.executable, "-c", BURST, str(total), str(256 * 1024)],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    rss = json.loads(result.stdout)
    baseline = rss["baseline"]
    assert rss["peak"] - baseline >= total - 10 * MIB, rss
    # Freed, the memory stays with the process (the tuning's point): without a trim, even
    # idle, the process holds on to all of it ...
    assert rss["freed"] - baseline >= total - 10 * MIB, rss
    assert rss["idle_without_trimmer"] - baseline >= total - 10 * MIB, rss
    # ... and once the trimmer sees an idle window, it goes back to the kernel.
    assert rss["idle_with_trimmer"] - baseline < total // 4, rss


ARENAS = """
import ctypes, sys, threading
from darkroom.runtime.allocator import tune_allocator

tune_allocator()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
started = threading.Barrier(8)

def work():
    started.wait()  # all alive at once: none can inherit another's arena
    for _ in range(100):
        libc.free(libc.malloc(256 * 1024))

threads = [threading.Thread(target=work) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
libc.malloc_stats()  # to stderr: one "Arena N:" block per arena
"""


def arenas(**env: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", ARENAS],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return sum(line.startswith("Arena ") for line in result.stderr.splitlines())


@glibc_only
def test_threads_share_two_arenas_unless_the_deployment_chose() -> None:
    # Eight threads allocating at once: glibc alone gives each its own arena.
    assert arenas() == allocator.ARENA_MAX == 2
    assert arenas(MALLOC_ARENA_MAX="16") >= 8
