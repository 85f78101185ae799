"""What the server keeps on disk besides calibration (calibration/store.py): feature recordings
and A/B votes."""
