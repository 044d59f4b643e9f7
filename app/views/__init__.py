"""Qt views: they show packets and emit user intents; they never run a model."""
