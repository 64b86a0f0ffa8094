"""The torch-free inference engine (worker/inference/): letterbox geometry, decoding a YOLO head's
output with NMS, and the OpenVINO engine itself on real frames, several at once, and on an ONNX
file whose class names come from its own metadata. No ultralytics here: the comparison with it
is tests/unit/test_inference_parity.py."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

import cv2
import numpy as np
import openvino as ov
import pytest

from tests.conftest import MEDIA_DIR, SHARED_DIR
from worker.inference.letterbox import PAD_VALUE, Letterbox
from worker.inference.nms import IOU_THRESHOLD, MAX_DETECTIONS, Boxes, decode
from worker.inference.openvino_engine import OpenVinoEngine, _metadata, model_file

YOLOV8N = SHARED_DIR / "models" / "yolov8n_int8_openvino_model"
PARKING_LOT = MEDIA_DIR / "images" / "parking_lot.jpg"
PEDESTRIANS = MEDIA_DIR / "video" / "pedestrians_vtest.avi"
CARS = MEDIA_DIR / "video" / "cars_street.mp4"
COCO_IMAGE = SHARED_DIR / "datasets" / "coco128-train" / "images" / "000000000009.jpg"


# --- Letterbox -------------------------------------------------------------------------------


def test_a_720p_frame_is_scaled_to_640_wide_and_padded_above_and_below() -> None:
    box = Letterbox.fit((720, 1280), (640, 640))
    assert (box.input, box.resized, box.top, box.left) == ((640, 640), (360, 640), 140, 0)

    frame = np.full((720, 1280, 3), 200, np.uint8)
    image = box.apply(frame)
    assert image.shape == (640, 640, 3)
    assert image.dtype == np.uint8
    assert (image[:140] == PAD_VALUE).all()
    assert (image[500:] == PAD_VALUE).all()
    assert (image[140:500] == 200).all()


def test_unscale_maps_an_input_box_back_to_the_frame_exactly() -> None:
    box = Letterbox.fit((720, 1280), (640, 640))
    # (100, 200)-(300, 400) in the frame is halved and moved down by the 140 px of padding.
    found = np.array([[50.0, 240.0, 150.0, 340.0], [0.0, 140.0, 640.0, 500.0]], np.float32)
    mapped = box.unscale(found)
    assert mapped is found  # in place, as the engine relies on
    np.testing.assert_array_equal(mapped, [[100, 200, 300, 400], [0, 0, 1280, 720]])


def test_unscale_clips_a_box_reaching_into_the_padding_to_the_frame() -> None:
    box = Letterbox.fit((720, 1280), (640, 640))
    found = np.array([[-20.0, 100.0, 660.0, 520.0]], np.float32)
    np.testing.assert_array_equal(box.unscale(found), [[0, 0, 1280, 720]])


def test_a_portrait_frame_is_padded_left_and_right() -> None:
    box = Letterbox.fit((1280, 720), (640, 640))
    assert (box.input, box.resized, box.top, box.left) == ((640, 640), (640, 360), 0, 140)
    image = box.apply(np.zeros((1280, 720, 3), np.uint8))
    assert image.shape == (640, 640, 3)
    assert (image[:, :140] == PAD_VALUE).all()
    assert (image[:, 500:] == PAD_VALUE).all()
    assert (image[:, 140:500] == 0).all()
    mapped = box.unscale(np.array([[190.0, 320.0, 240.0, 420.0]], np.float32))
    np.testing.assert_array_equal(mapped, [[100, 640, 200, 840]])


def test_a_frame_smaller_than_the_input_is_scaled_up() -> None:
    box = Letterbox.fit((240, 320), (640, 640))
    assert (box.input, box.resized, box.top, box.left) == ((640, 640), (480, 640), 80, 0)
    image = box.apply(np.full((240, 320, 3), 30, np.uint8))
    assert image.shape == (640, 640, 3)
    assert (image[80:560] == 30).all()
    mapped = box.unscale(np.array([[20.0, 100.0, 620.0, 540.0]], np.float32))
    np.testing.assert_array_equal(mapped, [[10, 10, 310, 230]])


def test_odd_padding_puts_the_extra_row_at_the_bottom_as_ultralytics_does() -> None:
    # 480 x 641 scales by 640/641 to 479 x 640: 161 rows of padding, 80 above and 81 below.
    box = Letterbox.fit((480, 641), (640, 640))
    assert (box.resized, box.top, box.left) == ((479, 640), 80, 0)
    image = box.apply(np.zeros((480, 641, 3), np.uint8))
    assert image.shape == (640, 640, 3)
    padded_rows = np.flatnonzero((image == PAD_VALUE).all(axis=(1, 2)))
    assert padded_rows.tolist() == [*range(80), *range(559, 640)]


def test_a_frame_already_at_the_input_size_passes_through_untouched() -> None:
    frame = np.random.default_rng(0).integers(0, 256, (640, 640, 3), np.uint8)
    box = Letterbox.fit((640, 640), (640, 640))
    assert (box.resized, box.top, box.left) == ((640, 640), 0, 0)
    np.testing.assert_array_equal(box.apply(frame), frame)


def test_a_dynamic_model_gets_the_smallest_stride_multiple_that_holds_the_frame() -> None:
    box = Letterbox.fit((720, 1280), (640, 640), stride=32)
    assert (box.input, box.resized, box.top, box.left) == ((384, 640), (360, 640), 12, 0)
    assert box.apply(np.zeros((720, 1280, 3), np.uint8)).shape == (384, 640, 3)
    mapped = box.unscale(np.array([[50.0, 112.0, 150.0, 212.0]], np.float32))
    np.testing.assert_array_equal(mapped, [[100, 200, 300, 400]])


# --- decode (scores, NMS) --------------------------------------------------------------------


def head(anchors: Sequence[tuple[Sequence[float], Sequence[float]]]) -> np.ndarray:
    """A YOLO head's output (1, 4 + classes, anchors) from (cx, cy, w, h) and class scores."""
    columns = [[*xywh, *scores] for xywh, scores in anchors]
    return np.asarray(columns, np.float32).T[None]


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


def test_decode_suppresses_same_class_overlaps_only() -> None:
    output = head(
        [
            ((100, 100, 50, 50), [0.90, 0.00, 0.00]),  # kept: the best box
            ((103, 100, 50, 50), [0.80, 0.00, 0.00]),  # IoU 0.89 with the first: suppressed
            ((100, 100, 50, 50), [0.00, 0.85, 0.00]),  # the same box, another class: kept
            ((112, 100, 50, 50), [0.70, 0.00, 0.00]),  # IoU 0.61 with the first: kept
            ((300, 300, 40, 20), [0.05, 0.02, 0.08]),  # best score under the floor: dropped
            ((400, 200, 30, 60), [0.20, 0.60, 0.30]),  # best class wins: class 1
        ]
    )
    # The fixture's overlaps are on the sides of the threshold they claim.
    first, second, fourth = ([75, 75, 125, 125], [78, 75, 128, 125], [87, 75, 137, 125])
    assert iou(first, second) > IOU_THRESHOLD > iou(first, fourth)

    boxes = decode(output, conf_floor=0.1)
    np.testing.assert_allclose(boxes.conf, [0.90, 0.85, 0.70, 0.60])
    np.testing.assert_array_equal(boxes.cls, [0, 1, 0, 1])
    np.testing.assert_allclose(
        boxes.xyxy,
        [[75, 75, 125, 125], [75, 75, 125, 125], [87, 75, 137, 125], [385, 170, 415, 230]],
    )
    assert boxes.xyxy.dtype == np.float32
    assert boxes.xyxy.shape == (4, 4)


def test_decode_keeps_only_scores_above_the_floor() -> None:
    output = head([((100, 100, 50, 50), [0.30]), ((300, 300, 50, 50), [0.50])])
    assert decode(output, conf_floor=0.4).conf.tolist() == [0.5]
    empty = decode(output, conf_floor=0.6)
    assert empty.xyxy.shape == (0, 4)
    assert len(empty.conf) == len(empty.cls) == 0


def test_decode_returns_at_most_max_detections_the_highest_scoring() -> None:
    count = MAX_DETECTIONS + 100
    scores = np.linspace(0.2, 0.9, count)
    # A grid of 20 px boxes 30 px apart: none overlaps another.
    anchors = [
        (((i % 20) * 30 + 15, (i // 20) * 30 + 15, 20, 20), [s]) for i, s in enumerate(scores)
    ]
    boxes = decode(head(anchors), conf_floor=0.1)
    assert len(boxes.conf) == MAX_DETECTIONS
    np.testing.assert_allclose(boxes.conf, np.sort(scores)[::-1][:MAX_DETECTIONS], rtol=1e-6)


# --- The OpenVINO engine on real frames ------------------------------------------------------


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> OpenVinoEngine:
    return OpenVinoEngine(YOLOV8N, tmp_path_factory.mktemp("compiled"))


def read_frame(path: Path, index: int = 0) -> np.ndarray:
    if path.suffix == ".jpg":
        image = cv2.imread(str(path))
        assert image is not None, path
        return image
    capture = cv2.VideoCapture(str(path))
    try:
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
    finally:
        capture.release()
    assert ok, f"no frame {index} in {path}"
    return frame


def labels(engine: OpenVinoEngine, boxes: Boxes, min_conf: float) -> Counter[str]:
    return Counter(engine.names[int(c)] for c in boxes.cls[boxes.conf >= min_conf])


def test_the_engine_reads_the_models_class_names_and_fixed_input(engine: OpenVinoEngine) -> None:
    assert len(engine.names) == 80
    assert (engine.names[0], engine.names[2], engine.names[79]) == ("person", "car", "toothbrush")
    assert engine.size == (640, 640)
    assert not engine.dynamic
    assert engine.stride is None
    assert model_file(YOLOV8N) == YOLOV8N / "yolov8n.xml"


@pytest.mark.parametrize("value", [0, 114, 255])
def test_a_blank_frame_has_no_boxes(engine: OpenVinoEngine, value: int) -> None:
    boxes = engine.submit(np.full((720, 1280, 3), value, np.uint8), 0.1).result()
    assert len(boxes.conf) == 0
    assert boxes.xyxy.shape == (0, 4)


def test_the_parking_lot_photo_has_cars_within_the_frame(engine: OpenVinoEngine) -> None:
    frame = read_frame(PARKING_LOT)
    height, width = frame.shape[:2]
    boxes = engine.submit(frame, 0.25).result()
    assert labels(engine, boxes, 0.25)["car"] >= 10
    assert (boxes.conf >= 0.25).all()
    x, y = boxes.xyxy[:, [0, 2]], boxes.xyxy[:, [1, 3]]
    assert (x >= 0).all()
    assert (x <= width).all()
    assert (y >= 0).all()
    assert (y <= height).all()
    assert (boxes.xyxy[:, 2:] > boxes.xyxy[:, :2]).all()
    # In frame pixels, not the 640 px input's: the cars spread over the 4032 px wide photo.
    assert boxes.xyxy[:, 2].max() > 2000


def test_the_pedestrian_video_has_people(engine: OpenVinoEngine) -> None:
    boxes = engine.submit(read_frame(PEDESTRIANS), 0.25).result()
    assert labels(engine, boxes, 0.25)["person"] >= 10


def test_frames_in_flight_together_each_get_their_own_boxes(engine: OpenVinoEngine) -> None:
    frames = [
        read_frame(PARKING_LOT),
        read_frame(PEDESTRIANS, 30),
        read_frame(CARS, 10),
        read_frame(COCO_IMAGE),
    ]
    alone = [engine.submit(frame, 0.1).result() for frame in frames]
    # No two frames have the same boxes, so a frame given another's would show.
    assert all(len(boxes.conf) for boxes in alone)
    for i, first in enumerate(alone):
        for second in alone[i + 1 :]:
            assert first.xyxy.shape != second.xyxy.shape or not np.allclose(first.xyxy, second.xyxy)

    futures: list[Future[Boxes]] = [engine.submit(frame, 0.1) for frame in frames * 2]
    together = [future.result() for future in futures]
    for boxes, expected in zip(together, alone * 2, strict=True):
        np.testing.assert_array_equal(boxes.cls, expected.cls)
        np.testing.assert_allclose(boxes.conf, expected.conf, atol=1e-6)
        np.testing.assert_allclose(boxes.xyxy, expected.xyxy, atol=1e-3)


# --- An ONNX file without metadata.yaml -----------------------------------------------------
#
# ultralytics writes an ONNX export's names, stride and imgsz into its metadata properties, and
# OpenVINO's reader keeps them in the model's rt_info under `framework`. Without torch (or the
# `onnx` package) to export one, the file is written here by hand: a single Reshape that turns
# the (1, 3, 32, 32) input into a (1, 6, 512) "head" with 2 classes (or, with dynamic shapes,
# (1, 3, H, W) into (1, 6, H * W / 2)). Its channels land in the head's rows in pairs:
# red → cx, cy; green → w, h; blue → the two class scores.


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, value: int | str | bytes) -> bytes:
    """One protobuf field: a varint, or a length-delimited string or message."""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _tensor_info(name: str, dims: list[int | str]) -> bytes:
    # TensorShapeProto.dim: a dim_value, or a dim_param naming a dynamic one
    shape = b"".join(_field(1, _field(2 if isinstance(d, str) else 1, d)) for d in dims)
    tensor = _field(1, 1) + _field(2, shape)  # elem_type FLOAT, shape
    return _field(1, name) + _field(2, _field(1, tensor))  # ValueInfoProto: name, type


def write_onnx(path: Path, metadata: dict[str, str], *, dynamic: bool = False) -> Path:
    inputs: list[int | str] = [1, 3, "height", "width"] if dynamic else [1, 3, 32, 32]
    outputs: list[int | str] = [1, 6, "anchors"] if dynamic else [1, 6, 512]
    shape = np.array([1, 6, -1 if dynamic else 512], np.int64)
    # TensorProto: dims, data_type INT64, name, raw_data
    initializer = _field(1, 3) + _field(2, 7) + _field(8, "shape") + _field(9, shape.tobytes())
    node = _field(1, "images") + _field(1, "shape") + _field(2, "output0") + _field(4, "Reshape")
    graph = (
        _field(1, node)
        + _field(2, "tiny")
        + _field(5, initializer)
        + _field(11, _tensor_info("images", inputs))
        + _field(12, _tensor_info("output0", outputs))
    )
    properties = b"".join(_field(14, _field(1, k) + _field(2, v)) for k, v in metadata.items())
    # ModelProto: ir_version 8, graph, opset_import (default domain, 13), metadata_props
    path.write_bytes(_field(1, 8) + _field(7, graph) + _field(8, _field(2, 13)) + properties)
    return path


def test_an_onnx_files_class_names_come_from_its_own_metadata(tmp_path: Path) -> None:
    path = write_onnx(
        tmp_path / "tiny.onnx",
        {"names": "{0: 'ant', 1: 'bee'}", "stride": "32", "imgsz": "[32, 32]"},
    )
    model = ov.Core().read_model(str(path))
    assert _metadata(path, model) == {
        "names": {0: "ant", 1: "bee"},
        "stride": 32,
        "imgsz": [32, 32],
    }

    engine = OpenVinoEngine(path, None)
    assert engine.names == {0: "ant", 1: "bee"}
    assert engine.size == (32, 32)
    assert not engine.dynamic


def test_an_onnx_file_without_metadata_names_its_classes_by_index(tmp_path: Path) -> None:
    path = write_onnx(tmp_path / "bare.onnx", {})
    assert _metadata(path, ov.Core().read_model(str(path))) == {}
    assert OpenVinoEngine(path, None).names == {0: "0", 1: "1"}


def test_the_compiled_graph_converts_bgr_bytes_to_rgb_in_0_to_1(tmp_path: Path) -> None:
    engine = OpenVinoEngine(write_onnx(tmp_path / "tiny.onnx", {}), None)
    # BGR (255, 102, 51): blue → score 1.0, green → w = h = 0.4, red → cx = cy = 0.2.
    frame = np.empty((32, 32, 3), np.uint8)
    frame[:] = (255, 102, 51)
    boxes = engine.submit(frame, 0.5).result()
    # Every anchor is the same box with both scores 1.0: one survives NMS, of the first class.
    np.testing.assert_allclose(boxes.conf, [1.0], atol=1e-6)
    np.testing.assert_array_equal(boxes.cls, [0])
    np.testing.assert_allclose(boxes.xyxy, [[0.0, 0.0, 0.4, 0.4]], atol=1e-5)
    # Red in the score channel instead (no BGR → RGB swap) would find nothing.
    frame[:] = (0, 102, 255)
    assert len(engine.submit(frame, 0.5).result().conf) == 0


def test_a_dynamic_onnx_model_gets_rectangular_inputs_of_its_imgsz(tmp_path: Path) -> None:
    path = write_onnx(
        tmp_path / "dynamic.onnx", {"stride": "16", "imgsz": "[64, 64]"}, dynamic=True
    )
    engine = OpenVinoEngine(path, None)
    assert engine.dynamic
    assert engine.size == (64, 64)
    assert engine.stride == 16
    # A 64 x 128 frame is halved into a 32 x 64 input with no padding: every anchor reads the
    # frame's colour, so one box is left, and it maps back at twice its size. Grey padding
    # (a square input) would give anchors other values, hence other boxes.
    frame = np.empty((64, 128, 3), np.uint8)
    frame[:] = (255, 102, 51)
    boxes = engine.submit(frame, 0.4).result()
    np.testing.assert_allclose(boxes.conf, [1.0], atol=1e-6)
    np.testing.assert_allclose(boxes.xyxy, [[0.0, 0.0, 0.8, 0.8]], atol=1e-4)
    # A frame 40 px tall takes a 48 px tall input (the next multiple of 16): padded, it does.
    assert len(engine.submit(frame[:40, :64], 0.4).result().conf) > 1


def test_a_model_whose_output_is_not_a_detection_head_is_refused(tmp_path: Path) -> None:
    """An export with its own NMS gives final boxes; read as a head they would silently find
    nothing. Here the metadata names three classes but the output has rows for two."""
    path = write_onnx(tmp_path / "nms.onnx", {"names": "{0: 'ant', 1: 'bee', 2: 'cat'}"})
    with pytest.raises(ValueError, match="not a YOLO detection head"):
        OpenVinoEngine(path, None)


def test_processes_starting_together_share_one_compile_cache(tmp_path: Path) -> None:
    """A worker's pool processes and the camera runner start at once on one cache directory:
    each must come up with the model, none may read another's blob half-written."""
    script = (
        "import sys; from pathlib import Path; import numpy as np\n"
        "from worker.inference.openvino_engine import OpenVinoEngine\n"
        "engine = OpenVinoEngine(Path(sys.argv[1]), Path(sys.argv[2]))\n"
        "engine.submit(np.zeros((64, 64, 3), np.uint8), 0.5).result()\n"
    )
    cache = tmp_path / "cache"
    cache.mkdir()
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(YOLOV8N), str(cache)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    failures = [p.communicate(timeout=120)[1] for p in starts if p.wait(timeout=120) != 0]
    assert failures == []
    assert list(cache.glob("*.blob"))
