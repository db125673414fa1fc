"""Every lab, by name: the index a reader scans first.

Listed here rather than found by importing, so `modelbook list` never imports torch.
tests/labs/test_contract.py fails if a module in this folder is missing from the table, and runs
every lab's quick preset on two seeds, requiring every reference comparison to pass.
"""
from modelbook.core.registry import LabSpec

LABS = (
    LabSpec("metrics", topics=(4,), title="Classification metrics from scratch, equal to scikit-learn; AUC, calibration, bootstrap"),
    LabSpec("rl", topics=(30,), title="Q-learning vs SARSA (CliffWalking), REINFORCE, DQN, A2C, PPO (CartPole, LunarLander)"),
    LabSpec("exploration", topics=(35,), title="10-armed testbed, UCB vs ε-greedy, UCB1 log regret, ε schedules, double Q / Double DQN"),
    LabSpec("marl", topics=(36,), title="MADDPG vs independent learners, communication, competition, parallel rollouts (mpe2)"),
    LabSpec("attention", topics=(33,), title="Scaled dot-product, multi-head, cross, GQA (SmolLM2), KV cache, tiled online softmax"),
)
