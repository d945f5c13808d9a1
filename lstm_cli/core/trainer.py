"""The one training loop, for every task: progress, validation, samples, exact resume, DDP, autocast.

The trainer knows nothing about the model: a task hands it a *job*, a subclass of
:class:`lstm_cli.core.task.Job`, whose docstrings are the contract (the loss of a step's batch,
the carried state and its batch axis, held-out loss, samples, parameter groups, sharding for DDP).

With ``--ema D`` the trainer also keeps an exponential moving average of the weights (Polyak
averaging, decay D per step); validation, the best checkpoint and the final weights then use the
average, which is smoother than the last step's weights when the model overfits.

The learning rate is a pure function of training progress (warm-up, then cosine decay), as in
nanoGPT, so a resume needs no scheduler state; a parameter group's ``lr_scale`` multiplies it.
The training checkpoint (``OUT.last.pt``) holds what an exact resume needs: optimizer state, RNG
state, step, the carried state, the divergence watch, the best validation loss and the elapsed
time. ``OUT`` itself holds the best weights by validation loss.

Divergence: a NaN loss, or a loss that climbs far above the best seen so far, stops training and
keeps the last good state. "Far" is measured in the run's own units, so that it works for losses
of any sign (a mixture density network's log-likelihood goes negative): more than
``explode_factor`` times the larger of how far the loss has come down from its first value and
its typical step-to-step change above the best loss.
"""

from __future__ import annotations

import math
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from lstm_cli.core import checkpoint
from lstm_cli.core.sampling import map_state
from lstm_cli.core.errors import DivergedError, InputError, Interrupted, OutputError, UsageError
from lstm_cli.core.runtime import bf16_supported, pick_device


@dataclass
class TrainConfig:
    max_steps: int | None = 2000
    max_time: float | None = None  # seconds of wall time, evaluations included
    lr: float = 2e-3
    min_lr: float = 1e-4  # where the cosine decay ends
    warmup: int = 100
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    ema: float = 0.0  # decay of the weight average used for validation and the best checkpoint; 0: off
    eval_every: int = 500
    sample_every: int = 1000
    save_every: int = 500
    log_every: int = 50
    bf16: bool | None = None  # None: on where the hardware supports it
    random_seed: int = 1337
    device: str = "auto"
    explode_factor: float = 3.0  # stop when the loss climbs this many "scales" above its best (see above)


def lr_at(cfg: TrainConfig, step: int, progress: float) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine from ``lr`` to ``min_lr`` over progress 0..1."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    p = min(max(progress, 0.0), 1.0)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * p))


def available_memory(device) -> int | None:
    """Bytes free for new tensors on ``device`` (MemAvailable on Linux), or None where unknown."""
    import torch

    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        return None


def check_memory(model, device, ema: bool = False) -> None:
    """Refuse, before the first step, a model whose training state cannot fit: besides the weights
    (already made on the CPU), AdamW keeps a gradient and two moments per parameter (and --ema an
    average): 12-16 bytes a parameter, more on a GPU, which takes the weights too."""
    n = sum(p.numel() for p in model.parameters())
    need = n * 4 * (3 + int(ema) + int(device.type == "cuda"))
    have = available_memory(device)
    if have is not None and need > have:
        gb = lambda b: f"{b / 2**30:,.1f} GB" if b >= 2**30 else f"{b / 2**20:,.1f} MB"  # noqa: E731
        raise UsageError(f"a model of {n:,} parameters needs about {gb(need)} more to train "
                         f"(gradients, AdamW's moments{', the average' if ema else ''}); "
                         f"{'the GPU' if device.type == 'cuda' else 'this machine'} has {gb(have)} free", hint="choose a smaller model (its sizes: see --help)")


def last_path(out: str | Path) -> Path:
    """``model.pt`` -> ``model.last.pt``: the resumable companion of the best checkpoint."""
    out = Path(out)
    return out.with_name(out.stem + ".last" + (out.suffix or ".pt"))


def load_resume(path: str, task: str, cfg: TrainConfig) -> tuple[dict, TrainConfig]:
    """The training checkpoint behind ``--resume`` and the config the run continues with: the
    stored one, except its length (``--max-steps``/``--max-time`` when given) and the device."""
    ckpt = checkpoint.load(path, task=task)
    if "train_state" not in ckpt:
        raise InputError(f"{path} holds no training state (a shipped or best checkpoint)",
                         hint="resume from OUT.last.pt, or fine-tune with --init")
    stored = ckpt["train_state"]["train_config"]
    length = {"max_steps": cfg.max_steps if cfg.max_steps is not None else stored["max_steps"],
              "max_time": cfg.max_time if cfg.max_time is not None else stored["max_time"]}
    return ckpt, TrainConfig(**{**stored, **length, "device": cfg.device})


class _Dist:
    """torchrun's environment, or a single process."""

    def __init__(self, device):
        self.device = device
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.enabled = self.world > 1
        if self.enabled:
            import torch.distributed as dist

            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
            self.dist = dist

    @property
    def main(self) -> bool:
        return self.rank == 0

    def all_sum(self, t):
        if self.enabled:
            self.dist.all_reduce(t)
        return t

    def gather_carry(self, carry, dim: int):
        """Every rank's carried state, each tensor concatenated on its batch axis ``dim``."""
        if not self.enabled or carry is None:
            return carry
        import torch

        def gather(t):
            parts = [torch.empty_like(t) for _ in range(self.world)]
            self.dist.all_gather(parts, t.contiguous())
            return torch.cat(parts, dim=dim)

        return map_state(gather, carry)

    def gather_cpu(self, t):
        """Every rank's copy of a CPU tensor (an RNG state), sent through the backend's device
        (nccl moves CUDA tensors only); a single process keeps its own."""
        if not self.enabled:
            return t
        import torch

        x = t.to(self.device)
        parts = [torch.empty_like(x) for _ in range(self.world)]
        self.dist.all_gather(parts, x)
        return [p.cpu() for p in parts]

    def slice_carry(self, carry, dim: int):
        if not self.enabled or carry is None:
            return carry
        return map_state(lambda t: t.chunk(self.world, dim=dim)[self.rank].contiguous(), carry)

    def close(self, together: bool):
        """Leave the group; ``together`` when every rank got here on the same path (the end, or
        a stop all ranks saw), so they wait for each other first: a rank that tore down its gloo
        threads while rank 0 was still writing the checkpoint once aborted the whole run."""
        if self.enabled:
            if together:
                self.dist.barrier()
            self.dist.destroy_process_group()


class _Signals:
    """SIGINT/SIGTERM set a flag; the loop saves and exits at the next step boundary."""

    def __init__(self):
        self.received = 0
        self._old = {}

    def __enter__(self):
        for s in (signal.SIGINT, signal.SIGTERM):
            self._old[s] = signal.signal(s, self._handle)
        return self

    def _handle(self, signum, frame):
        self.received = signum

    def __exit__(self, *exc):
        for s, h in self._old.items():
            signal.signal(s, h)


def fit(job, cfg: TrainConfig, out: str | Path, resume: dict | None = None, console=None) -> dict:
    """Train ``job.model`` and write ``out`` (best) and ``out.last.pt`` (resumable). Returns a summary."""
    import torch

    from lstm_cli.core.progress import TrainProgress

    device = pick_device(cfg.device)
    dist = _Dist(device)
    net, together = None, False
    try:
        job.shard(dist.rank, dist.world)
        check_memory(job.model, device, ema=cfg.ema > 0)
        use_bf16 = bf16_supported(device) if cfg.bf16 is None else cfg.bf16
        torch.manual_seed(cfg.random_seed + dist.rank)
        model = job.model.to(device)
        net = model
        if dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            net = DistributedDataParallel(model)
        groups = [{"weight_decay": cfg.weight_decay, **g} for g in job.param_groups(model)]
        scales = [g.pop("lr_scale", 1.0) for g in groups]
        opt = torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.99))
        step, carry, best, elapsed0 = 0, None, math.inf, 0.0
        watch = _DivergenceWatch(cfg.explode_factor)
        params = list(model.parameters())
        ema = [p.detach().clone() for p in params] if cfg.ema > 0 else None
        if resume is not None:
            ts = resume["train_state"]
            if ts.get("fingerprint") != job.fingerprint:
                raise InputError("the training data differs from the data this checkpoint was "
                                 "trained on, so it cannot resume exactly",
                                 hint="pass the same --data files (or use --init to fine-tune)")
            checkpoint.weights_into(model, resume)
            opt.load_state_dict(ts["optimizer"])
            step, best, elapsed0 = ts["step"], ts["best_loss"], ts["elapsed"]
            watch.load(ts.get("watch"), ts.get("first_loss"))
            if ema is not None and ts.get("ema") is not None:
                ema = [t.to(device) for t in ts["ema"]]
            carry = map_state(lambda t: t.to(device), dist.slice_carry(ts["carry"], job.carry_batch_dim))
            mine = lambda s: s[dist.rank] if isinstance(s, list) else s  # noqa: E731
            torch.set_rng_state(mine(ts["rng"]))
            if device.type == "cuda" and ts.get("cuda_rng") is not None:  # dropout on the GPU
                torch.cuda.set_rng_state(mine(ts["cuda_rng"]), device)
        out, last = Path(out), last_path(out)
        ui = TrainProgress(console, total_steps=cfg.max_steps, max_time=cfg.max_time,
                           enabled=dist.main, start_step=step, start_elapsed=elapsed0)
        t0 = time.perf_counter()
        elapsed = lambda: elapsed0 + time.perf_counter() - t0  # noqa: E731
        tokens_since, t_since = 0, time.perf_counter()
        has_val = True
        rescued = None  # the folder the run went to after a save failed

        def save_last():
            full = dist.gather_carry(carry, job.carry_batch_dim)
            rng = dist.gather_cpu(torch.get_rng_state())
            cuda_rng = dist.gather_cpu(torch.cuda.get_rng_state(device)) if device.type == "cuda" else None
            if not dist.main:
                return
            ckpt = checkpoint.make(job.task, job.config, job.vocab, _cpu_state(model),
                                   _meta(job, cfg, step, best, elapsed()))
            ckpt["train_state"] = {
                "optimizer": opt.state_dict(), "step": step, "best_loss": best,
                "elapsed": elapsed(), "watch": watch.state(), "rng": rng, "cuda_rng": cuda_rng,
                "carry": map_state(lambda t: t.detach().cpu(), full),
                "ema": None if ema is None else [t.cpu() for t in ema],
                "fingerprint": job.fingerprint, "train_config": asdict(cfg),
                **job.extra_state(),
            }
            failed = save(ckpt, last)
            if failed:
                raise failed

        def save(ckpt, path) -> OutputError | None:
            """Save; if the folder refuses (a full disk, made read-only during the run), save in a
            temporary folder instead, and from then on save the run there: returns the error to
            stop with, which says where the run went (None when the save went as asked)."""
            nonlocal out, last, rescued
            try:
                checkpoint.save(ckpt, path)
                return None
            except OutputError as e:
                if rescued:
                    raise  # the rescue failed as well
                import tempfile

                rescue = rescued = Path(tempfile.mkdtemp(prefix="lstm-rescued-"))
                out, last = rescue / out.name, rescue / last.name
                checkpoint.save(ckpt, rescue / path.name)
                return OutputError(f"{e.message}; the run was saved in {rescue} instead",
                                   hint=f"continue it with --resume {last} and -o in a folder with room")

        def save_best():  # the averaged weights when --ema is on
            if dist.main:
                with _swapped(params, ema):
                    failed = save(checkpoint.make(job.task, job.config, job.vocab, _cpu_state(model),
                                                  _meta(job, cfg, step, best, elapsed())), out)
                if failed:
                    if not dist.enabled:  # (with DDP, the state's gathering needs every rank)
                        save_last()  # the training state beside the weights, to resume from
                    raise failed

        def validate():
            """Held-out loss of the weights that would be saved (the average with --ema), and
            with --ema also of the raw weights, for the log."""
            if ema is None:
                return job.validate(model), None
            raw = job.validate(model)
            with _swapped(params, ema):
                return job.validate(model), raw

        def done() -> bool:
            if cfg.max_steps is not None and step >= cfg.max_steps:
                return True
            return cfg.max_time is not None and elapsed() >= cfg.max_time

        def progress() -> float:
            if cfg.max_steps is not None:
                return step / max(cfg.max_steps, 1)
            if cfg.max_time is not None:
                return elapsed() / cfg.max_time
            return 0.0

        if resume is not None and done():
            if dist.main:
                reached = (f"--max-steps {cfg.max_steps}" if cfg.max_steps is not None and step >= cfg.max_steps
                           else f"--max-time {cfg.max_time:g}s")
                ui.note(f"warning: nothing to do: the run resumed from step {step} has reached {reached}; "
                        "give a larger one to train on")
            together = True
            return {"steps": step, "best_loss": best, "elapsed": elapsed(), "out": str(out), "last": str(last)}

        with _Signals() as sig, ui:
            while True:
                stop = torch.tensor([float(done()), float(sig.received)])
                stop = dist.all_sum(stop)
                if stop[1] > 0:
                    save_last()
                    together = True  # the stop flags were summed: every rank is here
                    signum = int(sig.received or signal.SIGTERM)
                    raise Interrupted(signum, f"interrupted at step {step}; state saved to {last}"
                                      f" (resume with --resume {last})", quiet=not dist.main)
                if stop[0] > 0:
                    break
                lr = lr_at(cfg, step, progress())
                for g, scale in zip(opt.param_groups, scales):
                    g["lr"] = lr * scale
                net.train()
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
                    loss, ntok, carry = job.loss(net, step, carry)
                stat = dist.all_sum(torch.tensor([loss.item(), float(ntok)]))
                loss_val = stat[0].item() / dist.world
                what = watch.check(loss_val)
                if what:
                    kept = last if last.exists() else None
                    raise DivergedError(f"loss became {what} at step {step}; training stopped"
                                        + (f", last good state kept in {kept}" if kept else ""),
                                        hint="lower --lr or raise --grad-clip")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                opt.step()
                if ema is not None:  # the average warms up over the first steps (as in TF's EMA)
                    torch._foreach_lerp_(ema, [p.detach() for p in params], 1 - min(cfg.ema, (1 + step) / (10 + step)))
                step += 1
                tokens_since += int(stat[1].item())
                if dist.main and (step % cfg.log_every == 0 or step == 1):
                    now = time.perf_counter()
                    ui.update(step, loss=loss_val, lr=lr, tok_s=tokens_since / max(now - t_since, 1e-9),
                              elapsed=elapsed())
                    tokens_since, t_since = 0, now
                if step % cfg.eval_every == 0 and has_val:
                    if dist.main:
                        val, raw = validate()
                        has_val = val is not None
                        if has_val:
                            improved = val < best
                            best = min(best, val)
                            ui.note(f"step {step}: validation loss {val:.4f}"
                                    + (f" (averaged; raw weights {raw:.4f})" if raw is not None else "")
                                    + (" (best, saved)" if improved else ""))
                            if improved:
                                save_best()
                    if dist.enabled:  # every rank learns whether there is validation data
                        has_val = bool(dist.all_sum(torch.tensor([float(has_val)]))[0] > 0)
                if dist.main and cfg.sample_every and step % cfg.sample_every == 0:
                    _show_sample(ui, out, step, job.sample(model, cfg.random_seed + step))
                if step % cfg.save_every == 0:
                    save_last()
        # The end: a final validation decides whether the last weights are the best.
        if dist.main:
            val, _ = validate()
            if val is None or val < best:
                best = val if val is not None else best
                save_best()
            ui.note(f"done: {step} steps in {elapsed():.0f}s"
                    + (f", best validation loss {best:.4f}" if math.isfinite(best) else ""))
        save_last()
        together = True
        return {"steps": step, "best_loss": best, "elapsed": elapsed(), "out": str(out), "last": str(last)}
    finally:
        net = None  # DistributedDataParallel holds the process group: let it go first
        dist.close(together)


class _DivergenceWatch:
    """Stops a run whose loss becomes NaN or climbs far above its best (see the module docstring).

    ``smooth`` follows the loss (a moving average over ~20 steps) and ``best`` is its lowest
    point; ``dev`` is the loss's mean absolute deviation around ``smooth``, its batch-to-batch
    noise. A loss more than ``factor`` times max(first - best, NOISE * dev, FLOOR) above ``best``
    is an explosion: far more than the run ever came down, and far outside its noise, so that
    fine-tuning from a good model (first ~ best) is not stopped by a noisy batch. The state
    travels in the training checkpoint, so a resumed run decides exactly as an uninterrupted one."""

    MIN_STEPS = 10  # the first steps set the scale; no verdict before
    NOISE = 8.0  # in mean absolute deviations (~6 standard deviations): no false alarm in a long run
    FLOOR = 0.5  # nats per token: the scale is never smaller (a converged captioner fine-tuned from
    # its own weights has losses of ~0.001 with rare batches at 0.16: not an explosion)

    def __init__(self, factor: float):
        self.factor = factor
        self.first, self.smooth, self.best, self.dev, self.n = None, None, math.inf, 0.0, 0

    def check(self, loss: float) -> str:
        """'' while the run is fine, else what went wrong ('NaN', 'exploding (...)')."""
        if not math.isfinite(loss):
            return "NaN"
        if self.first is None:
            self.first = self.smooth = loss
        if self.n >= self.MIN_STEPS:
            scale = max(self.first - self.best, self.NOISE * self.dev, self.FLOOR)
            if loss - self.best > self.factor * scale:
                return f"exploding ({loss:.4g}, best {self.best:.4g})"
        self.n += 1
        w = max(1 / self.n, 0.05)
        self.dev += (abs(loss - self.smooth) - self.dev) * w
        self.smooth += (loss - self.smooth) * w
        self.best = min(self.best, self.smooth)
        return ""

    def state(self) -> dict:
        return {"first": self.first, "smooth": self.smooth, "best": self.best, "dev": self.dev, "n": self.n}

    def load(self, state: dict | None, first_loss: float | None = None) -> None:
        if state:
            self.first, self.smooth, self.best, self.dev, self.n = (
                state["first"], state["smooth"], state["best"], state["dev"], state["n"])
        elif first_loss is not None:  # a checkpoint from before the watch: its first loss only
            self.first = self.smooth = first_loss


def _show_sample(ui, out: Path, step: int, sample) -> None:
    """Print a text sample, or write a file sample beside ``out`` and print where (a sample that
    cannot be written is a warning: the training goes on, and its next save says more)."""
    from lstm_cli.core.fileio import atomic_open
    from lstm_cli.core.task import SampleFile

    if isinstance(sample, SampleFile):
        stem = out.with_name(out.stem + ".samples") / f"step-{step:06d}"
        paths = []
        try:
            for suffix, data in {sample.suffix: sample.data, **sample.extra}.items():
                paths.append(stem.with_name(stem.name + suffix))
                with atomic_open(paths[-1], "wb") as f:
                    f.write(data)
        except OutputError as e:
            ui.note(f"warning: sample not written: {e.message}")
            return
        shown = "\n".join(f"-> {p}" for p in paths)
        ui.sample(step, f"{sample.caption}\n{shown}" if sample.caption else shown)
    elif sample:
        ui.sample(step, sample)


class _swapped:
    """Put ``ema`` into the parameters for the block and restore them after; a no-op without ema."""

    def __init__(self, params, ema):
        self.params, self.ema = params, ema

    def __enter__(self):
        if self.ema is not None:
            import torch

            with torch.no_grad():
                self.saved = [p.detach().clone() for p in self.params]
                torch._foreach_copy_(self.params, self.ema)

    def __exit__(self, *exc):
        if self.ema is not None:
            import torch

            with torch.no_grad():
                torch._foreach_copy_(self.params, self.saved)


def _cpu_state(model) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _meta(job, cfg: TrainConfig, step: int, best: float, elapsed: float) -> dict:
    meta = {"steps": step, "train_seconds": round(elapsed, 1), "data": getattr(job, "data_note", ""),
            "train_config": asdict(cfg)}
    if math.isfinite(best):
        meta["val_loss"] = round(best, 4)
    if getattr(job, "data_facts", None):
        meta["data_facts"] = dict(job.data_facts)
    return meta

