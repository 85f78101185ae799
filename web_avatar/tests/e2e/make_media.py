"""Fake camera and microphone input for the browser test: a y4m video and a WAV.

Video: 1.5 s of the cat (no face), then 3 s of the smiling astronaut, tilting a little,
at 640x480, 30 fps. Audio: 4.5 s of a voiced-like harmonic tone at 16 kHz.
Camera shapes: the astronaut's face at rest (mouth closed) filling 16:9, 4:3 and portrait
frames, rest-WxH.y4m: a face squeezed into another shape reads as an open jaw.
Speech: speech.wav, espeak-ng saying a sentence (about 2.5 s) then 2.5 s of silence.
A recording to upload: talk.mp3, two rounds of calm then excited passages (tests/support/recorded_audio.py).
"""

import sys
import wave
from pathlib import Path

import cv2
import numpy as np
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repository, for tests.support.recorded_audio
from server.inference.espeak import speak  # noqa: E402
from tests.support.recorded_audio import calm_and_excited, encode  # noqa: E402

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
cat = cv2.resize(cv2.cvtColor(data.chelsea(), cv2.COLOR_RGB2BGR), (640, 480))
with (out / "face.y4m").open("wb") as f:
    f.write(b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\n")
    for i in range(135):
        if i < 45:
            frame = cat
        else:
            m = cv2.getRotationMatrix2D((215, 150), 6 * np.sin(i / 12), 1.0)
            m[:, 2] += (100, 10)
            frame = cv2.warpAffine(face, m, (640, 480), borderMode=cv2.BORDER_REFLECT)
        f.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
portrait = face[0:280, 80:360]  # head and shoulders
for w, h in ((640, 360), (640, 480), (360, 640)):
    side = int(0.9 * min(w, h))
    canvas = np.full((h, w, 3), 90, np.uint8)
    y, x = (h - side) // 2, (w - side) // 2
    canvas[y:y + side, x:x + side] = cv2.resize(portrait, (side, side), interpolation=cv2.INTER_AREA)
    with (out / f"rest-{w}x{h}.y4m").open("wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F30:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(60):
            f.write(b"FRAME\n" + cv2.cvtColor(canvas, cv2.COLOR_BGR2YUV_I420).tobytes())
t = np.arange(int(4.5 * 16000)) / 16000
voice = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 8)) * 0.2 * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
with wave.open(str(out / "voice.wav"), "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(16000)
    w.writeframes((voice * 32767).astype("<i2").tobytes())

spoken = speak("Hello there, how are you doing today? I am fine.")
speech = np.interp(np.arange(0, len(spoken.audio), spoken.rate_hz / 16000), np.arange(len(spoken.audio)), spoken.audio)
speech = np.concatenate([speech, np.zeros(int(2.5 * 16000))])
with wave.open(str(out / "speech.wav"), "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(16000)
    w.writeframes((np.clip(speech, -1, 1) * 32767).astype("<i2").tobytes())
(out / "talk.mp3").write_bytes(encode(calm_and_excited(rounds=2)[0], "mp3", rate=44100, channels=2))
print(out)
