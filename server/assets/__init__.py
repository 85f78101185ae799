"""Assets: rig definitions (built in, inspected from avatars, uploaded), strategy tables and
the default avatar."""
