"""Sinks: where a session's output goes (base.py has the FrameSink port). A new output is one
new module here: the wire to clients, the feature recorder and the A/B variant are three."""
