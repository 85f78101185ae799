"""Protocol v1: every message of docs/protocol.md, its constants and CBOR/JSON encodings,
the bus messages between a session and its stages, and the recording file format."""
