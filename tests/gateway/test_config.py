"""The README's gateway config is the one the tests run (offline: nothing is started)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ..support.litellm_proxy import OFFLINE, proxy_config

README = Path(__file__).parents[2] / "README.md"


def test_readme_shows_the_config_the_tests_use() -> None:
    section = README.read_text().split("## Many servers", 1)[1].split("\n## ", 1)[0]
    [shown] = re.findall(r"```yaml\n(.*?)```", section, re.S)
    servers = ["http://127.0.0.1:8081/v1", "http://127.0.0.1:8082/v1"]
    assert yaml.safe_load(shown) == proxy_config({"local": servers})


def test_the_proxy_is_kept_off_the_network() -> None:
    # LiteLLM fetches its model cost map at start unless told to use the copy it ships.
    assert OFFLINE["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
    config = proxy_config({"m": ["http://127.0.0.1:1/v1"]})
    assert {d["litellm_params"]["api_base"] for d in config["model_list"]} == {
        "http://127.0.0.1:1/v1"
    }
