"""Multi-hop reasoning over knowledge graphs: logical queries with exact answers, GQE and Query2Box query
embeddings, and path finding (BFS, A* with landmark embeddings, embedding-guided beam search).

    from modelbook.multihop import STRUCTURES, sample_queries, GQE, Query2Box, train_queries, evaluate_queries
"""
from modelbook.multihop.models import GQE, Query2Box, negative_sampling_loss
from modelbook.multihop.paths import (
                                      PathResult,
                                      SearchGraph,
                                      astar,
                                      beam_search,
                                      bfs,
                                      bfs_distances,
                                      excess_hops,
                                      farthest_landmarks,
                                      landmark_embedding,
                                      reference_graph,
                                      search_graph,
)
from modelbook.multihop.queries import STRUCTURES, TRAIN_TYPES, QuerySet, adjacency, execute, sample_queries
from modelbook.multihop.train import evaluate_queries, hard_answer_ranks, per_query_metrics, random_ranker_metrics, train_queries

__all__ = [
    "GQE", "STRUCTURES", "TRAIN_TYPES", "PathResult", "Query2Box", "QuerySet", "SearchGraph", "adjacency", "astar",
    "beam_search", "bfs", "bfs_distances", "evaluate_queries", "excess_hops", "execute", "farthest_landmarks", "hard_answer_ranks",
    "landmark_embedding", "negative_sampling_loss", "per_query_metrics", "random_ranker_metrics", "reference_graph", "sample_queries",
    "search_graph", "train_queries",
]
