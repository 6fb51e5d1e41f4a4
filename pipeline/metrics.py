"""Prometheus metrics of a worker: per-camera state, rates, counters and lag, read from the health
registry at scrape time (a custom collector, so removed cameras vanish and nothing goes stale)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from streetwarden.pipeline.health import STATES

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# name -> (kind, help, health-row key)
CAMERA_METRICS: dict[str, tuple[str, str, str]] = {
    "streetwarden_camera_input_fps": ("gauge", "Frames per second received from the camera (sliding window)", "input_fps"),
    "streetwarden_camera_analysed_fps": ("gauge", "Frames per second analysed by the model (sliding window)", "analysed_fps"),
    "streetwarden_camera_lag_seconds": ("gauge", "Capture to analysis delay of the camera's last analysed frame", "lag_seconds"),
    "streetwarden_camera_last_frame_timestamp_seconds": ("gauge", "Unix time the camera last delivered a frame", "last_frame_at"),
    "streetwarden_camera_frames_received": ("counter", "Frames received from the camera", "frames_in"),
    "streetwarden_camera_frames_analysed": ("counter", "Frames analysed by the model", "frames_analysed"),
    "streetwarden_camera_frames_dropped": ("counter", "Frames dropped because analysis was busy (newest kept)", "frames_dropped"),
    "streetwarden_camera_reconnects": ("counter", "Reconnect attempts after a failure", "reconnects"),
    "streetwarden_camera_decode_errors": ("counter", "Frames that could not be decoded", "decode_errors"),
    "streetwarden_camera_model_runs": ("counter", "Analysed frames the model ran on", "model_runs"),
    "streetwarden_camera_model_skips": ("counter", "Analysed frames that skipped the model: nothing moved in the zones (gating)", "model_skips"),
    "streetwarden_camera_decode_skips": ("counter", "Analysed key frames not decoded: the stream's inter-frame bytes showed no motion (gating.stream_bytes)", "decode_skips"),
}


class WorkerCollector(Collector):
    """Collects from a worker (or anything with ``health.snapshot()`` and ``stats``)."""

    def __init__(self, get_worker: Callable[[], Any]) -> None:
        self.get_worker = get_worker

    def collect(self) -> Iterator[Metric]:
        worker = self.get_worker()
        rows = worker.health.snapshot() if worker is not None else []
        up = GaugeMetricFamily("streetwarden_camera_up", "1 while the camera delivers frames (state online)", labels=["camera"])
        state = GaugeMetricFamily("streetwarden_camera_state", "1 for the camera's current state", labels=["camera", "state"])
        for row in rows:
            up.add_metric([row["camera_id"]], 1.0 if row["state"] == "online" else 0.0)
            for st in STATES:
                state.add_metric([row["camera_id"], st], 1.0 if row["state"] == st else 0.0)
        yield up
        yield state
        for name, (kind, help_text, key) in CAMERA_METRICS.items():
            fam = (CounterMetricFamily if kind == "counter" else GaugeMetricFamily)(name, help_text, labels=["camera"])
            for row in rows:
                if row.get(key) is not None:
                    fam.add_metric([row["camera_id"]], float(row[key]))
            yield fam
        stats = getattr(worker, "stats", None) or {}
        for key, help_text in (("frames", "Frames analysed by this worker"), ("batches", "Model calls"),
                               ("created", "Candidates created"), ("errors", "Errors survived by the worker loop")):
            fam = CounterMetricFamily(f"streetwarden_worker_{key}", help_text)
            fam.add_metric([], float(stats.get(key, 0)))
            yield fam
        keeper = getattr(worker, "leases", None)
        if keeper is not None:
            yield from node_metrics(keeper)


def node_metrics(keeper: Any) -> Iterator[Metric]:
    """The node's share of the fleet (one set per worker node, labelled with its id)."""
    node = keeper.node.id
    for name, help_text, value in (
        ("streetwarden_node_capacity", "Stream-cost units this node takes at most", keeper.node.capacity),
        ("streetwarden_node_load", "Stream-cost units of the cameras it holds", keeper.load()),
        ("streetwarden_node_cameras", "Cameras it holds a lease on", len(keeper.owned())),
        ("streetwarden_node_ready", "1 while its last heartbeat is within a lease time", 1.0 if keeper.healthy() else 0.0),
    ):
        fam = GaugeMetricFamily(name, help_text, labels=["node"])
        fam.add_metric([node], float(value))
        yield fam
    for name, help_text, value in (("streetwarden_node_heartbeats", "Successful lease rounds", keeper.rounds),
                                   ("streetwarden_node_heartbeat_failures", "Lease rounds that failed (database away)", keeper.failures)):
        fam = CounterMetricFamily(name, help_text, labels=["node"])
        fam.add_metric([node], float(value))
        yield fam


def metrics_registry(get_worker: Callable[[], Any]) -> CollectorRegistry:
    """A registry of its own (not the process-global one), so tests and several apps never clash."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WorkerCollector(get_worker))
    return registry


def metrics_text(worker: Any) -> bytes:
    """The Prometheus exposition text for one worker."""
    return generate_latest(metrics_registry(lambda: worker))
