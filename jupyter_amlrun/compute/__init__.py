"""Compute targets: the contract, the local backend, the per-run driver."""
