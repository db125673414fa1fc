"""Meta-learning building blocks (topic 32), from scratch in plain PyTorch.

sinusoid.py   the sinusoid task family of Finn et al. (2017)
maml.py       MAML (second order through torch.func, and the same meta-gradient by torch.autograd),
              first-order MAML, Reptile, and plain fine-tuning for the pretrained baseline
glyphs.py     a handwriting-like glyph set: CJK characters drawn with the WQY font, distorted at random
episodes.py   N-way K-shot episodes on classes of a glyph tensor
protonet.py   the shared conv embedding, prototypical networks and a model-based (attention) learner
"""
