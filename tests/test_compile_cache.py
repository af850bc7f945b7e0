"""The persistent compilation cache is switched on by the library itself, not only by the CLI."""

from __future__ import annotations

import jax
import pytest

from bayeslaw.inference.sampler import use_persistent_cache


@pytest.fixture
def no_cache_dir():
    before = jax.config.jax_compilation_cache_dir
    jax.config.update("jax_compilation_cache_dir", None)
    yield
    jax.config.update("jax_compilation_cache_dir", before)


def test_library_switches_the_cache_on(no_cache_dir, monkeypatch, tmp_path):
    monkeypatch.delenv("BAYESLAW_NO_CACHE", raising=False)
    monkeypatch.setenv("BAYESLAW_CACHE_DIR", str(tmp_path / "jax"))
    assert use_persistent_cache() == str(tmp_path / "jax")
    assert jax.config.jax_compilation_cache_dir == str(tmp_path / "jax")


def test_default_folder_is_under_the_users_cache(no_cache_dir, monkeypatch, tmp_path):
    monkeypatch.delenv("BAYESLAW_NO_CACHE", raising=False)
    monkeypatch.delenv("BAYESLAW_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert use_persistent_cache() == str(tmp_path / ".cache" / "bayeslaw" / "jax")


def test_off_switch(no_cache_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("BAYESLAW_NO_CACHE", "1")
    monkeypatch.setenv("BAYESLAW_CACHE_DIR", str(tmp_path / "jax"))
    assert use_persistent_cache() is None
    assert jax.config.jax_compilation_cache_dir is None


def test_a_folder_the_user_chose_is_kept(no_cache_dir, monkeypatch, tmp_path):
    chosen = str(tmp_path / "chosen")
    jax.config.update("jax_compilation_cache_dir", chosen)
    monkeypatch.delenv("BAYESLAW_NO_CACHE", raising=False)
    monkeypatch.setenv("BAYESLAW_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert use_persistent_cache() == chosen
    assert jax.config.jax_compilation_cache_dir == chosen
