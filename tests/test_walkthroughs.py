"""The docs' copy-paste walkthroughs work as written: every ``bash`` block, run in order.

Each page's blocks run as one script in a fresh folder, with the installed ``mlapi`` on
the ``PATH`` and its models and downloads kept in that folder. Port 8888 becomes a
free port, and anything the script leaves running (``mlapi serve &``) is killed after.
"""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASH = shutil.which("bash") or "/bin/bash"
BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_walkthrough(page: str, folder: Path, **env: str) -> str:
    """Run a docs page's ``bash`` blocks in ``folder``; return what they printed."""
    script = "\n".join(BASH_BLOCK.findall((ROOT / "docs" / page).read_text()))
    script = script.replace("8888", str(_free_port()))
    log = folder / "walkthrough.log"
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith("MLAPI_")},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "MLAPI_MODEL_DIR": str(folder / "models"),
        "MLAPI_CACHE_DIR": str(folder / "cache"),
        **env,
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [BASH, "-euo", "pipefail", "-c", script],
            cwd=folder,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            status = process.wait(timeout=240)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    printed = log.read_text()
    assert status == 0, printed
    return printed


def test_bring_your_own_data_serves_a_new_csv_in_three_commands(tmp_path: Path) -> None:
    printed = run_walkthrough("datasets.md", tmp_path)

    assert "wrote flowers.zip" in printed
    assert '"labels":["setosa","virginica"]' in printed
    assert "flowers.zip: valid; 15 rows, 3 features" in printed


def test_add_your_own_estimator_is_one_file(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__"))

    printed = run_walkthrough(
        "estimators.md", project, PYTHONPATH=str(project / "src"), MLAPI_DEFAULT_DATASET="iris"
    )

    assert "model version 2 (random_forest) is now active" in printed
    assert not (ROOT / "src" / "mlapi" / "ml" / "estimators" / "random_forest.py").exists()
