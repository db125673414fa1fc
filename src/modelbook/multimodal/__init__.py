"""Multimodal building blocks (topic 25)."""
