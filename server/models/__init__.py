"""The model store: a manifest of model files, their sources and checksums."""
