"""Dialogue building blocks: state tracking with carry-over (state.py) and scripted conversations with gold
states (scripts.py). Intent and sentiment classification use modelbook.nlp; chat uses modelbook.decoding."""
