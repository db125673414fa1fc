"""Two board games behind one interface: tic-tac-toe and connect four (6 rows x 7 columns).

Interface (what minimax, MCTS and AlphaZero use):
    initial()      the empty board
    to_move(s)     0 for the first player, 1 for the second
    legal(s)       the legal actions, a list of ints
    play(s, a)     the next state (states are immutable)
    outcome(s)     None while the game goes on, else +1 / 0 / -1 for the player to move at s
    encode(s)      float32 features from the view of the player to move (mine, theirs), for a network

Connect four uses Pascal Pons' bitboards: each column takes 7 bits (6 cells + 1 sentinel), `me` holds the
stones of the player to move and `mask` every stone. Playing column c: me ^= mask (the opponent becomes the
player to move); mask |= mask + bottom(c) (the lowest empty cell of column c fills). A line of four shows up as
two shifted ANDs along each of the four directions (1 = vertical, 7 = horizontal, 6 and 8 = diagonals).
Actions are the column numbers 0..6, the same as OpenSpiel's connect_four, so its bot plays on our moves.
"""
from __future__ import annotations

import numpy as np

LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))


class TicTacToe:
    """State: a tuple of 9 cells (0 empty, 1 first player 'x', 2 second player 'o'), row-major."""

    name = "tictactoe"
    n_actions = 9

    def initial(self) -> tuple:
        return (0,) * 9

    def to_move(self, s) -> int:
        return int(sum(c != 0 for c in s) % 2)

    def winner(self, s) -> int:
        """1 or 2 for a completed line of that player, 0 for none."""
        for a, b, c in LINES:
            if s[a] and s[a] == s[b] == s[c]:
                return s[a]
        return 0

    def legal(self, s) -> list[int]:
        if self.winner(s):
            return []
        return [i for i in range(9) if s[i] == 0]

    def play(self, s, a: int) -> tuple:
        if s[a] != 0:
            raise ValueError(f"cell {a} is taken")
        return s[:a] + (self.to_move(s) + 1,) + s[a + 1:]

    def outcome(self, s):
        w = self.winner(s)
        if w:
            return 1 if w == self.to_move(s) + 1 else -1   # in practice always -1: the player who just moved won
        return 0 if all(s) else None

    def encode(self, s) -> np.ndarray:
        me = self.to_move(s) + 1
        b = np.asarray(s)
        return np.concatenate([(b == me), (b == 3 - me)]).astype(np.float32)

    def symmetries(self, x: np.ndarray, pi: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """The 8 rotations and reflections of features x (2 planes of 9) and policy pi, for training data."""
        out = []
        planes, p = x.reshape(2, 3, 3), pi.reshape(3, 3)
        for k in range(4):
            for flip in (False, True):
                a, b = np.rot90(planes, k, axes=(1, 2)), np.rot90(p, k)
                if flip:
                    a, b = a[:, :, ::-1], b[:, ::-1]
                out.append((np.ascontiguousarray(a).reshape(-1), np.ascontiguousarray(b).reshape(-1)))
        return out

    def history(self, board: tuple) -> list[int]:
        """A move order that reaches `board` without passing through a finished position (depth-first)."""
        target = tuple(board)
        stones = {1: [i for i, c in enumerate(target) if c == 1], 2: [i for i, c in enumerate(target) if c == 2]}

        def dfs(s, moves):
            if s == target:
                return moves
            if self.outcome(s) is not None:
                return None
            for a in stones[self.to_move(s) + 1]:
                if s[a] == 0:
                    found = dfs(self.play(s, a), moves + [a])
                    if found is not None:
                        return found
            return None

        found = dfs(self.initial(), [])
        if found is None:
            raise ValueError("this board cannot be reached by legal play")
        return found

    def render(self, s) -> str:
        return "\n".join("".join(".xo"[c] for c in s[r * 3:r * 3 + 3]) for r in range(3))


ROWS, COLS, H1 = 6, 7, 7
BOTTOM = [1 << (c * H1) for c in range(COLS)]
TOP = [1 << (ROWS - 1 + c * H1) for c in range(COLS)]


def _four(p: int) -> bool:
    for d in (1, 7, 6, 8):
        m = p & (p >> d)
        if m & (m >> (2 * d)):
            return True
    return False


class ConnectFour:
    """State: (me, mask, moves, won) with `won` True when the player who just moved made four in a row."""

    name = "connect_four"
    n_actions = COLS

    def initial(self) -> tuple:
        return (0, 0, 0, False)

    def to_move(self, s) -> int:
        return s[2] % 2

    def legal(self, s) -> list[int]:
        if s[3]:
            return []
        mask = s[1]
        return [c for c in range(COLS) if not mask & TOP[c]]

    def play(self, s, a: int) -> tuple:
        me, mask, n, _ = s
        if mask & TOP[a]:
            raise ValueError(f"column {a} is full")
        me ^= mask
        mask |= mask + BOTTOM[a]
        return (me, mask, n + 1, _four(me ^ mask))

    def outcome(self, s):
        if s[3]:
            return -1
        return 0 if s[2] == ROWS * COLS else None

    def cells(self, s) -> np.ndarray:
        """(6, 7) board, row 0 at the bottom: 1 first player, 2 second player, 0 empty."""
        me, mask, n, _ = s
        first = me if n % 2 == 0 else me ^ mask
        out = np.zeros((ROWS, COLS), int)
        for c in range(COLS):
            for r in range(ROWS):
                bit = 1 << (r + c * H1)
                if mask & bit:
                    out[r, c] = 1 if first & bit else 2
        return out

    def encode(self, s) -> np.ndarray:
        b = self.cells(s).ravel()
        me = self.to_move(s) + 1
        return np.concatenate([(b == me), (b == 3 - me)]).astype(np.float32)


GAMES = {"tictactoe": TicTacToe, "connect_four": ConnectFour}


def replay(game, actions) -> tuple:
    s = game.initial()
    for a in actions:
        s = game.play(s, a)
    return s
