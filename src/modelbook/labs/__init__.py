"""Every lab, by name: the index a reader scans first.

Listed here rather than found by importing, so `modelbook list` never imports torch.
tests/labs/test_contract.py fails if a module in this folder is missing from the table, and runs
every lab's quick preset on two seeds, requiring every reference comparison to pass.
"""
from modelbook.core.registry import LabSpec

LABS = (
    LabSpec("metrics", topics=(4,), title="Classification metrics from scratch, equal to scikit-learn; AUC, calibration, bootstrap"),
    LabSpec("nlp", topics=(3,), title="SmolLM2 perplexity (sliding window), Chinese sentiment (jieba TF-IDF vs embeddings), handbook QA and RAG"),
    LabSpec("generation", topics=(13,), title="Greedy, beam, top-k/top-p sampling with a KV cache on SmolLM2, = transformers; espeak-ng TTS"),
    LabSpec("dialogue", topics=(14,), title="Intents (macro-F1, imbalance), sentiment escalation, state tracking (JGA), SmolLM2 multi-turn chat"),
    LabSpec("quantization", topics=(2, 23, 27), title="int8/int4/binary quantization from scratch = torch.ao; SmolLM2 size, perplexity, speed; mixed bit-width plan; bf16/fp16 training"),
    LabSpec("pruning", topics=(2, 23, 28), title="Magnitude pruning = torch.nn.utils.prune; sparsity curves, gradual (Zhu & Gupta), structured channels, lottery tickets, MiniLM heads"),
    LabSpec("distillation", topics=(2, 23), title="Knowledge distillation (temperature KL + labels): CNN teacher -> MLP student beats the student alone over seeds"),
    LabSpec("sparse-training", topics=(2, 23), title="Dynamic sparse training (SET, RigL) at 90% vs dense vs prune-after; every compression method on one model"),
    LabSpec("parallel", topics=(9,), title="DDP, tensor and pipeline parallelism, accumulation, ZeRO/FSDP memory: real torchrun ranks"),
    LabSpec("deploy", topics=(10,), title="fp32 vs int8 vs ONNX Runtime vs torch.compile; dynamic batching; signed versions, hot swap under load"),
    LabSpec("security", topics=(20,), title="Scoped tokens, audit hash chain, signed artifacts, bandit; FGSM/PGD and adversarial training; prompt injection"),
    LabSpec("rl", topics=(30,), title="Q-learning vs SARSA (CliffWalking), REINFORCE, DQN, A2C, PPO (CartPole, LunarLander)"),
    LabSpec("exploration", topics=(35,), title="10-armed testbed, UCB vs ε-greedy, UCB1 log regret, ε schedules, double Q / Double DQN"),
    LabSpec("marl", topics=(36,), title="MADDPG vs independent learners, communication, competition, parallel rollouts (mpe2)"),
    LabSpec("text-gan", topics=(38,), title="SeqGAN vs MLE on a synthetic oracle (quality vs coverage); RNN/LSTM/Transformer char LMs"),
    LabSpec("attention", topics=(33,), title="Scaled dot-product, multi-head, cross, GQA (SmolLM2), KV cache, tiled online softmax"),
    LabSpec("training-cost", topics=(1,), title="SmolLM2 FLOPs vs 6NT, memory estimator vs measured, 1B/7B/70B budgets, MinHash dedup"),
    LabSpec("hyperparams", topics=(5,), title="LR range test, batch size vs LR, epochs, weight decay, optimizers, sensitivity table (Fashion-MNIST)"),
    LabSpec("imbalance", topics=(6,), title="Over/undersampling, SMOTE, class weights, focal loss (credit data); minority augmentation; negative sampling (BPR)"),
    LabSpec("overfitting", topics=(7,), title="L1, L2, dropout, augmentation, early stopping: train/validation gap; k-fold vs nested CV"),
    LabSpec("monitoring", topics=(8,), title="JSONL + TensorBoard logs read back, checkpoint-best, LR schedules, divergence alerts, crash + resume"),
    LabSpec("gnn", topics=(34,), title="GCN and GAT from scratch (= PyG), what the graph adds, over-smoothing, neighbour sampling"),
    LabSpec("kge", topics=(39,), title="RESCAL/DistMult/ComplEx, TransE/RotatE, ConvE, R-GCN/GAT encoders; evaluator = PyKEEN's"),
    LabSpec("multihop", topics=(40,), title="1p-3i/ip/pi queries with exact answers, GQE and Query2Box on hard answers, path finding"),
    LabSpec("interpret", topics=(22,), title="Filters, permutation vs SHAP, Integrated Gradients = Captum, LIME, MiniLM attention, deletion curves, sanity checks"),
    LabSpec("privacy", topics=(21,), title="PII masking zh/en with checksums, k-anonymity (full-domain vs Mondrian), AES-GCM at rest, CKKS inference (TenSEAL)"),
    LabSpec("dp-federated", topics=(21,), title="DP-SGD = Opacus, RDP accountant, privacy-utility, membership inference vs the DP bound, FedAvg + secure aggregation"),
    LabSpec("tokenization", topics=(41,), title="Byte-level BPE from scratch = tokenizers; SentencePiece unigram; SmolLM2 on Chinese vs English; digits, round trip"),
    LabSpec("decoder-block", topics=(42,), title="Decoder layer = SmolLM2's LlamaDecoderLayer; pre- vs post-LN at depth; SwiGLU vs GELU; RoPE/ALiBi/learned past L; PI, NTK, YaRN"),
    LabSpec("moe", topics=(43,), title="Sparse MoE = Mixtral's block; Switch loss, V3 bias, capacity; router collapse; MoE vs dense; expert-parallel all-to-all"),
    LabSpec("scaling", topics=(44,), title="GPT ladder (5+ widths × 4 budgets), Chinchilla Approach-3 fit + bootstrap, compute-optimal N/D vs 20 tokens/param, μP LR transfer"),
    LabSpec("image-gen", topics=(37,), title="MLP GAN, DCGAN, VAE (ELBO, IWAE), cGAN on Fashion-MNIST; FID = torchmetrics, precision/recall; DDPM/DDIM = diffusers"),
    LabSpec("vision", topics=(11,), title="Fashion-MNIST CNN vs benchmark, augmentation, ViT vs CNN, EfficientNet probe; CenterNet + NMS, mAP = pycocotools; U-Net mIoU, skips"),
    LabSpec("continual", topics=(26,), title="Prequential accuracy and Page-Hinkley drift delay on SEA; split Fashion-MNIST task/class-IL: fine-tune, EWC, LwF, replay, joint"),
    LabSpec("meta", topics=(32,), title="MAML (2nd order via torch.func = autograd), FOMAML, Reptile vs pretraining on sinusoids; ProtoNets vs MAML vs attention learner on unseen glyphs"),
    LabSpec("transfer", topics=(24,), title="Probe vs fine-tune vs scratch at 10/100/all labels, LoRA/QLoRA from scratch (merge, memory, = peft), zero-shot unseen classes, negative transfer"),
    LabSpec("finance", topics=(16,), title="Default detection: PR-AUC, cost threshold vs Bayes, profit curve; WoE/IV scorecard, KS/Gini; VaR/ES, GARCH = arch, Kupiec/Christoffersen; look-ahead bias, deflated Sharpe"),
    LabSpec("automl", topics=(29,), title="Optuna TPE vs random vs grid over seeds, median pruning, nested-CV model selection, auto features, stacking, shared study (SQLite/PostgreSQL)"),
    LabSpec("recsys", topics=(15,), title="MovieLens: SGD SVD and ALS = Surprise on a temporal split; BPR, two-tower vs most-popular; MiniLM hybrid for cold start; retrieval → ranking → MMR; LinUCB regret"),
    LabSpec("multitask", topics=(31,), title="MultiMNIST: hard vs cross-stitch/L2 soft sharing vs separate; equal vs uncertainty vs GradNorm; negative transfer, gradient cosine, PCGrad"),
    LabSpec("medical", topics=(17,), title="Diagnosis: ECE, sensitivity ≥ 0.95, decision curves; DICOM/NIfTI = pydicom/nibabel, lesion FROC; GCN vs Morgan-RF on scaffold split; T-/X-learner PEHE, Qini"),
    LabSpec("inference", topics=(46,), title="Speculative decoding (self-draft, prompt lookup) = greedy; paged KV + continuous batching vs static; prefix cache; KIVI int8 KV"),
    LabSpec("games", topics=(19,), title="Tic-tac-toe solved (alpha-beta = OpenSpiel), UCT vs OpenSpiel MCTS on connect four, AlphaZero self-play + Elo, solvable Sokoban rooms, constrained story beats"),
    LabSpec("alignment", topics=(45,), title="Verifiable arithmetic: SFT, Bradley–Terry reward model, DPO (= trl) with LoRA, GRPO reward and KL curves, reward hacking by a flawed grader and its fix"),
)
