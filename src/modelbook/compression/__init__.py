"""Model compression, written from scratch: quantization, pruning, distillation, sparse training.

    quantize.py    affine quantization: scales, zero points, per-tensor/per-channel, min-max/percentile
    qlinear.py     dynamic int8 (= torch.ao), weight-only int8, group-wise int4 linear layers; tied embeddings
    ptq.py         static post-training quantization of a CNN with calibrated activations
    binary.py      binary weights with a straight-through estimator (BinaryConnect, XNOR-Net scaling)
    precision.py   fp16/bf16 numerics, fp32 master weights, dynamic loss scaling
    prune.py       magnitude pruning (global, layer-wise), Zhu & Gupta's gradual schedule, lottery tickets
    structured.py  remove neurons, channels and attention heads (a smaller dense model)
    distill.py     knowledge distillation (temperature-scaled KL + hard labels)
    sparse.py      dynamic sparse training (SET, RigL) and static sparse baselines
    workbench.py   the labs' shared Fashion-MNIST models, training and measuring helpers
"""
