"""The same pipeline and store on a real PostgreSQL server: one candidate, no duplicate on re-run."""

from __future__ import annotations

import json

import yaml

from tests.test_pipeline_vtest import VAN, WALK, cli, write_config
from tests.scenes import iou


def test_pipeline_on_postgres(tmp_path, postgres_url):
    config = write_config(tmp_path, [{"id": "walk-1", "kind": "sidewalk", "dwell_seconds": 30, "polygon": WALK}])
    data = yaml.safe_load(config.read_text())
    data["database"] = postgres_url
    config.write_text(yaml.safe_dump(data, allow_unicode=True))
    for _ in range(2):
        run = cli("run", "--config", str(config), "--once")
        assert run.returncode == 0, run.stderr[-2000:]
    cands = json.loads(cli("candidates", "--config", str(config), "--json").stdout)
    assert len(cands) == 1 and cands[0]["violation"] == "sidewalk_parking"
    assert iou(cands[0]["box"], VAN) >= 0.7 and {"frame", "crop", "first"} <= {e["kind"] for e in cands[0]["evidence"]}
