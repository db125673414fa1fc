"""Alignment from scratch: verifiable tasks, SFT, a Bradley–Terry reward model, DPO and GRPO (topic 45).

tasks.py    a character-level arithmetic task whose answers a program checks (strict format and a lenient grader)
policy.py   sampling, greedy decoding and per-token log-probabilities of completions under a causal LM
losses.py   SFT, Bradley–Terry, DPO (= trl's sigmoid loss), GRPO group advantages, clipped objective, k3 KL
train.py    the loops: sft, reward model, preference pairs, dpo, grpo; verified accuracy on held-out prompts
"""
