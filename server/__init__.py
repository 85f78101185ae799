"""avatar-driver server: inference, protocol, sessions and the HTTP/WebSocket app."""

__version__ = "0.1.0"
