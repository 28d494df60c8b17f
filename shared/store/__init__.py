"""Storage: pynamodb models and the repositories the services use."""
