"""Blink- and wink-aware gaze: iris landmarks say nothing true while a lid covers them.

A closing lid pulls the tracked iris down with it (MediaPipe reads a blink as a glance down),
and during a wink the closed eye's "gaze" is wherever its lid put it. So, per measurement:

* an eye whose (calibrated, so per-user: 0 open … 1 closed) blink is at least `closed_from`
  keeps the gaze it had when it was last open;
* during a wink — one eye closed, the other open — both eyes take the open eye's gaze
  (`wink_follows_open_eye`), as eyes move together;
* before an eye was ever seen open, its own reading stands (nothing better is known).

Pure and deterministic: the same measurements in the same order give the same gazes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .features import EyeGaze, FaceFeatures


@dataclass(frozen=True)
class GazeHoldOptions:
    closed_from: float = 0.5
    wink_follows_open_eye: bool = True


class GazeHold:
    def __init__(self, options: GazeHoldOptions | None = None):
        self.options = options or GazeHoldOptions()
        self._open: list[EyeGaze | None] = [None, None]  # left, right: the last gaze read with the eye open

    def apply(self, face: FaceFeatures) -> FaceFeatures:
        """The face with each eye's gaze as far as it can be trusted (calibrated blinks)."""
        if not face.present:
            return face
        gazes = [face.left_eye, face.right_eye]
        closed = [face.blink_left >= self.options.closed_from, face.blink_right >= self.options.closed_from]
        for eye in (0, 1):
            if not closed[eye]:
                self._open[eye] = gazes[eye]
        out = [
            g if not shut else (self._open[eye] or g) for eye, (g, shut) in enumerate(zip(gazes, closed, strict=True))
        ]
        if self.options.wink_follows_open_eye and closed[0] != closed[1]:
            open_eye = 1 if closed[0] else 0
            out = [gazes[open_eye], gazes[open_eye]]
        if out[0] is face.left_eye and out[1] is face.right_eye:
            return face
        return replace(face, left_eye=out[0], right_eye=out[1])

    def reset(self) -> None:
        self._open = [None, None]
