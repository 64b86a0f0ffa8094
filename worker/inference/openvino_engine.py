"""YOLO on OpenVINO's runtime, without torch: an OpenVINO IR folder or an ONNX file, compiled
once per process with a cache directory (a restart loads the compiled blob in well under a
second instead of compiling again).

The uint8 → float, BGR → RGB, 0..255 → 0..1 and HWC → CHW conversions are built into the
compiled graph (PrePostProcessor), so a request's input is the letterboxed frame as OpenCV
decoded it, with no copy in numpy. Requests run in a pool of threads, one OpenVINO infer request
each: OpenVINO releases the GIL while it infers, so two frames submitted `ahead` infer at once
(one per throughput stream) while the calling thread tracks and records the frame before them.
A frame on its own (an image) runs on a latency-compiled copy that uses every core."""

from __future__ import annotations

import ast
import fcntl
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from worker.inference.letterbox import Letterbox
from worker.inference.nms import Boxes, decode

# Frames inferring at once: one per throughput stream on a two-core machine, and enough for
# the next frame to start the moment one finishes.
REQUESTS_IN_FLIGHT = 2
# An exported model's metadata names the stride its dynamic shapes must be a multiple of.
DEFAULT_STRIDE = 32


def model_file(path: Path) -> Path:
    """The file OpenVINO reads: an IR folder's `.xml`, or the ONNX file itself."""
    if path.is_dir():
        found = sorted(path.glob("*.xml"))
        if not found:
            raise FileNotFoundError(f"no OpenVINO .xml model in {path}")
        return found[0]
    return path


def _metadata(path: Path, model: Any) -> dict[str, Any]:
    """Class names and input size: an IR folder's metadata.yaml, or an ONNX file's metadata
    properties, which OpenVINO's reader keeps under `framework`."""
    meta_file = path / "metadata.yaml" if path.is_dir() else path.with_name("metadata.yaml")
    if meta_file.is_file():
        loaded = yaml.safe_load(meta_file.read_text())
        return loaded if isinstance(loaded, dict) else {}
    if not model.has_rt_info(["framework"]):
        return {}
    found: dict[str, Any] = {}
    for key in ("names", "stride", "imgsz"):
        if model.has_rt_info(["framework", key]):
            found[key] = ast.literal_eval(model.get_rt_info(["framework", key]).astype(str))
    return found


@contextmanager
def _compile_lock(cache_dir: Path | None) -> Iterator[None]:
    """One process at a time compiles into the cache: a worker's pool processes and the camera
    runner start together, and OpenVINO writes a blob in place, so a second process could read
    it half-written (seen: "cannot set permissions" on a blob another process was replacing).
    The first compiles and writes; the others wait, then load what it wrote."""
    try:
        handle = (cache_dir / ".compile.lock").open("a") if cache_dir is not None else None
    except OSError:
        # A cache prepared ahead and mounted read-only: nothing will be written to it.
        handle = None
    if handle is None:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_head(path: Path, output: Any, classes: int) -> None:
    """Refuses a model whose output is not the raw detection head `decode` reads (1, 4 +
    classes, anchors): one exported with its own NMS gives final boxes, which read as a head
    would silently find nothing."""
    if (
        output.rank.is_dynamic
        or output.rank.get_length() != 3
        or output[1].is_dynamic
        or output[1].get_length() != 4 + classes
    ):
        raise ValueError(
            f"{path.name}: its output {output} is not a YOLO detection head (4 box values and "
            f"a score for each of its {classes} classes per anchor); export it without NMS"
        )


class OpenVinoEngine:
    """One compiled model. `size` is the input (height, width) a frame is fitted into: the
    model's own for a fixed-shape export, the metadata's `imgsz` (or 640) for a dynamic one,
    whose frames keep their aspect (rectangular inputs). `cache_dir`, an existing directory,
    keeps the compiled model for the next start."""

    runtime = "openvino"

    def __init__(self, path: Path, cache_dir: Path | None) -> None:
        import openvino as ov
        from openvino.preprocess import ColorFormat, PrePostProcessor

        core = ov.Core()
        model = core.read_model(str(model_file(path)))
        meta = _metadata(path, model)
        names = meta.get("names")
        shape = model.inputs[0].get_partial_shape()
        self.dynamic = shape.is_dynamic
        if self.dynamic:
            imgsz = meta.get("imgsz", 640)
            side = imgsz if isinstance(imgsz, int) else max(int(v) for v in imgsz)
            self.size = (side, side)
            self.stride: int | None = int(meta.get("stride", DEFAULT_STRIDE))
        else:
            self.size = (shape[2].get_length(), shape[3].get_length())
            self.stride = None
        channels = int(meta.get("channels", 3))
        if isinstance(names, dict):
            self.names = {int(k): str(v) for k, v in names.items()}
        else:
            classes = model.outputs[0].get_partial_shape()[1].get_length() - 4
            self.names = {i: str(i) for i in range(classes)}
        if channels != 3:
            raise ValueError(f"{path.name} takes {channels}-channel images, not colour frames")
        _check_head(path, model.outputs[0].get_partial_shape(), len(self.names))

        ppp = PrePostProcessor(model)
        tensor = ppp.input().tensor()
        tensor.set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC"))
        tensor.set_color_format(ColorFormat.BGR)
        ppp.input().model().set_layout(ov.Layout("NCHW"))
        steps = ppp.input().preprocess()
        steps.convert_element_type(ov.Type.f32).convert_color(ColorFormat.RGB).scale(255.0)
        prepared = ppp.build()
        cache = {"CACHE_DIR": str(cache_dir)} if cache_dir is not None else {}
        # Two compilations of one graph: a frame alone gets every core (LATENCY: ~17 ms on two
        # cores), frames in flight together get a core each (THROUGHPUT: ~40 ms each, ~60 a
        # second). The second copy costs a few MB; one of them would halve the other's speed.
        with _compile_lock(cache_dir):
            self._compiled = {
                False: core.compile_model(
                    prepared, "CPU", {"PERFORMANCE_HINT": "LATENCY", **cache}
                ),
                True: core.compile_model(
                    prepared,
                    "CPU",
                    {
                        "PERFORMANCE_HINT": "THROUGHPUT",
                        "NUM_STREAMS": str(REQUESTS_IN_FLIGHT),
                        **cache,
                    },
                ),
            }
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(REQUESTS_IN_FLIGHT, thread_name_prefix="openvino")

    def submit(self, frame: np.ndarray, conf_floor: float, *, ahead: bool = False) -> Future[Boxes]:
        return self._pool.submit(self._detect, frame, conf_floor, ahead)

    def _detect(self, frame: np.ndarray, conf_floor: float, ahead: bool) -> Boxes:
        box = Letterbox.fit(frame.shape[:2], self.size, stride=self.stride)
        requests: dict[bool, Any] = self._local.__dict__.setdefault("requests", {})
        request = requests.get(ahead)
        if request is None:
            request = requests[ahead] = self._compiled[ahead].create_infer_request()
        result = request.infer({0: box.apply(frame)[None]})
        boxes = decode(np.asarray(result[0]), conf_floor)
        box.unscale(boxes.xyxy)
        return boxes
