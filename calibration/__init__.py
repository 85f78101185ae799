"""Per-user calibration: tables (pure), the wizard's statistics (pure), adaptive ranges
(pure) and their SQLite storage (store.py, the only module here that does I/O)."""
