"""Load torch_geometric's layer weights into ours, so the two compute on the same parameters.

Our layers name their parameters as PyG's do (GCNConv.lin → GCNLayer.linear; GATConv.lin, att_src, att_dst, bias;
SAGEConv.lin_l, lin_r), which makes the copy one line per tensor. torch_geometric itself is not imported here.

Cross-check: tests/graphs/test_pyg.py (after the copy each layer's output equals PyG's, float64).
"""
from __future__ import annotations

import torch

from modelbook.graphs.gat import GATLayer
from modelbook.graphs.gcn import GCNLayer
from modelbook.graphs.sampling import SAGELayer


@torch.no_grad()
def copy_from_pyg(ours: GCNLayer | GATLayer | SAGELayer, ref) -> None:
    """Copy the parameters of a PyG GCNConv / GATConv / SAGEConv (`ref`) into the matching layer of ours, in place."""
    if isinstance(ours, GCNLayer):
        ours.linear.weight.copy_(ref.lin.weight)
        if ours.bias is not None:
            ours.bias.copy_(ref.bias)
    elif isinstance(ours, GATLayer):
        for name in ("att_src", "att_dst", "bias"):
            getattr(ours, name).copy_(getattr(ref, name))
        ours.linear.weight.copy_(ref.lin.weight)
    elif isinstance(ours, SAGELayer):
        ours.lin_l.load_state_dict(ref.lin_l.state_dict())
        ours.lin_r.weight.copy_(ref.lin_r.weight)
    else:
        raise TypeError(f"no PyG counterpart for {type(ours).__name__}")
