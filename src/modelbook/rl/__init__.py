"""Reinforcement-learning building blocks, written from scratch and readable top to bottom.

    mdp.py          tabular MDPs (from gymnasium's transition tables, or built by hand), value iteration,
                    exact policy evaluation, sampling many runs at once
    td.py           Q-learning, SARSA, expected SARSA and double Q-learning, vectorised over runs
    bandits.py      the 10-armed testbed, epsilon-greedy and UCB, UCB1 on Bernoulli arms and its regret bound
    schedules.py    exploration schedules (constant, linear, exponential)
    networks.py     MLPs, the Q-network and the actor-critic used by the deep methods
    buffers.py      the replay buffer (explicit generator)
    advantages.py   discounted returns and generalised advantage estimation (GAE)
    envs.py         seeded gymnasium vector envs, episode bookkeeping, greedy evaluation over 100 episodes
    rollout.py      on-policy rollout collection shared by A2C and PPO (truncation bootstrapped)
    reinforce.py    REINFORCE with a learned baseline
    dqn.py          DQN with replay and a target network; Double DQN is a one-line switch
    a2c.py          advantage actor-critic (one synchronous update per rollout)
    ppo.py          PPO: the clipped surrogate, GAE, minibatch epochs

In the training loops, `# -- the algorithm --` marks the lines that are the method, and
`# -- bookkeeping --` the lines that only measure it (CleanRL's convention, STYLE.md C8).
"""
