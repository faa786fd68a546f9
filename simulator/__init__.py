"""Simulated source systems of a Dutch omnichannel retailer (the klantbeeld test bench)."""

from simulator.api import advance, generate
from simulator.writers import write_database

__all__ = ["advance", "generate", "write_database"]
