"""Per-user calibration tables, their storage and the calibration wizard.

The face slice maps uncalibrated features; the mapping-layer issue fills this package.
"""
