"""`make bench`: our pipeline's speed next to a bare ultralytics loop, and the image
endpoint's latency next to an in-process predict, measured in one run."""

import os
import secrets
from pathlib import Path

# The benchmarks and evaluations run from a checkout, like the tests: they need settings that
# validate (a secret, which signs nothing they keep) and the weights beside the checkout when
# no VIGIL_MODEL_DIR says otherwise. What the environment sets wins.
os.environ.setdefault("VIGIL_SECRET_KEY", secrets.token_urlsafe(48))
_SHARED_MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
if _SHARED_MODELS.is_dir():
    os.environ.setdefault("VIGIL_MODEL_DIR", str(_SHARED_MODELS))
