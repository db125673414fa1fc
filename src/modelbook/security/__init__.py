"""Security building blocks that are not part of the server itself.

- injection.py  prompt-injection defences for a chat endpoint (input sanitising, output guard) and an attack corpus
- scan.py       bandit over the source tree, and minimum safe versions of security-relevant dependencies
(Token auth, the audit chain and artifact signatures live in modelbook/serving/, where the server uses them.)
"""
