"""Multi-agent RL building blocks, from scratch.

    mpe_batch.py   mpe2's particle worlds (simple_spread, simple_speaker_listener, simple_adversary) stepped for
                   many episodes at once in numpy; equal to mpe2 step for step (tests/marl/test_mpe_batch.py)
    maddpg.py      MADDPG (centralised critics, decentralised actors) and independent DDPG learners
    rollouts.py    episodes on mpe2 itself, in parallel worker processes (samples/s vs workers)
"""
