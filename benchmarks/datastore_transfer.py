"""Datastore.upload / download against Azurite vs hand-written azure-storage-blob loops.

Workloads: 1,000 small files (4 KiB) and one 200 MB file. Baselines: a serial loop, and a thread-pool loop at the best
concurrency found by sweeping. Prints seconds and ratios (ours / baseline; below 1.0 means ours is faster).
Each transfer is the median of ``--rounds`` rounds, ours and the SDK loops interleaved in every round and reading the
same blobs, each round starting with a different side, so neither side gets the warm or the quiet half of the machine.

    .venv/bin/python benchmarks/datastore_transfer.py [--small 1000] [--big-mb 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.data.azurite import ACCOUNT, ACCOUNT_KEY, start_azurite  # noqa: E402


def timed(fn: Callable[..., object], *args: Any, **kwargs: Any) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def make_files(root: Path, small: int, big_mb: int) -> tuple[Path, Path]:
    small_dir, big_dir = root / "small", root / "big"
    for i in range(small):
        sub = small_dir / f"d{i % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:05d}.bin").write_bytes(os.urandom(4096))
    big_dir.mkdir(parents=True)
    with open(big_dir / "big.bin", "wb") as fh:
        for _ in range(big_mb):
            fh.write(os.urandom(1024 * 1024))
    return small_dir, big_dir


def files_of(folder: Path) -> list[tuple[Path, str]]:
    return [(p, p.relative_to(folder).as_posix()) for p in sorted(folder.rglob("*")) if p.is_file()]


def sdk_upload(container: object, files: list[tuple[Path, str]], prefix: str, threads: int, per_file: int) -> None:
    def one(item: tuple[Path, str]) -> None:
        path, rel = item
        with open(path, "rb") as fh:
            container.upload_blob(f"{prefix}/{rel}", fh, overwrite=True, max_concurrency=per_file)  # type: ignore[attr-defined]

    if threads == 1:
        for item in files:
            one(item)
    else:
        with cf.ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, files))


def sdk_download(container: object, prefix: str, target: Path, threads: int, per_file: int) -> None:
    names = [b.name for b in container.list_blobs(name_starts_with=prefix + "/")]  # type: ignore[attr-defined]

    def one(name: str) -> None:
        local = target / name
        local.parent.mkdir(parents=True, exist_ok=True)
        with open(local, "wb") as fh:
            container.download_blob(name, max_concurrency=per_file).readinto(fh)  # type: ignore[attr-defined]

    if threads == 1:
        for name in names:
            one(name)
    else:
        with cf.ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--big-mb", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="rounds per transfer; the table shows medians")
    opts = parser.parse_args()

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from azure.storage.blob import BlobServiceClient

    from jupyter_amlrun import Datastore, Workspace

    with tempfile.TemporaryDirectory(prefix="amlrun_bench_") as tmp_name:
        tmp = Path(tmp_name)
        azurite = start_azurite(tmp / "azurite")
        try:
            small_dir, big_dir = make_files(tmp / "src", opts.small, opts.big_mb)
            ws = Workspace.create("bench", path=tmp / "ws")
            store = Datastore.register_azure_blob_container(
                ws,
                "bench",
                container_name="bench",
                account_name=ACCOUNT,
                account_key=ACCOUNT_KEY,
                endpoint=azurite.endpoint,
                create_if_not_exists=True,
            )
            service = BlobServiceClient(
                azurite.endpoint, credential={"account_name": ACCOUNT, "account_key": ACCOUNT_KEY}
            )
            container = service.get_container_client("bench")
            rows: list[tuple[str, float, float, str, float]] = []
            for label, folder, sweep in (
                (f"{opts.small} small files", small_dir, [(4, 1), (8, 1), (16, 1), (32, 1)]),
                (f"1 file of {opts.big_mb} MB", big_dir, [(1, 2), (1, 4), (1, 8)]),
            ):
                files = files_of(folder)
                tag = uuid.uuid4().hex[:6]
                up: dict[str, list[float]] = {}
                down: dict[str, list[float]] = {}
                # The same blobs for every download: they are uploaded once here (by us), before the rounds.
                store.upload(folder, f"src-{tag}", overwrite=True, show_progress=False)
                for rnd in range(opts.rounds):
                    out = tmp / f"dl-{tag}-{rnd}"
                    uploads: list[tuple[str, Callable[[], object]]] = [
                        ("ours", partial(store.upload, folder, f"ours-{tag}", overwrite=True, show_progress=False)),
                        ("serial", partial(sdk_upload, container, files, f"serial-{tag}", 1, 1)),
                    ]
                    downloads: list[tuple[str, Callable[[], object]]] = [
                        ("ours", partial(store.download, out / "ours", f"src-{tag}", True, False)),
                        ("serial", partial(sdk_download, container, f"src-{tag}", out / "serial", 1, 1)),
                    ]
                    for i, (threads, per_file) in enumerate(sweep):
                        key = f"threads={threads}, max_concurrency={per_file}"
                        uploads.append((key, partial(sdk_upload, container, files, f"pool-{tag}", threads, per_file)))
                        downloads.append(
                            (key, partial(sdk_download, container, f"src-{tag}", out / f"p{i}", threads, per_file))
                        )
                    # Each round starts with a different contender: whoever goes first after the uploads meets the
                    # disk still writing them back, and that must not always be the same side.
                    for times, contenders in ((up, uploads), (down, downloads)):
                        shift = rnd % len(contenders)
                        for key, fn in contenders[shift:] + contenders[:shift]:
                            times.setdefault(key, []).append(timed(fn))
                    shutil.rmtree(out, ignore_errors=True)  # keep the disk (and its page cache) from filling up
                for what, times in (("upload  ", up), ("download", down)):
                    med = {k: statistics.median(v) for k, v in times.items()}
                    best_cfg = min((k for k in med if k not in ("ours", "serial")), key=med.__getitem__)
                    rows.append((f"{what} {label}", med["ours"], med[best_cfg], best_cfg, med["serial"]))
        finally:
            azurite.stop()

    print(
        f"\nDatastore transfers against Azurite ({os.cpu_count()} CPUs; Azurite shares them), "
        f"median of {opts.rounds} interleaved rounds\n"
    )
    head = (
        f"{'workload':<32}{'ours s':>9}{'best SDK s':>12}{'ours/best':>11}{'serial s':>10}{'ours/serial':>13}"
        "  best SDK setting"
    )
    print(head)
    print("-" * len(head))
    for name, ours, best, cfg, serial in rows:
        print(f"{name:<32}{ours:>9.2f}{best:>12.2f}{ours / best:>11.2f}{serial:>10.2f}{ours / serial:>13.2f}  {cfg}")


if __name__ == "__main__":
    main()
