from pathlib import Path

from app.openapi import openapi_yaml

REPO = Path(__file__).resolve().parent.parent


def test_committed_openapi_yaml_matches_the_app():
    committed = (REPO / "openapi.yaml").read_text()
    assert committed == openapi_yaml(), "openapi.yaml is stale: run `encounter-service openapi`"
