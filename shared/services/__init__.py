"""Use cases: each takes its ports (repositories, adapters, clock) and does one thing."""
