"""Object detection without torch: YOLO models exported to OpenVINO or ONNX run on OpenVINO's
runtime directly, with our own letterbox, NMS and asynchronous requests (`openvino_engine`).
ultralytics (and torch with it) is imported only for a `.pt` model (`ultralytics_engine`)."""
