"""Game AI building blocks (topic 19): board games, search, self-play, procedural levels and a constrained story.

    boards.py     tic-tac-toe (tuple board) and connect four (Pons' bitboards) behind one small interface
    minimax.py    exhaustive minimax and alpha-beta (negamax form), every reachable position solved
    mcts.py       UCT Monte Carlo tree search with random rollouts; players; matches with colours alternated
    alphazero.py  policy-value network + PUCT, self-play training, checkpoints; Elo fit by Bradley-Terry
    levels.py     Sokoban-like rooms by reverse play, BFS and A* solvers, difficulty and diversity
    story.py      a state machine of story facts; token-trie constrained decoding vs free generation
    voice.py      recognised voice commands become Sokoban moves; rooms played by voice, clean and in noise

A game here is an object with initial(), to_move(s), legal(s), play(s, a), outcome(s) and encode(s);
outcome(s) is None while the game goes on, else the result for the player to move at s (+1 win, 0 draw, -1 loss).
"""
