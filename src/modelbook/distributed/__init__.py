"""Scale-out training building blocks, run as real processes under torchrun (gloo on CPU, the same code multi-node).

- tensor_parallel.py  column-/row-parallel linear layers and the Megatron MLP, from scratch (all-reduce autograd ops)
- pipeline.py         a GPipe pipeline over ranks with micro-batches, from scratch (send/recv of activations)
- memory.py           bytes of parameters, gradients and optimizer state held by one rank (ZeRO accounting)
- worker.py           the program torchrun starts for the `parallel` lab (DDP, accumulation, TP, PP, ZeRO/FSDP)
- launch.py           start torchrun on 127.0.0.1 and collect the workers' results
"""
