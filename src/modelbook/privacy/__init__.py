"""Privacy building blocks (topic 21), each readable on its own:

  pii.py          PII detection and masking in Chinese and English text (patterns, GB 11643 and Luhn checksums,
                  jieba POS names), and the labelled test set in data/pii_testset.txt
  kanonymity.py   k-anonymity by full-domain generalisation (lattice scan) and Mondrian; information loss
  encryption.py   AES-256-GCM for files and checkpoints at rest, tamper detection, keys kept apart from data
  accountant.py   RDP accountant for the sampled Gaussian mechanism (DP-SGD's ε)
  dp_sgd.py       DP-SGD: per-sample gradients (torch.func), clipping, noise, Poisson sampling
  membership.py   membership-inference attacks (loss threshold, shadow models) and the DP bound on their AUC
  fedavg.py       FedAvg with IID and Dirichlet non-IID client splits
  secure_agg.py   secure aggregation by pairwise masks (X25519 key agreement)
  he.py           CKKS encrypted logistic-regression inference (TenSEAL)

Nothing is imported here, so `import modelbook.privacy.pii` does not pull in torch.
"""
