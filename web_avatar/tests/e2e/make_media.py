"""Fake camera and microphone input for the browser test: a y4m video and a WAV.

Video: 1.5 s of the cat (no face), then 3 s of the smiling astronaut, tilting a little,
at 640x480, 30 fps. Audio: 4.5 s of a voiced-like harmonic tone at 16 kHz.
"""

import sys
import wave
from pathlib import Path

import cv2
import numpy as np
from skimage import data

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
t = np.arange(int(4.5 * 16000)) / 16000
voice = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 8)) * 0.2 * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
with wave.open(str(out / "voice.wav"), "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(16000)
    w.writeframes((voice * 32767).astype("<i2").tobytes())
print(out)
