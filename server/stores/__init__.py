"""What the server keeps on disk besides calibration (server/stores/calibration.py): feature recordings
and A/B votes."""
