"""Inference: decoding media and running the face model, off the event loop."""
