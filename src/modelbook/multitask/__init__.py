"""Multi-task learning building blocks (topic 31), from scratch in plain PyTorch.

    data.py       MultiMNIST: two overlapping MNIST-5k digits on one canvas (Sabour et al. 2017; Sener & Koltun 2018),
                  and Chen et al.'s GradNorm regression toy (tasks of output scale σᵢ)
    nets.py       hard sharing (trunk + heads), separate networks, cross-stitch towers (Misra et al. 2016),
                  the L2 coupling between towers (Duong et al. 2015), parameter counts and equal-budget widths
    weighting.py  uncertainty weighting (Kendall, Gal & Cipolla 2018) and GradNorm (Chen et al. 2018)
    pcgrad.py     PCGrad's projection of conflicting gradients (Yu et al. 2020) and the gradient cosine
    train.py      one multi-task loop that combines the task losses or gradients by any of the above
"""
