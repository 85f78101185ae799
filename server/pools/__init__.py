"""Work done in other processes: blocking tools behind REST (`tool_pool.py`) and the live
face and voice inference of `serve --workers N` (`inference_pool.py`)."""
