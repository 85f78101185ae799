"""Protocol v1: the messages of docs/protocol.md and their CBOR/JSON encodings."""
