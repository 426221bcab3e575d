"""Logo detection: the user's reference logos found by local feature matching.

No packaged logo detector exists, so each logo the user registers is a `Reference`: its
SIFT keypoints and descriptors, computed once. A picture's own SIFT features are matched to
each reference (exact nearest neighbours, Lowe's ratio test), and a RANSAC homography keeps
the geometrically consistent matches. A logo is found when enough matches agree and the
homography maps the logo to a plausible quadrilateral, not a fold or a sliver.
"""

from __future__ import annotations

import importlib.metadata
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from darkroom.analysis.model import ModelInfo, load_once, require
from darkroom.analysis.picture import Picture, load_picture
from darkroom.errors import ConfigurationError, ImageError, InvalidRequest

if TYPE_CHECKING:
    from numpy.typing import NDArray

NAME = "logos"
EXTRA = "logos"
FEATURE = "Logo detection"
MAX_SIDE = 1024
REFERENCE_MAX_SIDE = 512
SCENE_FEATURES = 4000
REFERENCE_FEATURES = 1000
RATIO = 0.75
RANSAC_PIXELS = 5.0
MIN_INLIERS = 12
# The inlier count at which a find is as sure as its inlier ratio allows.
CONFIDENT_INLIERS = 50
MIN_SIDE_PX = 12
MAX_SIDE_STRETCH = 4.0

_OPENCV_DISTRIBUTIONS = (
    "opencv-python-headless",
    "opencv-python",
    "opencv-contrib-python-headless",
    "opencv-contrib-python",
)
_FORMAT_VERSION = 1


# eq=False: arrays compare element-wise, so a generated __eq__ could not answer a bool.
@dataclass(frozen=True, slots=True, eq=False)
class Reference:
    """A registered logo: its name, size and SIFT features (positions in its own pixels)."""

    name: str
    width: int
    height: int
    points: NDArray[Any]
    descriptors: NDArray[Any]

    def to_bytes(self) -> bytes:
        """The reference as an `.npz` of plain arrays (loaded back without pickle)."""
        np = _require_extra()
        buffer = io.BytesIO()
        np.savez(
            buffer,
            version=np.array(_FORMAT_VERSION),
            name=np.array(self.name),
            size=np.array([self.width, self.height], dtype=np.int64),
            points=self.points.astype(np.float32),
            # SIFT's values are whole numbers in 0..255: bytes store them exactly, at 1/4 size.
            descriptors=np.clip(self.descriptors, 0, 255).astype(np.uint8),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Reference:
        """A reference written by `to_bytes`."""
        np = _require_extra()
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                if int(arrays["version"]) != _FORMAT_VERSION:
                    raise ValueError("unknown reference format")
                width, height = (int(v) for v in arrays["size"])
                reference = cls(
                    str(arrays["name"]),
                    width,
                    height,
                    arrays["points"].reshape(-1, 2),
                    arrays["descriptors"].reshape(-1, 128).astype(np.float32),
                )
        except (OSError, ValueError, KeyError) as exc:
            raise InvalidRequest(f"Not a stored logo reference: {exc}") from exc
        if len(reference.points) != len(reference.descriptors):
            raise InvalidRequest("Not a stored logo reference: features do not match.")
        return reference


def model_info(model_path: Path | None = None) -> ModelInfo:
    """The method behind the finds: OpenCV's SIFT, at the installed OpenCV's version."""
    _require_extra()
    _refuse_model_path(model_path)
    for distribution in _OPENCV_DISTRIBUTIONS:
        try:
            return ModelInfo("opencv-sift", importlib.metadata.version(distribution))
        except importlib.metadata.PackageNotFoundError:
            continue
    cv2 = require("cv2", feature=FEATURE, extra=EXTRA)
    return ModelInfo("opencv-sift", str(cv2.__version__))


def prepare_reference(name: str, data: bytes) -> Reference:
    """The features of a logo image (any format Darkroom reads), computed once to be kept."""
    np = _require_extra()
    picture = load_picture(data, REFERENCE_MAX_SIDE)
    points, descriptors = _features(np, picture, REFERENCE_FEATURES)
    if len(points) < MIN_INLIERS:
        raise ImageError(
            f"The logo {name!r} has too few distinct features to be found "
            f"({len(points)}, at least {MIN_INLIERS} needed): use a larger, sharper image."
        )
    # Positions in the image as given, so a find maps onto the logo's own proportions.
    points = points * picture.scale
    return Reference(name, picture.original_width, picture.original_height, points, descriptors)


def analyze(
    picture: Picture, references: Sequence[Reference], *, model_path: Path | None = None
) -> dict[str, Any]:
    """Each reference found in the picture: its name, box in original pixels and score.

    One find per reference at most (its best placement), best score first.
    """
    np = _require_extra()
    _refuse_model_path(model_path)
    if not references:
        return {"logos": []}
    points, descriptors = _features(np, picture, SCENE_FEATURES)
    finds = []
    for reference in references:
        find = _locate(np, picture, reference, points, descriptors)
        if find is not None:
            finds.append(find)
    finds.sort(key=lambda f: (-f["score"], f["name"], f["box"]))
    return {"logos": finds}


def _require_extra() -> ModuleType:
    require("cv2", feature=FEATURE, extra=EXTRA)
    return require("numpy", feature=FEATURE, extra=EXTRA)


def _refuse_model_path(model_path: Path | None) -> None:
    if model_path is not None:
        raise ConfigurationError("Logo detection uses no model file; unset its model path.")


def _opencv(_: Path | None) -> ModuleType:
    cv2 = require("cv2", feature=FEATURE, extra=EXTRA)
    # One thread per analysis, as for the ONNX models: the worker runs them side by side.
    cv2.setNumThreads(1)
    return cv2


def _features(np: ModuleType, picture: Picture, limit: int) -> tuple[NDArray[Any], NDArray[Any]]:
    cv2 = load_once(NAME, None, _opencv)
    pixels = np.frombuffer(picture.image.colourspace("b-w").write_to_memory(), dtype=np.uint8)
    grey = pixels.reshape(picture.height, picture.width)
    keypoints, descriptors = cv2.SIFT_create(nfeatures=limit).detectAndCompute(grey, None)
    if descriptors is None:
        return np.zeros((0, 2), np.float32), np.zeros((0, 128), np.float32)
    points = np.array([k.pt for k in keypoints], dtype=np.float32).reshape(-1, 2)
    return points, descriptors.astype(np.float32)


def _locate(
    np: ModuleType,
    picture: Picture,
    reference: Reference,
    points: NDArray[Any],
    descriptors: NDArray[Any],
) -> dict[str, Any] | None:
    pairs = _ratio_matches(reference.descriptors, descriptors)
    if len(pairs) < MIN_INLIERS:
        return None
    cv2 = load_once(NAME, None, _opencv)
    source = reference.points[[r for r, _ in pairs]].reshape(-1, 1, 2)
    target = points[[s for _, s in pairs]].reshape(-1, 1, 2)
    homography, inlier_mask = cv2.findHomography(source, target, cv2.RANSAC, RANSAC_PIXELS)
    if homography is None or inlier_mask is None:
        return None
    inliers = int(inlier_mask.sum())
    if inliers < MIN_INLIERS:
        return None
    corners = np.array(
        [[0, 0], [reference.width, 0], [reference.width, reference.height], [0, reference.height]],
        dtype=np.float64,
    ).reshape(-1, 1, 2)
    quad = cv2.perspectiveTransform(corners, homography).reshape(4, 2)
    if not _plausible(np, cv2, homography, quad, reference):
        return None
    box = _clipped_box(np, picture, quad)
    if box is None:
        return None
    confidence = inliers / len(pairs) * min(1.0, inliers / CONFIDENT_INLIERS)
    return {"name": reference.name, "box": box, "score": round(confidence, 4)}


def _ratio_matches(reference: NDArray[Any], scene: NDArray[Any]) -> list[tuple[int, int]]:
    # Exact (brute-force) neighbours: FLANN's randomised trees would make results vary.
    if len(scene) < 2:
        return []
    cv2 = load_once(NAME, None, _opencv)
    knn = cv2.BFMatcher(cv2.NORM_L2).knnMatch(reference, scene, k=2)
    return [
        (best.queryIdx, best.trainIdx)
        for best, second in (m for m in knn if len(m) == 2)
        if best.distance < RATIO * second.distance
    ]


def _plausible(
    np: ModuleType, cv2: ModuleType, homography: NDArray[Any], quad: NDArray[Any], ref: Reference
) -> bool:
    """Whether the logo maps to a shape a printed logo could take in a photo."""
    if not np.all(np.isfinite(quad)):
        return False
    # A mirror image or a fold (negative determinant) is RANSAC fitting noise.
    if np.linalg.det(homography[:2, :2]) <= 0:
        return False
    if not cv2.isContourConvex(quad.astype(np.float32).reshape(-1, 1, 2)):
        return False
    sides = np.linalg.norm(quad - np.roll(quad, -1, axis=0), axis=1)
    if sides.min() < MIN_SIDE_PX:
        return False
    # Opposite sides keep similar lengths under any view a logo stays readable from.
    scales = sides / np.array([ref.width, ref.height, ref.width, ref.height], dtype=np.float64)
    return bool(scales.max() / scales.min() <= MAX_SIDE_STRETCH)


def _clipped_box(np: ModuleType, picture: Picture, quad: NDArray[Any]) -> list[int] | None:
    left, top = np.maximum(quad.min(axis=0), 0.0)
    right = min(float(quad[:, 0].max()), float(picture.width))
    bottom = min(float(quad[:, 1].max()), float(picture.height))
    if right - left < MIN_SIDE_PX or bottom - top < MIN_SIDE_PX:
        return None
    return picture.box_to_original(float(left), float(top), right - left, bottom - top)
