"""onnxruntime execution providers chosen by configuration (`models.<key>.providers`).

Why its own module: a GPU box runs the same worker with CUDA or TensorRT, and a provider asked for
but missing (a CPU-only onnxruntime wheel, no driver) must be one clear line, not onnxruntime's
silent fall back to the CPU at a tenth of the speed. Falling back is allowed only where the
configuration says so (`fallback_to_cpu`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import onnxruntime as ort

from streetwarden.logs import event

log = logging.getLogger("streetwarden.models")

# configuration names -> onnxruntime's
PROVIDERS = {"tensorrt": "TensorrtExecutionProvider", "cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider"}
CPU = PROVIDERS["cpu"]


class ProviderError(RuntimeError):
    """A requested execution provider is not available and falling back is not allowed."""


def _missing_line(missing: list[str], available: Iterable[str], where: str) -> str:
    names = ", ".join(k for k, v in PROVIDERS.items() if v in set(available)) or "none"
    return (f"{where}: execution provider {', '.join(missing)} not available in this onnxruntime (available: {names}); "
            f"install onnxruntime-gpu with a matching CUDA (and TensorRT), or set `fallback_to_cpu: true` to run on the CPU")


def resolve(requested: Sequence[str], fallback_to_cpu: bool, where: str,
            available: Iterable[str] | None = None) -> list[str]:
    """onnxruntime provider list for the configured names, best first, the CPU last (it runs the
    operators a GPU provider leaves out). Raises ProviderError naming what is missing."""
    have = list(ort.get_available_providers() if available is None else available)
    missing = [name for name in requested if PROVIDERS[name] not in have]
    if missing and not fallback_to_cpu:
        raise ProviderError(_missing_line(missing, have, where))
    if missing:
        event(log, "model_provider_fallback", logging.WARNING, model=where, missing=missing,
              reason=_missing_line(missing, have, where))
    chosen = [PROVIDERS[name] for name in requested if name not in missing]
    return [p for p in chosen if p != CPU] + [CPU]


def check_session(session: ort.InferenceSession, wanted: Sequence[str], fallback_to_cpu: bool, where: str) -> None:
    """onnxruntime drops a provider that fails to initialise (driver, library) without an error:
    the same rule as for a missing one."""
    got = set(session.get_providers())
    lost = [k for k, v in PROVIDERS.items() if v in wanted and v not in got]
    if lost and not fallback_to_cpu:
        raise ProviderError(_missing_line(lost, got, where).replace("not available in this onnxruntime",
                                                                    "failed to start (see onnxruntime's log)"))
    if lost:
        event(log, "model_provider_fallback", logging.WARNING, model=where, missing=lost, reason="failed to start")
