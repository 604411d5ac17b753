"""Sandbox SMS gateway speaking BulkSMS EAPI, for tests, the demo and benchmarks."""
