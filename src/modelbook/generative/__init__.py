"""Generative models whose training loop is the lesson, written out (STYLE.md C8). seqgan.py: SeqGAN."""
