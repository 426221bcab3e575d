"""Darkroom: a self-hosted image processing service."""

__version__ = "0.1.0"
