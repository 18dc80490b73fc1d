import pytest

from zenllama.core import Secret, resolve_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BACKEND_URL", "BACKEND_API_KEY", "BACKEND_MODEL", "OPENCODE_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_to_the_local_llama_server() -> None:
    settings = resolve_settings()
    assert settings.base_url == "http://127.0.0.1:8080/v1"
    assert settings.api_key is None and settings.backend == "auto"


def test_environment_fills_what_arguments_leave_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_URL", "https://opencode.ai/zen/v1/")
    monkeypatch.setenv("OPENCODE_API_KEY", "sk-zen-secret")
    monkeypatch.setenv("BACKEND_MODEL", "glm-4.7")
    settings = resolve_settings()
    assert settings.base_url == "https://opencode.ai/zen/v1" and settings.backend == "zen"
    assert settings.api_key == Secret("sk-zen-secret") and settings.model == "glm-4.7"
    assert resolve_settings(model="other", api_key="sk-arg").model == "other"


def test_the_key_never_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = resolve_settings(api_key="sk-very-secret-123")
    assert "sk-very-secret-123" not in repr(settings) + str(settings)
    assert settings.api_key is not None
    assert "sk-very-secret-123" not in repr(settings.api_key) + str(settings.api_key)


def test_unknown_backend_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="llama-server"):
        resolve_settings(backend="ollamaa")
