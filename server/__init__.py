"""avatar-driver server, in wings (docs/architecture.md, "Where things go"):

app.py and routers/ wire HTTP; transports/ move messages between clients and live/ (sessions,
their controller, registry, stages, bus and output clock); sinks/ take a session's output;
inference/ runs models; models/ fetches and converts them; protocol/ defines every byte on
the wire and the bus; assets/ holds rigs, strategies and the default avatar; stores/ what the
server keeps on disk; tools/ the offline commands (analyze, animate, record, A/B).
"""

__version__ = "0.1.0"
