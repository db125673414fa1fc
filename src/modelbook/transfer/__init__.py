"""Transfer learning building blocks (topic 24): per-class label budgets, fine-tuning a pretrained encoder
(fully, with LoRA/QLoRA from modelbook.nn.lora, or from scratch) against a linear probe on its frozen features,
zero-shot classification through class-name embeddings, and L2-SP transfer of a source head (negative transfer).

    data.py       n labels per class from Fashion-MNIST and from WordNet glosses (26 lexicographer classes)
    finetune.py   pooled-encoder classifiers (MiniLM text, EfficientNet-Lite0 images) and a fixed-step trainer
    zeroshot.py   nearest class-name embedding; L2-SP softmax regression toward a source head
"""
