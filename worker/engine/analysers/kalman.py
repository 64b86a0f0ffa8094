"""Constant-velocity Kalman filters on a box, as ByteTrack and BoT-SORT use them.

The state is four box coordinates and their velocities, the measurement the four coordinates.
ByteTrack's coordinates are (centre x, centre y, aspect w/h, height) (the SORT/DeepSORT
filter), BoT-SORT's (centre x, centre y, width, height). Both scale their noise with the box
size, so a near, big box may move more pixels per frame than a far, small one; the weights are
DeepSORT's (1/20 of the size for position, 1/160 for velocity)."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

POSITION_WEIGHT = 1.0 / 20
VELOCITY_WEIGHT = 1.0 / 160
# One frame per step: the position moves by its velocity.
_MOTION = np.eye(8) + np.eye(8, k=4)


class BoxKalmanFilter(ABC):
    """Predicts and corrects box states; the subclasses choose the coordinates."""

    # The state entries of the size's velocity: a lost track's box keeps its last size rather
    # than growing or shrinking while nothing is seen of it.
    size_velocity: slice

    @abstractmethod
    def measure(self, xyxy: NDArray[np.floating]) -> Array:
        """(N, 4) corner boxes to (N, 4) measurements."""

    @abstractmethod
    def corners(self, means: Array) -> Array:
        """(N, 8) states to their (N, 4) corner boxes."""

    @abstractmethod
    def _initial_std(self, measurement: Array) -> Array:
        """(8,) standard deviations of a new track's state."""

    @abstractmethod
    def _process_std(self, means: Array) -> Array:
        """(N, 8) standard deviations of what one frame may change in each state."""

    @abstractmethod
    def _measurement_std(self, mean: Array) -> Array:
        """(4,) standard deviations of a detected box around the true one."""

    def initiate(self, measurement: Array) -> tuple[Array, Array]:
        """A new track's state: at the box, not moving, uncertain in proportion to its size."""
        mean = np.concatenate([measurement, np.zeros(4)])
        return mean, np.diag(np.square(self._initial_std(measurement)))

    def predict(self, means: Array, covariances: Array) -> tuple[Array, Array]:
        """The (N, 8) states and (N, 8, 8) covariances one frame on."""
        noise = np.zeros_like(covariances)
        diagonal = np.arange(8)
        noise[:, diagonal, diagonal] = np.square(self._process_std(means))
        return means @ _MOTION.T, _MOTION @ covariances @ _MOTION.T + noise

    def update(self, mean: Array, covariance: Array, measurement: Array) -> tuple[Array, Array]:
        """One state corrected by a matched detection's measurement."""
        innovation_cov = covariance[:4, :4] + np.diag(np.square(self._measurement_std(mean)))
        gain = np.linalg.solve(innovation_cov, covariance[:, :4].T).T
        new_mean = mean + (measurement - mean[:4]) @ gain.T
        return new_mean, covariance - gain @ (innovation_cov @ gain.T)


class XYAHKalmanFilter(BoxKalmanFilter):
    """ByteTrack's: (centre x, centre y, aspect, height), the aspect nearly constant."""

    size_velocity = slice(7, 8)

    def measure(self, xyxy: NDArray[np.floating]) -> Array:
        boxes = np.asarray(xyxy, dtype=np.float64)
        w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        return np.stack([boxes[:, 0] + w / 2, boxes[:, 1] + h / 2, w / h, h], axis=1)

    def corners(self, means: Array) -> Array:
        w, h = means[:, 2] * means[:, 3], means[:, 3]
        x1, y1 = means[:, 0] - w / 2, means[:, 1] - h / 2
        return np.stack([x1, y1, x1 + w, y1 + h], axis=1)

    def _initial_std(self, measurement: Array) -> Array:
        p, v = 2 * POSITION_WEIGHT * measurement[3], 10 * VELOCITY_WEIGHT * measurement[3]
        return np.array([p, p, 1e-2, p, v, v, 1e-5, v])

    def _process_std(self, means: Array) -> Array:
        p, v = POSITION_WEIGHT * means[:, 3], VELOCITY_WEIGHT * means[:, 3]
        return np.stack([p, p, np.full_like(p, 1e-2), p, v, v, np.full_like(v, 1e-5), v], axis=1)

    def _measurement_std(self, mean: Array) -> Array:
        p = POSITION_WEIGHT * mean[3]
        return np.array([p, p, 1e-1, p])


class XYWHKalmanFilter(BoxKalmanFilter):
    """BoT-SORT's: (centre x, centre y, width, height), so the width follows the box too."""

    size_velocity = slice(6, 8)

    def measure(self, xyxy: NDArray[np.floating]) -> Array:
        boxes = np.asarray(xyxy, dtype=np.float64)
        w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        return np.stack([boxes[:, 0] + w / 2, boxes[:, 1] + h / 2, w, h], axis=1)

    def corners(self, means: Array) -> Array:
        w, h = means[:, 2], means[:, 3]
        x1, y1 = means[:, 0] - w / 2, means[:, 1] - h / 2
        return np.stack([x1, y1, x1 + w, y1 + h], axis=1)

    def _initial_std(self, measurement: Array) -> Array:
        size = np.tile(measurement[2:4], 2)
        return np.concatenate([2 * POSITION_WEIGHT * size, 10 * VELOCITY_WEIGHT * size])

    def _process_std(self, means: Array) -> Array:
        size = np.tile(means[:, 2:4], 2)
        return np.concatenate([POSITION_WEIGHT * size, VELOCITY_WEIGHT * size], axis=1)

    def _measurement_std(self, mean: Array) -> Array:
        return POSITION_WEIGHT * np.tile(mean[2:4], 2)
