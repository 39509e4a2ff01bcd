"""``Upload``: a file picker that sends the file to the kernel in pieces.

Owns the browser's half and the kernel's half of an upload of any size up to
``FOLIO_MAX_FILE_MB``. ``ipywidgets.FileUpload`` sends a whole file in one
message, which the Jupyter server drops above its message limit (about
10 MB) without a word; here the browser reads the file a ``CHUNK`` at a time
and sends the next piece only when the kernel asks for it, so no message is
large and a slow kernel is never flooded. The kernel writes each piece to
disk as it comes (``folio.execution.uploads.ChunkedUpload``). The state
(``state``, ``received``, ``size``, ``error``, ``path``) is traitlets a
panel observes; tests drive ``receive`` as the browser would.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anywidget
import traitlets as t

from folio.config import Settings, get_settings
from folio.errors import FolioError, ReadError
from folio.execution.uploads import ChunkedUpload

CHUNK = 2 << 20  # bytes a message carries: far under the server's limit

_ESM = """
const CHUNK = @CHUNK@;
export default {
  render({ model, el }) {
    const input = document.createElement("input");
    input.type = "file";
    input.className = "folio-upload-input";
    input.style.display = "none";
    const button = document.createElement("button");
    button.className = "jupyter-widgets jupyter-button widget-button folio-upload-button";
    button.onclick = () => input.click();
    el.append(input, button);
    let file = null;  // the file this view is sending, if any
    input.addEventListener("change", () => {
      file = input.files[0] || null;
      input.value = "";  // choosing the same file again is a new upload
      if (file) model.send({ kind: "start", name: file.name, size: file.size });
    });
    model.on("msg:custom", async (msg) => {
      if (!file) return;
      if (msg.kind === "next") {
        try {
          const piece = await file.slice(msg.offset, msg.offset + CHUNK).arrayBuffer();
          model.send({ kind: "piece", offset: msg.offset }, undefined, [piece]);
        } catch (err) {
          file = null;
          model.send({ kind: "fail", reason: String(err) });
        }
      } else if (msg.kind === "end") {
        file = null;
      }
    });
    const draw = () => {
      input.accept = model.get("accept");
      button.textContent = model.get("description");
      button.disabled = model.get("disabled");
    };
    model.on("change:accept change:description change:disabled", draw);
    draw();
  },
};
""".replace("@CHUNK@", str(CHUNK))


class Upload(anywidget.AnyWidget):
    """A button that uploads one file, of any size up to ``FOLIO_MAX_FILE_MB``."""

    _esm = _ESM
    description = t.Unicode("Upload").tag(sync=True)
    accept = t.Unicode(".csv,.txt,.xlsx").tag(sync=True)
    disabled = t.Bool(False).tag(sync=True)
    # Kernel-side state, for the panel and tests.
    state = t.Unicode("idle")  # idle, uploading, done or failed
    file_name = t.Unicode("")  # the file's own name, as the user chose it
    size = t.Int(0)
    received = t.Int(0)
    error = t.Unicode("")
    path = t.Unicode("")  # where the file was kept (a hashed name: not for showing)

    def __init__(self, settings: Callable[[], Settings] = get_settings, **kwargs) -> None:
        super().__init__(**kwargs)
        self._settings = settings
        self._receiving: ChunkedUpload | None = None
        self.on_msg(lambda _widget, content, buffers: self.receive(content, buffers))

    def receive(self, content: dict, buffers: list | None = None) -> None:
        """Handle one message from the browser (``start``, ``piece`` or ``fail``)."""
        kind = content.get("kind")
        try:
            if kind == "start":
                self._start(str(content["name"]), int(content["size"]))
            elif kind == "piece" and self._receiving is not None:
                self._receiving.write(int(content["offset"]), bytes(buffers[0]))
                self.received = self._receiving.received
                self._next()
            elif kind == "fail" and self._receiving is not None:
                raise ReadError(f"{self.file_name}: the browser could not read the file "
                                f"({content.get('reason')}); nothing was saved",
                                file=self.file_name)
        except FolioError as exc:
            self._fail(exc.message)

    def _start(self, name: str, size: int) -> None:
        if self._receiving is not None:
            self._receiving.abort()  # a new choice replaces one still arriving
            self._receiving = None
        self.error, self.path, self.received = "", "", 0
        self.file_name, self.size = Path(name.replace("\\", "/")).name, size
        settings = self._settings()
        self._receiving = ChunkedUpload(settings.uploads, self.file_name, size,
                                        settings.max_file_bytes)
        self.state = "uploading"
        self._next()

    def _next(self) -> None:
        receiving = self._receiving
        if receiving.received < receiving.size:
            self.send({"kind": "next", "offset": receiving.received})
            return
        self._receiving = None
        path = receiving.finish()
        self.send({"kind": "end"})
        self.path = str(path)
        self.state = "done"

    def _fail(self, message: str) -> None:
        if self._receiving is not None:
            self._receiving.abort()
            self._receiving = None
        self.send({"kind": "end"})
        self.error = message
        self.state = "failed"
