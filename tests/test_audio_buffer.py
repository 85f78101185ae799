import numpy as np

from server.audio_buffer import PcmRingBuffer


def test_keeps_the_newest_audio_in_order():
    buf = PcmRingBuffer(capacity_s=1.0)
    a = np.arange(16000, dtype="<i2")
    buf.append(a.tobytes(), 16000, 0)
    b = np.arange(100, 600, dtype="<i2")
    buf.append(b.tobytes(), 16000, 1000)
    assert buf.duration_s == 1.0
    assert np.array_equal(buf.latest(1.0)[-500:], b)
    assert np.array_equal(buf.latest(1.0)[:100], a[500:600])
    assert buf.end_capture_ms == 1000 + 500 / 16
    assert len(buf.latest(0.01)) == 160


def test_a_new_sample_rate_restarts_the_buffer():
    buf = PcmRingBuffer(capacity_s=1.0)
    buf.append(np.ones(1000, "<i2").tobytes(), 16000, 0)
    buf.append(np.ones(480, "<i2").tobytes(), 48000, 100)
    assert buf.sample_rate_hz == 48000 and buf.duration_s == 480 / 48000
