"""Test helpers shared by every test suite: real processes, real NATS, real SDK."""
