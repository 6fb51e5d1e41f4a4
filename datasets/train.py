"""`streetwarden train`: fine-tune YOLOX-Nano or YOLOv8n on a YOLO dataset from a model the deployment has.

Warm start: the base ONNX file is converted into the PyTorch model of its family
(:mod:`onnx_to_torch`), which also picks the loss (:mod:`losses`) and the export layout; a
dataset with other classes than the base gets a fresh class layer, everything else is kept. The run
folder holds ``args.json``, ``last.pt`` after every epoch (so the same command resumes an
interrupted run), ``log.jsonl`` (one line per epoch) and at the end ``model.onnx`` + ``model.yaml``.
CPU by default; a CUDA GPU when present (``--device``).

Training follows the YOLOX recipe scaled to a small dataset: mosaic + random scale/shift + colour
(:mod:`augment`) for all but the last epochs, which see plain images (so the model settles on the
pictures it will be shown), and an exponential moving average of the weights, which is what is
validated and exported (it smooths out the noise of batches of eight).
"""

from __future__ import annotations

import copy
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from streetwarden.datasets.losses import batch_loss
from streetwarden.datasets.onnx_export import export_model, file_sha256
from streetwarden.datasets.onnx_to_torch import model_from_onnx
from streetwarden.datasets.yolo_check import check_dataset, dataset_sha256
from streetwarden.datasets.augment import ImageCache
from streetwarden.datasets.yolo_data import batches


class TrainError(Exception):
    """A training run that cannot start or go on; the message says what to do."""


@dataclass(frozen=True)
class TrainArgs:
    data: str
    base: str
    epochs: int
    imgsz: int = 320
    batch: int = 8
    lr: float = 1e-3
    device: str = "auto"
    seed: int = 0
    augment: str = "mosaic"
    plain_epochs: int | None = None

    def plain_from(self) -> int:
        """The first epoch (0-based) trained on plain images: the last sixth of the run by default."""
        if self.augment != "mosaic":
            return 0
        plain = self.plain_epochs if self.plain_epochs is not None else max(1, self.epochs // 6) if self.epochs > 1 else 0
        return max(0, self.epochs - plain)


AUGMENTS = ("mosaic", "flip")


class WeightAverage:
    """Exponential moving average of a model's weights; the decay ramps up over the first steps
    (``decay * (1 - exp(-updates / ramp))``) so the average does not keep the warm start for long."""

    def __init__(self, net, decay: float = 0.998, ramp: float = 200.0) -> None:  # type: ignore[no-untyped-def]
        self.net = copy.deepcopy(net).eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.decay, self.ramp, self.updates = decay, ramp, 0

    @torch.no_grad()
    def update(self, net) -> None:  # type: ignore[no-untyped-def]
        self.updates += 1
        d = self.decay * (1 - math.exp(-self.updates / self.ramp))
        for mine, theirs in zip(self.net.state_dict().values(), net.state_dict().values()):
            if mine.dtype.is_floating_point:
                mine.mul_(d).add_(theirs.detach(), alpha=1 - d)


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrainError(f"--device {name}: no CUDA GPU is visible to torch here; use --device cpu")
    return torch.device(name)


def _bar(done: int, total: int, width: int = 24) -> str:
    filled = int(width * done / max(total, 1))
    return "[" + "#" * filled + "." * (width - filled) + "]"


class Run:
    """One training run in its folder."""

    def __init__(self, args: TrainArgs, folder: Path, out=None) -> None:  # type: ignore[no-untyped-def]
        self.args, self.folder, self.out = args, folder, out or sys.stderr
        if args.imgsz % 32 or args.imgsz < 64:
            raise TrainError(f"--imgsz {args.imgsz}: must be a multiple of 32, at least 64 (e.g. 320 or 416)")
        if args.epochs < 1 or args.batch < 1:
            raise TrainError("--epochs and --batch must be at least 1")
        if args.augment not in AUGMENTS:
            raise TrainError(f"--augment {args.augment}: give one of {', '.join(AUGMENTS)}")
        if args.plain_epochs is not None and not 0 <= args.plain_epochs <= args.epochs:
            raise TrainError(f"--plain-epochs {args.plain_epochs}: must be between 0 and --epochs ({args.epochs})")
        data = Path(args.data)
        report = check_dataset(data)
        blocking = report.blocking()
        if blocking:
            raise TrainError(f"{data}: {len(blocking)} problem(s) in the dataset, first: {blocking[0]} "
                             f"(all of them: `streetwarden dataset import {data}`)")
        for leak in report.leaks:
            self.say(f"note: {leak}")
        self.names = report.names
        self.train_files = sorted(set(report.splits.get("train", [])))
        self.val_files = sorted(set(report.splits.get("val", [])) - set(self.train_files))
        if not self.train_files:
            raise TrainError(f"{data}: no training images")
        self.yaml_path = data if data.is_file() else data / "data.yaml"
        self.device = _device(args.device)

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def _model(self):  # type: ignore[no-untyped-def]
        from streetwarden.models.card import find_card
        from streetwarden.models.detections import COCO_LABELS

        base = Path(self.args.base)
        if not base.is_file():
            raise TrainError(f"--base {base}: no such model file (e.g. the model store's yolox_nano_coco_416.onnx)")
        net = model_from_onnx(base)
        card = find_card(base)
        base_names = list(card.labels if card else COCO_LABELS)
        if base_names != self.names:
            net.head.reset_classes(len(self.names))
        return net, (card.licence if card else None), file_sha256(base)

    def _resume(self, net, opt, ema: WeightAverage) -> int:  # type: ignore[no-untyped-def]
        saved = self.folder / "args.json"
        mine = {k: v for k, v in asdict(self.args).items() if k != "epochs"} | {"family": net.family}
        if saved.is_file():
            theirs = {"family": "yolox"} | {k: v for k, v in json.loads(saved.read_text()).items() if k != "epochs"}
            if theirs != mine:
                diff = sorted(k for k in mine if theirs.get(k) != mine[k])
                raise TrainError(f"run folder {self.folder} holds a run with other arguments ({', '.join(diff)}): "
                                 "give another --run, or the same arguments to resume it")
        self.folder.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps(asdict(self.args) | {"family": net.family}, indent=1, sort_keys=True))
        ckpt = self.folder / "last.pt"
        if not ckpt.is_file():
            return 0
        state = torch.load(ckpt, map_location=self.device, weights_only=True)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        ema.net.load_state_dict(state["ema"])
        ema.updates = int(state["updates"])
        self.say(f"resuming {self.folder}: {state['epoch']} of {self.args.epochs} epochs done")
        return int(state["epoch"])

    def _step_seconds(self, net) -> float:  # type: ignore[no-untyped-def]
        """Seconds of one forward + backward on a real batch (no update), for the estimate."""
        images, labels = next(batches(self.train_files, self.args.imgsz, self.args.batch, None))
        for _ in range(2):  # the first pass pays one-off allocation; time the second
            start = time.monotonic()
            self._loss(net, images, labels).backward()
            net.zero_grad(set_to_none=True)
        return (time.monotonic() - start) * self.args.batch / len(images)

    def _loss(self, net, images, labels):  # type: ignore[no-untyped-def]
        x = torch.from_numpy(images).to(self.device)
        return batch_loss(net, x, [torch.from_numpy(t).to(self.device) for t in labels])

    def run(self) -> Path:
        torch.manual_seed(self.args.seed)
        net, licence, base_sha = self._model()
        net.to(self.device).train()
        opt = torch.optim.AdamW(net.parameters(), lr=self.args.lr, weight_decay=5e-4)
        ema = WeightAverage(net)
        start_epoch = self._resume(net, opt, ema)
        self.cache = ImageCache(self.args.imgsz) if self.args.augment == "mosaic" else None
        n_batches = math.ceil(len(self.train_files) / self.args.batch)
        if start_epoch < self.args.epochs:
            per_batch = self._step_seconds(net)
            per_epoch = per_batch * (n_batches + 0.4 * math.ceil(len(self.val_files) / self.args.batch))
            left = self.args.epochs - start_epoch
            self.say(f"estimate: ~{per_epoch:.0f} s per epoch, ~{per_epoch * left / 60:.1f} min for {left} epoch(s) "
                     f"({len(self.train_files)} train / {len(self.val_files)} val images, batch {self.args.batch}, "
                     f"imgsz {self.args.imgsz}, {self.device.type}, {torch.get_num_threads()} threads)")
        log = self.folder / "log.jsonl"
        metrics: dict = {}
        for epoch in range(start_epoch, self.args.epochs):
            metrics = self._epoch(net, opt, ema, epoch, n_batches)
            tmp = self.folder / "last.pt.tmp"
            torch.save({"epoch": epoch + 1, "model": net.state_dict(), "optimizer": opt.state_dict(),
                        "ema": ema.net.state_dict(), "updates": ema.updates}, tmp)
            tmp.replace(self.folder / "last.pt")
            with log.open("a") as f:
                f.write(json.dumps(metrics, sort_keys=True) + "\n")
        out = self.folder / "model.onnx"
        if not metrics and self._exported(out):
            self.say(f"run already finished: {out} (card {out.with_suffix('.yaml')})")
            return out
        if not metrics and log.is_file():
            metrics = json.loads(log.read_text().splitlines()[-1])
        provenance = {"base_model": Path(self.args.base).name, "base_sha256": base_sha, "licence": licence,
                      "dataset": str(self.args.data),
                      "dataset_sha256": dataset_sha256(self.yaml_path, self.train_files + self.val_files),
                      "training": asdict(self.args), "metrics": metrics}
        export_model(ema.net, out, self.names, self.args.imgsz, provenance)
        self.say(f"model: {out} (card {out.with_suffix('.yaml')})")
        return out

    def _exported(self, out: Path) -> bool:
        """Whether ``out`` is this run's export: its card names these arguments and the file is intact."""
        import yaml

        card_path = out.with_suffix(".yaml")
        if not (out.is_file() and card_path.is_file()):
            return False
        card = yaml.safe_load(card_path.read_text(encoding="utf-8")) or {}
        return card.get("training") == asdict(self.args) and card.get("sha256") == file_sha256(out)

    def _epoch(self, net, opt, ema: WeightAverage, epoch: int, n_batches: int) -> dict:  # type: ignore[no-untyped-def]
        lr = self.args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * epoch / self.args.epochs)))
        for group in opt.param_groups:
            group["lr"] = lr
        net.train()
        rng = np.random.default_rng(self.args.seed + epoch)
        start = last = time.monotonic()
        total = 0.0
        mosaic = epoch < self.args.plain_from()
        stage = "mosaic" if mosaic else "plain"
        for i, (images, labels) in enumerate(batches(self.train_files, self.args.imgsz, self.args.batch, rng,
                                                     self.cache if mosaic else None), 1):
            loss = self._loss(net, images, labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
            opt.step()
            ema.update(net)
            total += loss.item()
            now = time.monotonic()
            if now - last >= 2.0 or i == n_batches:
                last = now
                eta = (now - start) / i * (n_batches - i)
                self.say(f"epoch {epoch + 1}/{self.args.epochs} ({stage}) {_bar(i, n_batches)} {i}/{n_batches} "
                         f"loss {total / i:.3f} ({(now - start) / i:.1f} s/batch, ETA {eta:.0f} s)")
        val = self._val_loss(ema.net)
        seconds = time.monotonic() - start
        self.say(f"epoch {epoch + 1}/{self.args.epochs} done in {seconds:.0f} s: train loss {total / n_batches:.3f}"
                 + (f", val loss {val:.3f}" if val is not None else ""))
        return {"epoch": epoch + 1, "stage": stage, "train_loss": round(total / n_batches, 4),
                "val_loss": None if val is None else round(val, 4), "seconds": round(seconds, 1), "lr": lr}

    @torch.no_grad()
    def _val_loss(self, net) -> float | None:  # type: ignore[no-untyped-def]
        if not self.val_files:
            return None
        losses = [self._loss(net, x, y).item() for x, y in
                  batches(self.val_files, self.args.imgsz, self.args.batch, None)]
        return sum(losses) / len(losses)
