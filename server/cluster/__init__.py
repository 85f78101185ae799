"""Many machines on NATS: edges terminate client transports, workers run sessions, state lives
in JetStream (docs/scaling.md). Nothing here runs in the embedded default (no `--cluster`)."""
