"""Recommendation building blocks: BPR with negative sampling (bpr.py), temporal splits (splits.py), explicit matrix
factorisation by SGD and ALS (mf.py), ranking metrics (metrics.py), a two-tower model with in-batch sampled softmax
(two_tower.py), MiniLM content scores and the cold-start hybrid (content.py), retrieval → ranking → MMR
(pipeline.py), LinUCB / ε-greedy in a ratings simulator (bandits.py)."""
