"""The shared training loop: resume equals an uninterrupted run, callbacks do what they say, alerts fire."""
import json
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from modelbook.core.schedules import cosine_with_warmup
from modelbook.core.seed import seed_everything

pytestmark = pytest.mark.usefixtures("single_thread")
from modelbook.core.train import (
    CheckpointBest,
    EarlyStopping,
    JsonlLogger,
    LRSchedule,
    TensorBoard,
    TrainingDiverged,
    accuracy,
    class_weights,
    fit,
    load_best,
)


def _data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 10, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return x, y


def _setup(seed=0, lr=0.05):
    seed_everything(seed)
    x, y = _data()
    train = DataLoader(TensorDataset(x[:192], y[:192]), batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(seed))
    val = DataLoader(TensorDataset(x[192:], y[192:]), batch_size=64)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 2))
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    return model, opt, train, val


def _callbacks(opt, tmp):
    return [LRSchedule(torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)),
            EarlyStopping("val_loss", patience=50, restore_best=False), CheckpointBest(tmp, "val_acc", "max")]


def test_it_learns_and_reports_metrics(tmp_path):
    model, opt, train, val = _setup()
    state = fit(model, train, opt, n_epochs=8, criterion=nn.CrossEntropyLoss(), val_loader=val, metrics={"acc": accuracy},
                callbacks=[JsonlLogger(tmp_path / "log.jsonl")])
    assert state.epoch == 8 and len(state.history) == 8
    assert state.history[-1]["val_acc"] > 0.85 and state.history[-1]["train_loss"] < state.history[0]["train_loss"]
    lines = [json.loads(l) for l in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [l["epoch"] for l in lines] == list(range(1, 9)) and lines[-1]["val_acc"] == state.history[-1]["val_acc"]


def test_resume_from_checkpoint_equals_uninterrupted_run(tmp_path):
    model, opt, train, val = _setup(seed=3)
    fit(model, train, opt, n_epochs=6, criterion=nn.CrossEntropyLoss(), val_loader=val, metrics={"acc": accuracy},
        callbacks=_callbacks(opt, tmp_path / "a"))
    straight = {k: v.clone() for k, v in model.state_dict().items()}

    model, opt, train, val = _setup(seed=3)
    fit(model, train, opt, n_epochs=3, criterion=nn.CrossEntropyLoss(), val_loader=val, metrics={"acc": accuracy},
        callbacks=_callbacks(opt, tmp_path / "b"), checkpoint_dir=tmp_path / "b")
    # a new process would rebuild everything from scratch: different seed state, fresh objects
    seed_everything(999)
    model2, opt2, train2, val2 = _setup(seed=3)
    torch.rand(7)  # disturb the global stream: resume must restore it
    state = fit(model2, train2, opt2, n_epochs=6, criterion=nn.CrossEntropyLoss(), val_loader=val2, metrics={"acc": accuracy},
                callbacks=_callbacks(opt2, tmp_path / "b"), checkpoint_dir=tmp_path / "b", resume=True)
    assert state.epoch == 6 and len(state.history) == 6
    for k, v in model2.state_dict().items():
        assert torch.equal(v, straight[k]), k


def test_checkpoint_best_keeps_the_best_epoch(tmp_path):
    model, opt, train, val = _setup()
    cb = CheckpointBest(tmp_path, "val_acc", "max")
    state = fit(model, train, opt, n_epochs=5, criterion=nn.CrossEntropyLoss(), val_loader=val, metrics={"acc": accuracy}, callbacks=[cb])
    best = max(range(5), key=lambda i: (state.history[i]["val_acc"], -i))
    assert cb.best_epoch == best + 1
    fresh = _setup()[0]
    load_best(fresh, tmp_path)
    assert not list(tmp_path.glob("*.tmp"))


def test_early_stopping_stops_and_restores_best():
    model, opt, train, val = _setup(lr=0.2)
    stopper = EarlyStopping("val_loss", patience=2, min_delta=10.0)  # nothing improves by 10: stops after 1 + 2 epochs
    state = fit(model, train, opt, n_epochs=20, criterion=nn.CrossEntropyLoss(), val_loader=val, callbacks=[stopper])
    assert state.epoch == 3 and "early stopping" in state.stop_reason
    assert stopper.best_epoch == 1


def test_cosine_with_warmup_matches_transformers():
    from transformers import get_cosine_schedule_with_warmup

    def lrs(make):
        opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
        sched = make(opt)
        out = []
        for _ in range(100):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return out

    ours = lrs(lambda o: cosine_with_warmup(o, 10, 100))
    ref = lrs(lambda o: get_cosine_schedule_with_warmup(o, 10, 100))
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-15)


def test_class_weights_match_sklearn():
    from sklearn.utils.class_weight import compute_class_weight

    y = np.array([0] * 90 + [1] * 9 + [2] * 1)
    np.testing.assert_allclose(class_weights(y).numpy(), compute_class_weight("balanced", classes=np.arange(3), y=y), rtol=1e-6)


def test_nan_loss_stops_with_a_clear_message():
    model, opt, train, val = _setup(lr=1e30)
    with pytest.raises(TrainingDiverged, match=r"loss became nan|exploding gradient"):
        fit(model, train, opt, n_epochs=3, criterion=nn.CrossEntropyLoss())


def test_exploding_gradient_alert():
    model, opt, train, val = _setup()
    with torch.no_grad():
        model[0].weight.mul_(1e4)
    with pytest.raises(TrainingDiverged, match=r"exploding gradient: norm .* > 100"):
        fit(model, train, opt, n_epochs=1, criterion=nn.CrossEntropyLoss(), max_grad_norm_alert=100)


def test_tensorboard_events_read_back(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    model, opt, train, val = _setup()
    state = fit(model, train, opt, n_epochs=3, criterion=nn.CrossEntropyLoss(), val_loader=val, callbacks=[TensorBoard(tmp_path)])
    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    values = [e.value for e in acc.Scalars("epoch/val_loss")]
    np.testing.assert_allclose(values, [h["val_loss"] for h in state.history], rtol=1e-6)


def test_one_cycle_schedule_steps_per_batch():
    model, opt, train, val = _setup()
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=6 * len(train))
    cb = LRSchedule(sched, interval="step")
    fit(model, train, opt, n_epochs=6, criterion=nn.CrossEntropyLoss(), callbacks=[cb])
    peak = int(np.argmax(cb.lrs))
    assert 0 < peak < len(cb.lrs) - 1 and cb.lrs[-1] < cb.lrs[0] and math.isclose(max(cb.lrs), 0.1, rel_tol=0.02)


def test_eval_loaders_log_the_train_metrics_with_one_forward_pass():
    model, opt, train, val = _setup()
    calls = {"n": 0}
    hook = model.register_forward_hook(lambda *a: calls.__setitem__("n", calls["n"] + 1))
    state = fit(model, train, opt, n_epochs=2, criterion=nn.CrossEntropyLoss(), val_loader=val, metrics={"acc": accuracy},
                eval_loaders={"train": DataLoader(train.dataset, batch_size=96)})
    hook.remove()
    assert {"train_loss", "train_acc", "val_loss", "val_acc"} <= set(state.history[-1])
    # per epoch: 6 training batches + 2 train-eval batches + 1 validation batch, each run forward once
    assert calls["n"] == 2 * (6 + 2 + 1)
    model.eval()
    x, y = train.dataset.tensors
    with torch.no_grad():
        assert state.history[-1]["train_acc"] == pytest.approx(accuracy(model(x), y))
        assert state.history[-1]["train_loss"] == pytest.approx(float(nn.CrossEntropyLoss()(model(x), y)), rel=1e-6)


def test_a_callback_can_stop_in_the_middle_of_an_epoch():
    from modelbook.core.train import Callback

    class StopAt(Callback):
        def on_step_end(self, state, loss, grad_norm):
            if state.step == 4:
                state.stop_reason = "budget"

    model, opt, train, val = _setup()
    state = fit(model, train, opt, n_epochs=5, criterion=nn.CrossEntropyLoss(), val_loader=val, callbacks=[StopAt()])
    assert state.step == 4 and state.epoch == 1 and state.stop_reason == "budget" and "val_loss" in state.history[-1]


@pytest.mark.parametrize("name", ["step", "cosine_warmup", "plateau", "one_cycle"])
def test_schedule_factory(name):
    from modelbook.core.schedules import schedule

    model, opt, train, val = _setup(lr=0.01)
    if name == "plateau":  # an optimizer over a parameter the model does not use: val_loss stays flat
        opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.01)
    cb = schedule(name, opt, n_epochs=9, steps_per_epoch=len(train), patience=1)
    fit(model, train, opt, n_epochs=9, criterion=nn.CrossEntropyLoss(), val_loader=val, callbacks=[cb])
    lrs = np.array(cb.lrs)
    assert len(lrs) == 9 * len(train)
    if name == "step":  # ×0.1 after epochs 3 and 6
        np.testing.assert_allclose(lrs[[0, 3 * 6, 6 * 6]], [0.01, 0.001, 0.0001], rtol=1e-9)
    elif name == "cosine_warmup":
        peak = int(np.argmax(lrs))
        assert peak == int(0.1 * 9 * 6) - 1 and lrs[-1] < 1e-4 and np.all(np.diff(lrs[peak:]) <= 1e-12)
    elif name == "plateau":  # no improvement for more than `patience` = 1 epochs: ×0.1 after epochs 3, 5, 7
        per_epoch = lrs.reshape(9, -1)[:, 0]
        np.testing.assert_allclose(per_epoch, 0.01 * np.array([1, 1, 1, .1, .1, .01, .01, .001, .001]), rtol=1e-9)
    else:
        assert np.argmax(lrs) == pytest.approx(0.3 * len(lrs), abs=3) and max(lrs) == pytest.approx(0.1, rel=0.01)
    with pytest.raises(ValueError, match="unknown schedule"):
        schedule("linear", opt, 1, 1)


def test_progress_bars_per_epoch_and_per_batch(capsys):
    from modelbook.core import progress

    model, opt, train, val = _setup()
    with progress.session() as bar:
        fit(model, train, opt, n_epochs=2, criterion=nn.CrossEntropyLoss())
        assert bar is not None and not bar.tasks  # both bars removed once done


def test_train_and_schedules_import_in_one_direction():
    """core.schedules builds on core.train's LRSchedule; core.train must not import core.schedules back."""
    import ast
    import inspect

    from modelbook.core import schedules, train

    def imported(module):
        tree = ast.parse(inspect.getsource(module))
        return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} | {
            a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}

    assert "modelbook.core.train" in imported(schedules)
    assert not {m for m in imported(train) if m.startswith("modelbook.core.schedules")}
