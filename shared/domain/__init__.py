"""The domain: pure rules, no storage, no HTTP."""
