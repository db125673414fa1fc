"""Driving: perception, prediction, planning, decision and control on highway-env (topic 18).

What this lab shows
  1. Perception: top-down frames rendered by highway-env, every car's box projected from the simulator state; the
     vision lab's CenterNet trained from scratch on them; mAP@0.5 by distance band from the ego, equal to
     pycocotools' on the same detections.
  2. Prediction: every car's trajectory logged at 5 Hz (the ego too, driven by IDM/MOBIL); an MLP predicting the
     correction to constant velocity from 1 s of history and the 4 nearest cars, against constant velocity and
     constant acceleration: ADE/FDE at 1 s and 3 s on drives never seen in training, paired by track.
  3. Planning: occupancy grids of the logged scenes; A* = scipy's Dijkstra on every grid and = exhaustive search on
     tiny ones; the lattice planner's dynamic programme = enumeration of every lane sequence; cost, cells expanded
     and time as the grid is refined.
  4. Decision and control: a Double DQN (modelbook.rl.dqn) on highway-fast-v0 (10 cars, 20 s), trained with a collision
     penalty 3 × highway-env's default, against highway-env's own IDM/MOBIL driver and a random policy on the same
     fresh episodes: collision rate, mean speed, return (all scored with the default reward). Full preset: DQNs
     trained with the default and with speed-heavy weights show the speed-safety trade-off.

Differences from real autonomy (also in the handbook): the "sensor" is a clean top-down render with perfect
boxes (no camera perspective, weather, occlusion or calibration); the traffic is IDM/MOBIL cars on a straight
3-lane road with no pedestrians, junctions or rule violations; tens of episodes, not the billions of miles and
the long tail a safety case needs; no redundancy, runtime monitor or fallback.

Building blocks: modelbook/driving/{sim,perception,prediction,planning}.py; modelbook.rl (DQN), modelbook.vision
(CenterNet, COCO mAP). Cross-checks: tests/driving/, tests/labs/test_driving.py
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from modelbook.core import plots, progress
from modelbook.core.result import LabResult
from modelbook.evaluation.uncertainty import paired_lower_bound

COCO = "pycocotools COCOeval (bbox, AP at IoU 0.5) on the same boxes and detections"
CV_REF = "constant-velocity baseline (Schöller et al. 2020, 'What the constant velocity model can teach us about pedestrian motion prediction')"
SCIPY = "scipy.sparse.csgraph.dijkstra on the same weighted 8-connected grid graph"
EXHAUSTIVE = "exhaustive enumeration of every simple path / every lane sequence (the optimum by definition)"
IDM = "highway-env's IDMVehicle (IDM, Treiber et al. 2000 + MOBIL, Kesting et al. 2007), the driver of every other car"
BANDS = {"near": (0.0, 8.0), "mid": (8.0, 16.0), "far": (16.0, np.inf)}


@dataclass(frozen=True)
class Config:
    RANGES: ClassVar[dict] = {"frame_scaling": (1.0, 6.0), "log_seconds": (8.0, 120.0)}
    log_vehicles: int = 15
    """cars per logged drive (perception, prediction, planning scenes)"""
    log_seconds: float = 30.0
    train_drives: int = 6
    test_drives: int = 3
    pred_train_drives: int = 0
    """more drives for the predictor's training set only, logged without frames (cheap: no rendering)"""
    pred_test_drives: int = 0
    """more drives for the predictor's test set only: the paired check's unit is a test track (a car in a drive)"""
    frame_size: int = 96
    """square frames, pixels"""
    frame_scaling: float = 2.5
    """pixels per metre"""
    det_width: int = 8
    det_epochs: int = 15
    det_batch: int = 8
    det_map50_floor: float | None = 0.6
    """None: mAP reported, not checked (the quick preset's 45 frames give 0.04-0.7 over seeds)"""
    pred_epochs: int = 60
    pred_hidden: int = 128
    plan_scenes: int = 4
    plan_cells: tuple[float, ...] = (2.0, 1.0, 0.5, 0.25)
    """grid cell sizes (metres) of the refinement sweep"""
    plan_ahead: float = 45.0
    dqn_steps: int = 4000
    check_policy: bool = True
    """hold the DQN against the random policy (too few steps in the quick preset to learn)"""
    reward_variants: bool = True
    """also train DQNs with a safety-heavy and a speed-heavy reward"""
    eval_episodes: int = 30
    eval_vehicles: int = 10
    eval_seconds: int = 20
    seed: int = 0
    threads: int = 1


# quick: 3 + 2 unrendered drives beside the rendered ones give the predictor twice the training tracks and its paired check
# 39 test tracks (13 on one drive left the lower bound at -0.01..0.12 over seeds though the mean gain was 0.13-0.2 m).
# 20-s evaluation episodes (highway-fast's length, as in full): a random policy crashes in ~80% of them (~64% at 12 s,
# ~50% at 8 s, measured on 200 episodes), so 10 paired episodes hold random − IDM/MOBIL above 0 unless <= 2 crash (p ~ 1e-4).
PRESETS = {
    "quick": Config(log_vehicles=12, log_seconds=15.0, train_drives=3, test_drives=1, pred_train_drives=3, pred_test_drives=2,
                    frame_size=64, frame_scaling=2.0, det_epochs=10,
                    det_map50_floor=None, pred_epochs=12, plan_scenes=2, plan_cells=(2.0, 1.0, 0.5), plan_ahead=30.0, dqn_steps=20,
                    check_policy=False, reward_variants=False, eval_episodes=10, eval_vehicles=8, eval_seconds=20),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    from modelbook.driving import sim

    result = LabResult("driving", cfg)
    traffic = {"vehicles_count": cfg.log_vehicles, "vehicles_density": 1.5}
    drives = [sim.drive(cfg.seed * 1000 + i, cfg.log_seconds, traffic, size=cfg.frame_size, scaling=cfg.frame_scaling)
              for i in progress.track(range(cfg.train_drives + cfg.test_drives), "logging drives")]
    train, test = drives[:cfg.train_drives], drives[cfg.train_drives:]   # split by drive, never by frame
    n = cfg.train_drives + cfg.test_drives
    extra = [sim.drive(cfg.seed * 1000 + n + i, cfg.log_seconds, traffic)
             for i in progress.track(range(cfg.pred_train_drives + cfg.pred_test_drives), "logging drives (prediction only)")]
    _perception(result, cfg, train, test, out)
    _prediction(result, cfg, train + extra[:cfg.pred_train_drives], test + extra[cfg.pred_train_drives:], out)
    _planning(result, cfg, test, out)
    _decision(result, cfg, out)
    return result


# -- 1. perception ----------------------------------------------------------------------------------------
def _perception(result: LabResult, cfg: Config, train, test, out: Path) -> None:
    from modelbook.driving.perception import banded, frames_from
    from modelbook.vision.detection import CenterNet, coco_map, decode, pycocotools_map, train_centernet

    tr, te = frames_from(train), frames_from(test)
    torch.manual_seed(cfg.seed)
    model = CenterNet(1, width=cfg.det_width)
    with progress.status("perception: CenterNet on rendered frames"):
        train_centernet(model, torch.from_numpy(tr.images), tr.boxes, [np.zeros(len(b), int) for b in tr.boxes], 1,
                        cfg.det_epochs, 3e-3, cfg.det_batch, cfg.seed)
        with torch.no_grad():
            dets = decode(model(torch.from_numpy(te.images)), model.stride)
    result.metric("perception/train_frames", len(tr.images))
    result.metric("perception/test_frames", len(te.images))
    diffs = []
    for name, (lo, hi) in {**BANDS, "all": (0.0, np.inf)}.items():
        gts, labels, band_dets = banded(te, dets, lo, hi)
        n_gt = sum(len(g) for g in gts)
        result.metric(f"perception/{name}/objects", n_gt)
        if n_gt == 0:
            continue
        ours, ref = coco_map(gts, labels, band_dets, 1)["map_50"], pycocotools_map(gts, labels, band_dets, 1)["map_50"]
        result.metric(f"perception/{name}/map_50", ours)
        diffs.append(abs(ours - ref))
    result.check("our mAP@0.5 vs pycocotools, every distance band, max |diff|", max(diffs), reference=0.0, tolerance=1e-6,
                 source=COCO, kind="at_most")
    if cfg.det_map50_floor is None:
        result.note(f"CenterNet from scratch on {len(tr.images)} frames: mAP@0.5 {result.value('perception/all/map_50'):.2f} on "
                    f"{len(te.images)} frames of another drive; too few frames and cars for a stable detector at this preset "
                    "(0.04 to 0.7 over seeds): reported, not checked (the full preset checks it).")
    else:
        result.check(f"CenterNet from scratch on {len(tr.images)} frames: mAP@0.5 (ego excluded) on {len(te.images)} frames of other drives",
                     result.value("perception/all/map_50"), reference=cfg.det_map50_floor, tolerance=0.0,
                     source="quality floor for this preset, below the spread measured over seeds (Config.det_map50_floor)", kind="at_least")
    fig, axes = plots.figure(1, 3, size=(10, 3.6))
    for ax, i in zip(np.atleast_1d(axes), range(min(3, len(te.images)))):
        ax.imshow(te.images[i, 0], cmap="gray", vmin=0, vmax=1)
        for b in te.boxes[i]:
            ax.add_patch(_rect(b, "lime"))
        for b, s in zip(dets[i]["boxes"], dets[i]["scores"]):
            if s > 0.3:
                ax.add_patch(_rect(b, "red"))
        ax.set(xticks=[], yticks=[])
    fig.suptitle("ground truth from the simulator (green), detections with score > 0.3 (red)")
    result.artifact(plots.save(fig, out / "detections.png"))


def _rect(b, colour):
    import matplotlib.patches as patches

    return patches.Rectangle((b[0], b[1]), b[2] - b[0], b[3] - b[1], fill=False, ec=colour, lw=1)


# -- 2. prediction ----------------------------------------------------------------------------------------
def _prediction(result: LabResult, cfg: Config, train, test, out: Path) -> None:
    from modelbook.driving import prediction as P

    tr = P.make_samples([d.positions for d in train])
    te = P.make_samples([d.positions for d in test], track_offset=10 ** 6)
    with progress.status("prediction: MLP on logged trajectories"):
        model = P.train_predictor(tr, cfg.pred_epochs, cfg.seed, cfg.pred_hidden)
    preds = {"const_velocity": P.constant_velocity(te.history), "const_accel": P.constant_acceleration(te.history),
             "learned": model.predict(te)}
    result.metric("prediction/train_samples", len(tr.future))
    result.metric("prediction/test_samples", len(te.future))
    ade3 = {}
    for horizon, steps in P.HORIZONS.items():
        for name, pred in preds.items():
            ade, fde = P.displacement_errors(pred, te.future, steps)
            result.metric(f"prediction/{name}/ade_{horizon}", ade.mean(), "m")
            result.metric(f"prediction/{name}/fde_{horizon}", fde.mean(), "m")
            if horizon == "3s":
                ade3[name] = ade
    gain = P.per_track(ade3["const_velocity"] - ade3["learned"], te.track)
    result.metric("prediction/tracks", len(gain))
    result.check("constant velocity ADE@3s − learned ADE@3s, 95% lower bound over test tracks (paired)",
                 paired_lower_bound(gain), reference=0.0, tolerance=0.0, source=CV_REF, kind="at_least",
                 note=f"learned {ade3['learned'].mean():.3f} m vs constant velocity {ade3['const_velocity'].mean():.3f} m "
                      f"(constant acceleration {ade3['const_accel'].mean():.3f} m)")
    fig, ax = plots.figure(1, 1, size=(5.5, 3.8))
    k = np.arange(1, P.FUTURE + 1) * P.DT
    for name, pred in preds.items():
        ax.plot(k, np.linalg.norm(pred - te.future, axis=-1).mean(0), marker=".", label=name.replace("_", " "))
    ax.set(xlabel="horizon (s)", ylabel="mean displacement error (m)", title="trajectory prediction, test drives")
    ax.legend(fontsize=8)
    result.artifact(plots.save(fig, out / "prediction.png"))


# -- 3. planning ------------------------------------------------------------------------------------------
def _planning(result: LabResult, cfg: Config, test, out: Path) -> None:
    from modelbook.driving import planning as P

    drive = test[0]
    times = np.linspace(len(drive.positions) * 0.2, len(drive.positions) * 0.8, cfg.plan_scenes).astype(int)
    scenes = [(np.delete(drive.positions[t], drive.ego, 0), drive.positions[t, drive.ego]) for t in times]
    lib_diff, exh_diff, lat_diff, n_paths, sweep = 0.0, 0.0, 0.0, 0, {}
    for cars, ego in progress.track(scenes, "planning: A*, lattice"):
        for cell in cfg.plan_cells:                        # refinement sweep: the same scene, finer and finer
            cost, start, goal = P.occupancy_grid(cars, ego, cfg.plan_ahead, cell)
            t0 = time.process_time()
            a_cost, _, a_exp = P.astar(cost, start, goal)
            t1 = time.process_time()
            _, _, d_exp = P.astar(cost, start, goal, heuristic=False)
            lib = P.scipy_cost(cost, start, goal)
            if np.isfinite(lib) or np.isfinite(a_cost):
                lib_diff = max(lib_diff, abs(a_cost - lib) / lib)
            sweep.setdefault(cell, []).append((cost.size, a_cost * cell, t1 - t0, a_exp, d_exp))
        small, start, goal = P.occupancy_grid(cars, ego, 20.0, 4.0)   # 3 × 5 cells: every simple path enumerable
        best, count = P.exhaustive_cost(small, start, goal)
        exh_diff = max(exh_diff, abs(P.astar(small, start, goal)[0] - best) if np.isfinite(best) else 0.0)
        n_paths += count
        cost, _, _ = P.occupancy_grid(cars, ego, cfg.plan_ahead, 0.5)
        edges = P.lattice_edges(cost, 0.5, 5.0)
        start_lane = int(np.clip(np.round(ego[1] / P.LANE_WIDTH), 0, 2))
        dp, _ = P.lattice_plan(edges, start_lane)
        lat_diff = max(lat_diff, abs(dp - P.lattice_exhaustive(edges, start_lane)) if np.isfinite(dp) else 0.0)
    for cell, rows in sweep.items():
        r = np.array(rows, dtype=float)
        result.metric(f"planning/cell_{cell:g}m/cells", r[:, 0].mean())
        result.metric(f"planning/cell_{cell:g}m/astar_cost_m", r[:, 1].mean(), "m")
        result.metric(f"planning/cell_{cell:g}m/astar_cpu_ms", 1000 * r[:, 2].mean(), "ms", volatile=True)
        result.metric(f"planning/cell_{cell:g}m/astar_expanded", r[:, 3].mean())
        result.metric(f"planning/cell_{cell:g}m/dijkstra_expanded", r[:, 4].mean())
    result.metric("planning/exhaustive_paths", n_paths)
    result.check("A* path cost vs scipy Dijkstra, every scene and grid size, max relative |diff|", lib_diff, reference=0.0,
                 tolerance=1e-9, source=SCIPY, kind="at_most")
    result.check(f"A* path cost vs exhaustive search on 3 × 5 grids ({n_paths} simple paths), max |diff|", exh_diff,
                 reference=0.0, tolerance=1e-9, source=EXHAUSTIVE, kind="at_most")
    result.check("lattice planner (dynamic programming) vs every lane sequence, max |diff|", lat_diff, reference=0.0,
                 tolerance=1e-9, source=EXHAUSTIVE, kind="at_most")
    fig, (ax1, ax2) = plots.figure(1, 2, size=(11, 3.6))
    cost, start, goal = P.occupancy_grid(*scenes[0], cfg.plan_ahead, 0.5)
    _, path, _ = P.astar(cost, start, goal)
    ax1.imshow(np.where(np.isfinite(cost), cost, np.nan), cmap="viridis", origin="lower", aspect="auto")
    if path:
        ax1.plot([p[1] for p in path], [p[0] for p in path], c="r", lw=1.5, label="A*")
    edges = P.lattice_edges(cost, 0.5, 5.0)
    _, lanes = P.lattice_plan(edges, int(np.clip(np.round(scenes[0][1][1] / P.LANE_WIDTH), 0, 2)))
    ax1.plot(np.arange(len(lanes)) * 10, (np.array(lanes) * P.LANE_WIDTH + P.LANE_WIDTH / 2) / 0.5, c="w", ls="--", label="lattice (stage ends)")
    ax1.set(title="cost grid (0.5 m cells; blank = blocked)", xlabel="cells ahead", ylabel="cells across")
    ax1.legend(fontsize=7)
    cells = [np.mean([r[0] for r in sweep[c]]) for c in cfg.plan_cells]
    ax2.loglog(cells, [np.mean([r[3] for r in sweep[c]]) for c in cfg.plan_cells], marker="o", label="A* expanded")
    ax2.loglog(cells, [np.mean([r[4] for r in sweep[c]]) for c in cfg.plan_cells], marker="s", label="Dijkstra expanded")
    ax2.set(xlabel="grid cells", ylabel="cells expanded", title="search effort as the grid is refined")
    ax2.legend(fontsize=7)
    result.artifact(plots.save(fig, out / "planning.png"))


# -- 4. decision and control ------------------------------------------------------------------------------
REWARDS = {"main": {"collision_reward": -3.0},                        # the policy checked: collisions weigh 3 × the default
           "default": {},                                                 # highway-env's weights: collision −1, speed 0.4, right lane 0.1
           "speed": {"collision_reward": -0.3, "high_speed_reward": 1.0}}  # speed-heavy
"""reward weights the DQNs are trained with; every policy is scored with highway-env's default reward"""


def _decision(result: LabResult, cfg: Config, out: Path) -> None:
    from modelbook.driving import sim
    from modelbook.rl.dqn import DQNConfig, train_dqn

    traffic = {"vehicles_count": cfg.eval_vehicles, "duration": cfg.eval_seconds}
    seeds = [2_000_000 + cfg.seed * 1000 + i for i in range(cfg.eval_episodes)]   # fresh: never a training episode
    dqn_cfg = DQNConfig(total_steps=cfg.dqn_steps, lr=5e-4, buffer_size=20_000, batch_size=32, gamma=0.8,
                        learning_starts=min(200, cfg.dqn_steps // 3), train_freq=1, gradient_steps=1, target_update=50,
                        eps_fraction=0.6, eps_end=0.05, hidden=(256, 256), double=True, eval_every=10 ** 9, eval_episodes=1,
                        solve_threshold=None)
    episodes = {"random": sim.run_episodes("random", seeds, traffic), "idm_mobil": sim.run_episodes("idm", seeds, traffic)}
    for name in progress.track([n for n in REWARDS if n == "main" or cfg.reward_variants], "decision: DQN"):
        trained = train_dqn(sim.env_id({**traffic, **REWARDS[name]}), dqn_cfg, cfg.seed)
        episodes["dqn" if name == "main" else f"dqn_{name}_reward"] = sim.run_episodes(trained.act, seeds, traffic)
    for name, e in episodes.items():   # every policy scored with the default reward, on the same episodes
        result.metric(f"decision/{name}/collision_rate", e.crashed.mean())
        result.metric(f"decision/{name}/mean_speed", e.mean_speed.mean(), "m/s")
        result.metric(f"decision/{name}/return", e.returns.mean())
    rnd, idm, dqn = episodes["random"], episodes["idm_mobil"], episodes["dqn"]
    result.check("random − IDM/MOBIL collision rate, 95% lower bound over the same episodes (paired)",
                 paired_lower_bound(rnd.crashed - idm.crashed), reference=0.0, tolerance=0.0, source=IDM, kind="at_least",
                 note=f"collisions: random {rnd.crashed.mean():.0%}, IDM/MOBIL {idm.crashed.mean():.0%}")
    if cfg.check_policy:
        result.check(f"DQN ({cfg.dqn_steps} steps, collision weight −3) − random return, 95% lower bound, same episodes (paired)",
                     paired_lower_bound(dqn.returns - rnd.returns), reference=0.0, tolerance=0.0,
                     source="a uniform random policy on the same fresh episodes", kind="at_least")
    result.note(f"DQN after {cfg.dqn_steps} steps: return {dqn.returns.mean():.2f}, collisions {dqn.crashed.mean():.0%}, "
                f"speed {dqn.mean_speed.mean():.1f} m/s; IDM/MOBIL: {idm.returns.mean():.2f}, {idm.crashed.mean():.0%}, "
                f"{idm.mean_speed.mean():.1f} m/s; random: {rnd.returns.mean():.2f}, {rnd.crashed.mean():.0%}, "
                f"{rnd.mean_speed.mean():.1f} m/s ({cfg.eval_episodes} fresh episodes, the same for each)."
                + ("" if cfg.check_policy else " Too few steps to learn at this preset: reported, not checked."))
    fig, axes = plots.figure(1, 3, size=(11, 3.4))
    names = list(episodes)
    for ax, (key, label) in zip(axes, [("crashed", "collision rate"), ("mean_speed", "mean speed (m/s)"), ("returns", "return")]):
        values = [getattr(episodes[n], key) for n in names]
        ax.bar(range(len(names)), [v.mean() for v in values], yerr=[v.std(ddof=1) / np.sqrt(len(v)) for v in values], color="C0")
        ax.set_xticks(range(len(names)), [n.replace("_", "\n") for n in names], fontsize=7)
        ax.set_title(label)
    result.artifact(plots.save(fig, out / "decision.png"))
