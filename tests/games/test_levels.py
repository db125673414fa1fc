"""Levels: BFS optimal lengths = networkx shortest paths on the explicit state graph; unsolvable rooms caught."""
import networkx as nx
import numpy as np
import pytest

from modelbook.games import levels


def _graph_length(level):
    g, todo, seen = nx.DiGraph(), [(level.player, level.boxes)], set()
    while todo:
        s = todo.pop()
        if s in seen:
            continue
        seen.add(s)
        for _, q, b, _ in levels.successors(level, *s):
            g.add_edge(s, (q, b))
            todo.append((q, b))
    goals = [s for s in seen if s[1] == level.goals]
    lengths = nx.single_source_shortest_path_length(g, (level.player, level.boxes))
    return min((lengths[s] for s in goals), default=None)


def test_bfs_equals_networkx_and_astar():
    gen = levels.generate_verified(np.random.default_rng(0), (30,), 5, 6, 2)
    assert gen.unsolved == gen.bfs_astar_gap == gen.replay_fail == 0 and gen.steps == [30] * 5
    for lv, n in zip(gen.levels, gen.lengths_at(30)):
        path, _ = levels.solve_bfs(lv)
        assert len(path) == n == _graph_length(lv) == len(levels.solve_astar(lv)[0])
        assert levels.apply_moves(lv, path).boxes == lv.goals


def test_unsolvable_room_is_caught():
    """Bite: a box in a corner can never move; the check reports it, whatever the generator claims."""
    lv = levels.parse("#####\n#$ .#\n# @ #\n#####")
    assert levels.solve_bfs(lv)[0] is None and levels.solve_astar(lv)[0] is None
    rng = np.random.default_rng(1)
    solvable = [levels.solve_bfs(levels.random_placement(rng, 6, 6, 2))[0] is not None for _ in range(20)]
    assert not all(solvable)


def test_text_round_trip_and_rules():
    lv = levels.parse("#####\n#@$.#\n#####")
    assert levels.parse(lv.text()) == lv and levels.solve_bfs(lv)[0] == "R"
    with pytest.raises(ValueError):
        levels.apply_moves(lv, "l")
    with pytest.raises(ValueError):
        levels.parse("###\n#@#\n###")
    assert levels.diversity([lv, lv]) == (0.0, 0.5)
