"""The question bank: one Markdown file per topic (zh + en), read without importing torch."""
from modelbook.handbook.loader import SECTIONS, Topic, all_topics, get_topic

__all__ = ["SECTIONS", "Topic", "all_topics", "get_topic"]
