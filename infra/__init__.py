"""What builds and runs the system around the code: local stack, resources, seed, fakes."""
