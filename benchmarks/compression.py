"""Pick the snapshot codec by measurement: zstd levels 1 and 3 against gzip -1 and -6.

Generates ~200 MB of realistic input (a MariaDB-style SQL dump and a tar of a Magento-like
``pub/media`` + ``var`` folder: text, JSON, logs and already-compressed images), then
compresses each input with each codec in one thread and prints MB/s and ratio.

    python3 benchmarks/compression.py [--mb 200]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import tarfile
import time
import zlib
from collections.abc import Callable, Iterator

import zstandard

CHUNK = 1 << 20
_TEXT = (
    "magento catalog product price special sale shirt blue red green large small cotton wool "
    "order invoice shipment customer address street city berlin paris london quote cart item "
    "grand total tax discount coupon summer winter category simple configurable bundle stock"
)
WORDS = _TEXT.split()


def sql_dump(target: int, rng: random.Random) -> bytes:
    out = io.StringIO()
    out.write("-- MariaDB dump 10.19\n/*!40101 SET NAMES utf8mb4 */;\n")
    size = 0
    table = 0
    while size < target:
        table += 1
        out.write(f"CREATE TABLE `t{table}` (`id` int, `sku` varchar(64), `name` text);\n")
        out.write(f"INSERT INTO `t{table}` VALUES ")
        rows = []
        for i in range(2000):
            name = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
            rows.append(
                f"({i},'SKU-{rng.randint(0, 10**8):08d}','{name}',{rng.random() * 1000:.4f},"
                f"'2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} "
                f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00',"
                f"'user{rng.randint(0, 99999)}@example.com',0x{rng.randbytes(12).hex()})"
            )
        chunk = ",".join(rows) + ";\n"
        out.write(chunk)
        size += len(chunk)
    return out.getvalue().encode()


def media_tar(target: int, rng: random.Random) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        size = 0
        n = 0
        while size < target:
            n += 1
            kind = n % 4
            if kind == 0:  # an already-compressed image
                data = rng.randbytes(rng.randint(20_000, 400_000))
                name = f"pub/media/catalog/product/{n % 97}/{n}.jpg"
            elif kind == 1:
                data = "\n".join(
                    f"[2025-11-20 12:{i % 60:02d}:00] main.INFO: "
                    + " ".join(rng.choice(WORDS) for _ in range(10))
                    for i in range(2000)
                ).encode()
                name = f"var/log/system-{n}.log"
            else:
                data = repr(
                    {f"k{i}": [rng.choice(WORDS), rng.randint(0, 9999)] for i in range(3000)}
                ).encode()
                name = f"var/cache/mage-{n}.json"
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            size += len(data)
    return buf.getvalue()


def chunks(data: bytes) -> Iterator[memoryview]:
    view = memoryview(data)
    for i in range(0, len(view), CHUNK):
        yield view[i : i + CHUNK]


def zstd(level: int) -> Callable[[bytes], int]:
    def run(data: bytes) -> int:
        sink = io.BytesIO()
        with zstandard.ZstdCompressor(level=level).stream_writer(sink, closefd=False) as w:
            for c in chunks(data):
                w.write(c)
        return len(sink.getvalue())

    return run


def gzip(level: int) -> Callable[[bytes], int]:
    def run(data: bytes) -> int:
        comp = zlib.compressobj(level, zlib.DEFLATED, 31)
        total = 0
        for c in chunks(data):
            total += len(comp.compress(c))
        return total + len(comp.flush())

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(42)
    half = args.mb * 1_000_000 // 2
    inputs = {"sql dump": sql_dump(half, rng), "files tar": media_tar(half, rng)}
    inputs["both"] = inputs["sql dump"] + inputs["files tar"]
    codecs = {"zstd -1": zstd(1), "zstd -3": zstd(3), "gzip -1": gzip(1), "gzip -6": gzip(6)}
    print(f"cpu: {os.cpu_count()} cores; one compression thread each")
    print(f"{'input':10} {'MB':>6} {'codec':8} {'MB/s':>8} {'ratio':>6}")
    for label, data in inputs.items():
        mb = len(data) / 1e6
        for name, codec in codecs.items():
            start = time.perf_counter()
            out = codec(data)
            secs = time.perf_counter() - start
            print(f"{label:10} {mb:6.0f} {name:8} {mb / secs:8.1f} {len(data) / out:6.2f}")


if __name__ == "__main__":
    main()
