"""A large CSV as consecutive blocks of whole records, so memory follows the block.

Owns where a block may end (after a newline outside quotes), records longer
than a block, and the file's encoding settled block by block (UTF-8 until a
block is not: then Windows text, or mixed encodings refused).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from folio.ingest.readers.delimited import (
    HEAD_BYTES,
    _NotUtf8,
    _parse_body,
    _read_decoded,
    _utf8_header,
)
from folio.ingest.readers.sniff import _UTF8_MULTIBYTE, _mixed_encodings, _windows_text
from folio.ingest.readers.table import BlockSource, RawTable


def _csv_blocks(path: Path, name: str, known: Iterable[str],
                block_bytes: int) -> Iterator[RawTable]:
    """A large CSV as blocks of whole records (see ``read_blocks``)."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        buf = fh.read(max(block_bytes, HEAD_BYTES))
        found = _utf8_header(buf, name, known) or _utf8_header(buf, name, known, legacy=True)
        if found is None:
            # UTF-16, old Mac line ends, a binary or partly UTF-8 head: the
            # general path, on the whole file.
            yield _read_decoded(buf + fh.read(), name, known)
            return
        offset, header_index, delimiter, cells, encoding, titles = found
        decoding = _BlockDecoding(name, encoding)
        first_line = header_index + 2
        done = offset
        buf = buf[offset:]

        def read_on(buf: bytes) -> tuple[bytes, bool]:
            """``buf`` and the next block of the file; whether the file has ended."""
            more = fh.read(block_bytes)
            return buf + more, not more or fh.tell() >= size  # a file cut short ends too

        eof = fh.tell() >= size
        first = True
        while True:
            if not eof and len(buf) <= block_bytes:  # keep a block ahead: is this the last?
                buf, eof = read_on(buf)
                continue
            cut, end = -1, block_bytes
            while cut <= 0 and end < len(buf):  # records longer than a block: a longer block
                cut, end = _last_record_end(buf, end), end * 2
            if cut <= 0:
                if not eof:
                    buf, eof = read_on(buf)
                    continue
                cut = len(buf)
            part, buf = buf[:cut], buf[cut:]
            if not eof and len(buf) <= block_bytes:
                buf, eof = read_on(buf)
            last = eof and not buf
            quoted = b'"' in part
            try:
                table = _parse_body(decoding.body(part), name, decoding.encoding, header_index,
                                    delimiter, cells, first_line=first_line, require_rows=first,
                                    quoted=quoted)
            except _NotUtf8:
                table = _parse_body(decoding.not_utf8(part, first_line), name, decoding.encoding,
                                    header_index, delimiter, cells, first_line=first_line,
                                    require_rows=first, quoted=quoted)
            table.source = BlockSource(str(path), done, len(part), first_line, decoding.encoding,
                                       delimiter)
            done += len(part)
            table.span = ((done - len(part)) / size, done / size)
            table.last = last
            table.titles = titles if first else []
            yield table
            if last:
                return
            first_line += part.count(b"\n")
            first = False


class _BlockDecoding:
    """The encoding of a streamed CSV, settled block by block as ``_decode`` settles a file's.

    Blocks are UTF-8 until one is not: then, if no earlier block held a UTF-8
    multi-byte character, the file is Windows text (cp1252, else latin-1) and
    this block and the rest are transcoded; otherwise its encodings are mixed.
    """

    def __init__(self, name: str, encoding: str) -> None:
        self.name, self.encoding = name, encoding
        self.multibyte = self.seen_multibyte = False
        self.legacy: str | None = encoding if encoding in ("cp1252", "latin-1") else None
        self._first_line = 0

    def body(self, part: bytes):
        """The block as UTF-8 for the parser, which checks it as it goes."""
        if self.legacy is None:
            self.seen_multibyte, self.multibyte = self.multibyte, self.multibyte or not part.isascii()
            return memoryview(part)
        match = _UTF8_MULTIBYTE.search(part)
        if match:
            raise _mixed_encodings(self.name, part, match.start(), self._first_line)
        text, self.legacy = _windows_text(part, self.legacy)
        self.encoding = self.legacy
        return memoryview(text.encode("utf-8"))

    def not_utf8(self, part: bytes, first_line: int):
        """The block the parser found not UTF-8: mixed encodings, or the file is Windows text."""
        try:
            part.decode("utf-8")
        except UnicodeDecodeError as exc:
            if self.seen_multibyte or _UTF8_MULTIBYTE.search(part):
                raise _mixed_encodings(self.name, part, exc.start, first_line) from None
        self.legacy, self._first_line = "cp1252", first_line
        return self.body(part)


def _last_record_end(buf: bytes, end: int) -> int:
    """Offset just past the last newline outside quotes in ``buf[:end]``; -1 if none."""
    if buf.find(b'"', 0, end) < 0:
        return buf.rfind(b"\n", 0, end) + 1 or -1
    quotes = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8, count=min(end, len(buf))) == 34)
    while True:
        at = buf.rfind(b"\n", 0, end)
        if at < 0:
            return -1
        if np.searchsorted(quotes, at) % 2 == 0:  # an even number of quotes before it
            return at + 1
        end = at
