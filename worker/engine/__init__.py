"""The analysis engine, the same for a file job and a live camera: a frame source feeds a
`Pipeline` (worker/engine/pipeline.py, where its API is described), whose per-frame results go to
sinks. Detectors (worker/detectors/) are stateless and shared by every stream of a process; the
analysers (worker/engine/analysers/) hold one stream's state and are built for each pipeline."""
