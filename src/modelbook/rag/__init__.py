"""Retrieval-augmented generation, tool calling and hallucination, on the handbook's own text (lab rag-tools).

    model.py     SmolLM2-135M-Instruct as our LlamaLM from the safetensors cache (no transformers import), ChatML

Retrieval itself (BM25, dense MiniLM, reciprocal-rank fusion, recall@k) is modelbook.retrieval; constrained
JSON decoding is modelbook.decoding.constrained.
"""
