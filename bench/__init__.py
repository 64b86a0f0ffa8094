"""`make bench`: our pipeline's speed next to a bare ultralytics loop, and the image
endpoint's latency next to an in-process predict, measured in one run."""
