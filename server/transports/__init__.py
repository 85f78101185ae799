"""Transports: move messages between clients and a SessionController, nothing more. A new
transport (WebRTC, ...) is one new module here."""
