"""Path planning on occupancy grids built from highway-env scenes: A* and a lattice planner, from scratch.

Grid: cells of `cell` metres over the road ahead of the ego (columns along the road, rows across it); a cell is
blocked where another car's box, grown by the ego's half size (the configuration space), covers its centre, and
costs 1 + RISK·exp(−d / RISK_SCALE) elsewhere, d the distance to the nearest blocked cell. A move to one of the 8
neighbours costs its length (1 or √2 cells) times the cost of the cell entered.

    A*        best-first on g + h, h = octile distance × the cheapest cell: admissible and consistent, so the first
              time the goal is popped its cost is optimal (Hart, Nilsson & Raphael 1968); h = 0 is Dijkstra.
    exhaustive every simple path from start to goal (depth-first, no pruning): the optimum by definition,
              affordable only on tiny grids
    lattice   stages every `ds` metres along the road; at each stage the car is on a lane centre; between stages it
              keeps its lane or moves one lane over along a smooth (cubic) lateral profile. Edge cost = arc length +
              LANE_CHANGE penalty, infinite if any sample point of the edge lies in a blocked cell. Dynamic programming
              over stages gives the optimum over the lattice; enumerating all 3^stages lane sequences checks it.

The reference for A* is scipy.sparse.csgraph.dijkstra on the same weighted graph (tests: also networkx).
"""
from __future__ import annotations

import heapq
import itertools
import math

import numpy as np

RISK = 2.0
RISK_SCALE = 1.0   # metres
LANE_WIDTH = 4.0
LANE_CHANGE = 2.0   # lattice: metres of extra cost per lane change (comfort)
SQRT2 = math.sqrt(2.0)
MOVES = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]


def occupancy_grid(cars: np.ndarray, ego: np.ndarray, ahead: float, cell: float, lanes: int = 3,
                   half_size=(2.5, 1.0)) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """Cell costs (rows across the road, cols along it; inf = blocked), the start cell and the goal cell.
    cars: (n, 2) other cars' centres (x, y); ego: (2,). Lane centres are at y = 0, 4, 8, ... metres."""
    from scipy.ndimage import distance_transform_edt

    ys = -LANE_WIDTH / 2 + cell * (np.arange(int(round(lanes * LANE_WIDTH / cell))) + 0.5)
    xs = ego[0] + cell * (np.arange(int(round(ahead / cell))) + 0.5)
    blocked = np.zeros((len(ys), len(xs)), bool)
    for x, y in cars:  # another car (5 × 2 m) grown by the ego's half size: centres closer than this collide
        blocked |= (np.abs(xs[None, :] - x) < 2.5 + half_size[0]) & (np.abs(ys[:, None] - y) < 1.0 + half_size[1])
    d = distance_transform_edt(~blocked) * cell if blocked.any() else np.full(blocked.shape, np.inf)
    cost = np.where(blocked, np.inf, 1.0 + RISK * np.exp(-d / RISK_SCALE))
    row = int(np.argmin(np.abs(ys - ego[1])))
    start = (row, 0)
    cost[start] = 1.0 + RISK * np.exp(-d[start] / RISK_SCALE) if blocked[start] else cost[start]  # the ego's own cell is never blocked
    free_goal_rows = [r for r in np.argsort(np.abs(ys - ego[1])) if np.isfinite(cost[r, -1])]
    goal = (int(free_goal_rows[0]) if free_goal_rows else row, len(xs) - 1)
    return cost, start, goal


def astar(cost: np.ndarray, start, goal, heuristic: bool = True, heuristic_scale: float = 1.0) -> tuple[float, list, int]:
    """(path cost, path as cells, cells expanded). Cost inf and an empty path when the goal is unreachable.
    heuristic_scale > 1 inflates h past the true cost to go (weighted A*: faster, no longer optimal)."""
    rows, cols = cost.shape
    c_min = heuristic_scale * float(cost[np.isfinite(cost)].min()) if heuristic else 0.0

    def h(node):
        dr, dc = abs(node[0] - goal[0]), abs(node[1] - goal[1])
        return c_min * (max(dr, dc) + (SQRT2 - 1) * min(dr, dc))

    g = {start: 0.0}
    parent = {start: None}
    closed = set()
    tie = itertools.count()
    heap = [(h(start), next(tie), start)]
    while heap:
        _, _, node = heapq.heappop(heap)
        if node in closed:
            continue
        closed.add(node)
        if node == goal:
            path = []
            while node is not None:
                path.append(node)
                node = parent[node]
            return g[goal], path[::-1], len(closed)
        r, c = node
        for dr, dc in MOVES:
            nr, nc = r + dr, c + dc
            if not (0 <= nr < rows and 0 <= nc < cols) or not np.isfinite(cost[nr, nc]) or (nr, nc) in closed:
                continue
            new = g[node] + (SQRT2 if dr and dc else 1.0) * cost[nr, nc]
            if new < g.get((nr, nc), math.inf):
                g[(nr, nc)] = new
                parent[(nr, nc)] = node
                heapq.heappush(heap, (new + h((nr, nc)), next(tie), (nr, nc)))
    return math.inf, [], len(closed)


def grid_edges(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same graph as A* searches, as (from, to, weight) arrays over cell indices r·cols + c."""
    rows, cols = cost.shape
    src, dst, w = [], [], []
    for r in range(rows):
        for c in range(cols):
            for dr, dc in MOVES:
                nr, nc = r + dr, c + dc
                if 0 <= nr < rows and 0 <= nc < cols and np.isfinite(cost[r, c]) and np.isfinite(cost[nr, nc]):
                    src.append(r * cols + c)
                    dst.append(nr * cols + nc)
                    w.append((SQRT2 if dr and dc else 1.0) * cost[nr, nc])
    return np.array(src, int), np.array(dst, int), np.array(w)


def scipy_cost(cost: np.ndarray, start, goal) -> float:
    """The optimal cost from scipy.sparse.csgraph.dijkstra on grid_edges (the library reference)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    n = cost.size
    src, dst, w = grid_edges(cost)
    graph = csr_matrix((w, (src, dst)), shape=(n, n))
    cols = cost.shape[1]
    return float(dijkstra(graph, indices=start[0] * cols + start[1])[goal[0] * cols + goal[1]])


def exhaustive_cost(cost: np.ndarray, start, goal) -> tuple[float, int]:
    """The cheapest of all simple paths (every one enumerated, none pruned), and how many paths there were."""
    rows, cols = cost.shape
    best, count = math.inf, 0
    visited = np.zeros(cost.shape, bool)

    def walk(node, total):
        nonlocal best, count
        if node == goal:
            count += 1
            best = min(best, total)
            return
        visited[node] = True
        r, c = node
        for dr, dc in MOVES:
            nr, nc = r + dr, c + dc
            if 0 <= nr < rows and 0 <= nc < cols and not visited[nr, nc] and np.isfinite(cost[nr, nc]):
                walk((nr, nc), total + (SQRT2 if dr and dc else 1.0) * cost[nr, nc])
        visited[node] = False

    walk(tuple(start), 0.0)
    return best, count


# -- lattice -----------------------------------------------------------------------------------------------
def _edge(cost: np.ndarray, cell: float, x0: float, lane0: int, lane1: int, ds: float, samples: int = 8) -> float:
    """Cost of one lattice edge starting `x0` metres ahead of the grid's first column: a cubic lateral move from
    lane0 to lane1 over ds metres (zero lateral slope at both ends)."""
    u = np.linspace(0, 1, samples + 1)
    y = LANE_WIDTH * (lane0 + (lane1 - lane0) * (3 * u ** 2 - 2 * u ** 3))
    x = x0 + ds * u
    r = np.clip(((y + LANE_WIDTH / 2) / cell).astype(int), 0, cost.shape[0] - 1)
    c = np.minimum((x / cell).astype(int), cost.shape[1] - 1)   # the last point of the last stage is the grid's far edge
    if not np.isfinite(cost[r, c]).all():
        return math.inf
    return float(np.hypot(np.diff(x), np.diff(y)).sum()) + LANE_CHANGE * abs(lane1 - lane0)


def lattice_edges(cost: np.ndarray, cell: float, ds: float, lanes: int = 3) -> np.ndarray:
    """(stages, lanes, lanes) edge costs: [i, a, b] from lane a at stage i to lane b at stage i + 1."""
    stages = int(round(cost.shape[1] * cell / ds))
    edges = np.full((stages, lanes, lanes), math.inf)
    for i in range(stages):
        for a in range(lanes):
            for b in range(max(a - 1, 0), min(a + 2, lanes)):
                edges[i, a, b] = _edge(cost, cell, i * ds, a, b, ds)
    return edges


def lattice_plan(edges: np.ndarray, start_lane: int) -> tuple[float, list[int]]:
    """Dynamic programming over stages: the cheapest lane sequence from start_lane, ending in any lane."""
    stages, lanes, _ = edges.shape
    best = np.full(lanes, math.inf)
    best[start_lane] = 0.0
    back = np.zeros((stages, lanes), int)
    for i in range(stages):
        total = best[:, None] + edges[i]            # (from, to)
        back[i] = total.argmin(0)
        best = total.min(0)
    lane = int(best.argmin())
    seq = [lane]
    for i in range(stages - 1, -1, -1):
        lane = int(back[i, lane])
        seq.append(lane)
    return float(best.min()), seq[::-1]


def lattice_exhaustive(edges: np.ndarray, start_lane: int) -> float:
    """Every lane sequence of length stages + 1 starting in start_lane, costed edge by edge."""
    stages, lanes, _ = edges.shape
    best = math.inf
    for seq in itertools.product(range(lanes), repeat=stages):
        lane, total = start_lane, 0.0
        for i, nxt in enumerate(seq):
            total += edges[i, lane, nxt]
            lane = nxt
        best = min(best, total)
    return best
