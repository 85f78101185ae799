"""Offline tools behind the CLI and REST: analyze, animate, record, and the A/B replay, metrics,
statistics and report."""
