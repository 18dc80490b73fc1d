import pytest

from zenllama.core.models import parse_models
from zenllama.core.results import Usage
from zenllama.core.usage import parse_usage


@pytest.mark.parametrize(
    "raw",
    [
        {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 7},
        },
        {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "prompt_cache_hit_tokens": 7,
            "prompt_cache_miss_tokens": 3,
        },
        {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 7},
    ],
)
def test_cached_tokens_in_every_shape(raw: dict) -> None:  # type: ignore[type-arg]
    assert parse_usage(raw) == Usage(10, 5, 15, cached_tokens=7)


def test_reasoning_tokens_and_absent_details() -> None:
    usage = parse_usage(
        {
            "prompt_tokens": 1,
            "completion_tokens": 2,
            "total_tokens": 3,
            "completion_tokens_details": {"reasoning_tokens": 2},
        }
    )
    assert usage == Usage(1, 2, 3, cached_tokens=None, reasoning_tokens=2)
    assert parse_usage(None) is None


@pytest.mark.parametrize(
    "data",
    [
        {"object": "list", "data": [{"id": "glm-4.7", "owned_by": "zen"}]},
        [{"id": "glm-4.7"}],
        {"models": [{"name": "glm-4.7", "model": "glm-4.7"}]},
    ],
)
def test_models_in_every_shape(data: object) -> None:
    assert [m.id for m in parse_models(data)] == ["glm-4.7"]


def test_llama_server_models_keep_meta() -> None:
    data = {
        "data": [{"id": "gemma", "owned_by": "llamacpp", "meta": {"n_ctx": 4096}}],
        "models": [{"name": "gemma"}],
    }
    [model] = parse_models(data)
    assert model.meta["n_ctx"] == 4096 and model.owned_by == "llamacpp"
