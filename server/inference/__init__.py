"""Inference: decoding media and running the face, voice and speech models, off the event loop."""
