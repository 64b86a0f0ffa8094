from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends

from api.cameras.schemas import CAMERA_ID_PATTERN
from api.deps import CurrentUser
from api.openapi import raises
from shared.db.models import Camera
from shared.errors import NotFoundError
from shared.repositories import cameras as repo

_CAMERA_ID = re.compile(CAMERA_ID_PATTERN)


@raises(404)
async def owned_camera(camera_id: str, user: CurrentUser) -> Camera:
    """The caller's camera of this camera_id; 404 alike for missing ones, someone else's and
    ids no camera can have (those are not looked up at all)."""
    camera = await repo.get_owned(user.id, camera_id) if _CAMERA_ID.fullmatch(camera_id) else None
    if camera is None:
        raise NotFoundError(f"camera {camera_id} not found")
    return camera


OwnedCamera = Annotated[Camera, Depends(owned_camera)]
