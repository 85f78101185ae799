"""Pure mapping from tracked features to avatar channels.

Nothing in this package does I/O or uses asyncio: the same inputs and the same dt
always give the same output.
"""
