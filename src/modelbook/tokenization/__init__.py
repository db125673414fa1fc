"""Tokenization building blocks: byte-level BPE (bpe.py), unigram Viterbi segmentation (unigram.py)."""
