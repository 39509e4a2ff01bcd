"""The kernel's side of a large upload: pieces written and hashed as they arrive.

Plays the browser's part of the import panel's ``Upload`` (each piece sent
when the kernel asks for it, ``CHUNK`` bytes at a time) for a file of SIZE_MB
(default 200), and times it against saving the same bytes in one go, as a
one-message upload would (``save_upload``, the whole file in memory first).
Prints both rates, their ratio, and the peak memory the pieces added (about
one piece; a one-message upload holds the whole file in the kernel before
anything is written, which is not measured: it is the file's size).
The browser to kernel transfer is not in these figures (the browser test
sends a real 50 MB file through JupyterLab).

Run: python benchmarks/bench_upload.py [SIZE_MB]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import tracemalloc

import folio
from folio.widgets.import_panel import save_upload
from folio.widgets.upload import CHUNK, Upload

SIZE_MB = int(sys.argv[1]) if len(sys.argv) > 1 else 200


def in_pieces(upload: Upload, content: bytes) -> None:
    asked: list[dict] = []
    upload.send = lambda message, buffers=None: asked.append(message)
    upload.receive({"kind": "start", "name": "bench.csv", "size": len(content)})
    view = memoryview(content)
    while asked and asked[-1]["kind"] == "next":
        offset = asked[-1]["offset"]
        upload.receive({"kind": "piece", "offset": offset}, [view[offset:offset + CHUNK]])
    assert upload.state == "done", upload.error


def timed(run) -> tuple[float, float]:
    """(seconds, peak MB of Python memory the run added)."""
    tracemalloc.start()
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        folio.configure(home=home)
        content = os.urandom(SIZE_MB * 2**20)
        pieces_s, pieces_mb = timed(lambda: in_pieces(Upload(), content))
        # Other bytes, so the second run writes a file of its own.
        other = content[1:] + b"\n"
        whole_s, _ = timed(lambda: save_upload("bench.csv", other))
    print(f"upload of {SIZE_MB:,} MB in pieces of {CHUNK / 2**20:g} MB: {pieces_s:.2f} s "
          f"({SIZE_MB / pieces_s:,.0f} MB/s), peak {pieces_mb:,.1f} MB added")
    print(f"the same bytes saved in one go:   {whole_s:.2f} s ({SIZE_MB / whole_s:,.0f} MB/s), "
          f"the whole {SIZE_MB:,} MB held in the kernel first")
    print(f"pieces / one go: {pieces_s / whole_s:.2f}x the time")


if __name__ == "__main__":
    main()
