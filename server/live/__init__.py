"""Live serving: sessions (composition and state), their transport-free controller, the
registry, the stages that run the models, the bus port between them and the output clock.
A new kind of stage or bus goes here."""
