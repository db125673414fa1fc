"""A DataCard says where a dataset came from, under what licence, and how big it is."""
from dataclasses import dataclass


@dataclass(frozen=True)
class DataCard:
    name: str
    source: str
    license: str
    n: int

    def __str__(self) -> str:
        return f"{self.name}: {self.n:,} examples from {self.source} ({self.license})"
