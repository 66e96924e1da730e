"""The container image, checked without a Docker engine.

A small parser reads the Dockerfile. The runtime stage's start command then runs for
real, as a subprocess with the image's environment (only the listen address, the port
and the data folders moved to this machine), and the image's HEALTHCHECK command runs
against it over real HTTP and HTTPS. The rest checks what a container runtime relies on:
the port, the user, the exec-form start command, the pinned install, the build context.
"""

import fnmatch
import http.server
import json
import os
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import httpx
import pytest
import trustme

from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
READY_PATH = "/v1/health/ready"
STARTUP_SECONDS = 30
#: What ``docker stop`` waits for before it kills.
STOP_SECONDS = 10


# --- A Dockerfile parser, just big enough for these checks ------------------------------


@dataclass(frozen=True)
class Instruction:
    """One instruction, continuation lines joined, with the WORKDIR it runs in."""

    keyword: str
    arguments: str
    workdir: str


@dataclass
class Stage:
    """One ``FROM`` stage of the Dockerfile."""

    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [each for each in self.instructions if each.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"stage {self.name or self.base} has no {keyword}"
        return found[-1]


def _expand(text: str, variables: dict[str, str]) -> str:
    """Substitute ``$NAME``, ``${NAME}`` and ``${NAME:-default}`` as Docker does."""

    def value(match: re.Match[str]) -> str:
        name = match["braced"] or match["plain"]
        found = variables.get(name, "")
        if not found and match["default"] is not None:
            return match["default"]
        return found

    pattern = r"\$(?:\{(?P<braced>\w+)(?::-(?P<default>[^}]*))?\}|(?P<plain>\w+))"
    return re.sub(pattern, value, text)


def _logical_lines(text: str) -> Iterator[str]:
    pending: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # comments and blank lines, also inside continued instructions
        if line.endswith("\\"):
            pending.append(line[:-1].strip())
            continue
        pending.append(line)
        yield " ".join(pending)
        pending = []
    if pending:
        yield " ".join(pending)


def parse_dockerfile(text: str) -> list[Stage]:
    """Split a Dockerfile into stages of instructions."""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    workdir = "/"
    for line in _logical_lines(text):
        keyword, _, arguments = line.partition(" ")
        keyword, arguments = keyword.upper(), arguments.strip()
        if keyword == "ARG" and not stages:
            name, _, default = arguments.partition("=")
            global_args[name] = default.strip('"')
        elif keyword == "FROM":
            words = [word for word in arguments.split() if not word.startswith("--")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            base = _expand(words[0], global_args)
            parent = next((stage for stage in stages if stage.name == base), None)
            workdir = parent.instructions[-1].workdir if parent and parent.instructions else "/"
            stages.append(Stage(base=base, name=name))
        else:
            assert stages, f"{keyword} before the first FROM"
            if keyword == "WORKDIR":
                workdir = str(PurePosixPath(workdir, arguments))
            stages[-1].instructions.append(Instruction(keyword, arguments, workdir))
    return stages


def exec_form(arguments: str) -> list[str]:
    """The argv of an exec-form (JSON array) CMD or HEALTHCHECK CMD."""
    try:
        argv = json.loads(arguments)
    except json.JSONDecodeError:
        pytest.fail(f"not exec form (a JSON array): {arguments}")
    assert isinstance(argv, list), arguments
    assert argv, arguments
    assert all(isinstance(arg, str) for arg in argv), arguments
    return argv


def copy_sources(instruction: Instruction) -> tuple[list[str], str, dict[str, str]]:
    """Sources, destination (absolute) and flags of a COPY or ADD."""
    words = shlex.split(instruction.arguments)
    flags = dict(word[2:].partition("=")[::2] for word in words if word.startswith("--"))
    paths = [word for word in words if not word.startswith("--")]
    *sources, destination = paths
    absolute = str(PurePosixPath(instruction.workdir, destination))
    return sources, absolute + ("/" if destination.endswith("/") else ""), flags


@dataclass
class Dockerfile:
    """The parsed Dockerfile and what a container of its last stage starts with."""

    stages: list[Stage]

    @property
    def runtime(self) -> Stage:
        return self.stages[-1]

    def lineage(self, stage: Stage) -> list[Stage]:
        """The stage and the stages it is built on, oldest first."""
        parent = next((each for each in self.stages if each.name == stage.base), None)
        return [*(self.lineage(parent) if parent else []), stage]

    def environment(self, base: dict[str, str]) -> dict[str, str]:
        """The runtime stage's ENV, expanded over ``base`` (the base image's variables)."""
        variables = dict(base)
        for stage in self.lineage(self.runtime):
            for instruction in stage.all("ENV"):
                words = shlex.split(instruction.arguments)
                if len(words) >= 2 and "=" not in words[0]:  # legacy "ENV NAME value"
                    pairs = [(words[0], " ".join(words[1:]))]
                else:
                    split = (word.partition("=") for word in words)
                    pairs = [(name, value) for name, _, value in split]
                before = dict(variables)  # one ENV's pairs all see the values before it
                variables.update({name: _expand(value, before) for name, value in pairs})
        return variables

    def copied_from_context(self) -> dict[str, Path]:
        """Files the runtime stage copies from the build context, by path in the image."""
        copied: dict[str, Path] = {}
        for stage in self.lineage(self.runtime):
            for instruction in stage.all("COPY") + stage.all("ADD"):
                sources, destination, flags = copy_sources(instruction)
                if "from" in flags:
                    continue
                for source in sources:
                    into_folder = destination.endswith("/") or len(sources) > 1
                    target = (
                        str(PurePosixPath(destination, PurePosixPath(source).name))
                        if into_folder
                        else destination
                    )
                    copied[target] = ROOT / source
        return copied

    def healthcheck(self) -> tuple[dict[str, str], list[str]]:
        """The HEALTHCHECK's options and its exec-form command."""
        instruction = self.runtime.last("HEALTHCHECK")
        match = re.fullmatch(r"((?:--[\w-]+=\S+\s+)*)CMD\s+(.+)", instruction.arguments)
        assert match, f"HEALTHCHECK without CMD: {instruction.arguments}"
        options = dict(option[2:].split("=", 1) for option in match[1].split())
        return options, exec_form(match[2])

    def healthcheck_argv_here(self) -> list[str]:
        """The HEALTHCHECK command as it runs on this machine.

        Its ``python`` becomes this interpreter, and a file the image copied in from the
        build context becomes that file in the repository.
        """
        _, argv = self.healthcheck()
        copied = self.copied_from_context()
        program, *arguments = argv
        if PurePosixPath(program).name.startswith("python"):
            program = sys.executable
        here = [str(copied[arg]) if arg in copied else arg for arg in arguments]
        return [program, *here]


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return Dockerfile(parse_dockerfile(DOCKERFILE.read_text()))


def test_parser_reads_stages_continued_lines_env_and_workdirs() -> None:
    parsed = Dockerfile(
        parse_dockerfile(
            "ARG BASE=python:3.11-slim\n"
            "FROM ${BASE} AS build\n"
            "WORKDIR /src\n"
            "COPY a.txt ./\n"
            "FROM build AS final\n"
            "ENV A=1 \\\n"
            "# a comment inside the instruction\n"
            '    PATH="/venv/bin:${PATH}" B="two words"\n'
            'CMD ["run", "--flag"]\n'
        )
    )
    build, final = parsed.stages
    assert (build.base, build.name, final.base) == ("python:3.11-slim", "build", "build")
    assert copy_sources(build.last("COPY"))[:2] == (["a.txt"], "/src/")
    assert parsed.environment({"PATH": "/bin"}) == {
        "PATH": "/venv/bin:/bin",
        "A": "1",
        "B": "two words",
    }
    assert exec_form(final.last("CMD").arguments) == ["run", "--flag"]
    assert parsed.copied_from_context() == {"/src/a.txt": ROOT / "a.txt"}


# --- The start command and the health check, run for real ------------------------------


@dataclass
class Container:
    """The image's start command running here as if in a container."""

    process: subprocess.Popen[bytes]
    env: dict[str, str]
    workdir: Path
    url: str
    verify: ssl.SSLContext | bool
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        with httpx.Client(verify=self.verify, timeout=5) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    pytest.fail(f"the start command exited early:\n{self.output()}")
                try:
                    if client.get(self.url + READY_PATH).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        pytest.fail(f"not ready within {STARTUP_SECONDS} s:\n{self.output()}")

    def stop(self) -> int:
        """Stop it as ``docker stop`` does: SIGTERM, then SIGKILL after the grace period."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                pytest.fail(f"ignored SIGTERM for {STOP_SECONDS} s:\n{self.output()}")
        return self.process.returncode


def mount_point(dockerfile: Dockerfile, folder: Path) -> Path:
    """Where the image's TLS mount point (``MLAPI_TLS_DIR``) is, for a container in ``folder``."""
    in_image = PurePosixPath(dockerfile.environment(base={})["MLAPI_TLS_DIR"])
    return folder / in_image.relative_to("/")


def run_container(
    dockerfile: Dockerfile,
    folder: Path,
    extra_env: dict[str, str] | None = None,
    verify: ssl.SSLContext | bool = True,
) -> Container:
    """Run the runtime stage's CMD with its ENV, as the image would.

    Only what must differ on a shared test machine is moved: the listen address to
    127.0.0.1, the port to a free one, and the data folders and the TLS mount point
    into ``folder`` (:func:`mount_point` says where).
    """
    port = free_port()
    workdir = folder / "app"
    workdir.mkdir(exist_ok=True)
    env = {name: value for name, value in os.environ.items() if not name.startswith("MLAPI_")}
    env.update(dockerfile.environment(base={"PATH": os.environ.get("PATH", "")}))
    env.update(
        {
            "MLAPI_HOST": "127.0.0.1",
            "MLAPI_PORT": str(port),
            "MLAPI_MODEL_DIR": str(workdir / "var" / "models"),
            "MLAPI_CACHE_DIR": str(workdir / "var" / "cache"),
            "MLAPI_TLS_DIR": str(mount_point(dockerfile, folder)),
            **(extra_env or {}),
        }
    )
    # The image's venv is /opt/venv; here it is the one running the tests.
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env["PATH"]])
    log = folder / "container.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            exec_form(dockerfile.runtime.last("CMD").arguments),
            cwd=workdir,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    tls = "MLAPI_SSL_CERTFILE" in env or Path(env["MLAPI_TLS_DIR"]).is_dir()
    return Container(
        process=process,
        env=env,
        workdir=workdir,
        url=f"{'https' if tls else 'http'}://127.0.0.1:{port}",
        verify=verify,
        log=log,
    )


def run_healthcheck(
    dockerfile: Dockerfile, env: dict[str, str], workdir: Path
) -> "subprocess.CompletedProcess[str]":
    """Run the image's HEALTHCHECK command as Docker does: container env and WORKDIR."""
    options, _ = dockerfile.healthcheck()
    timeout = float(options.get("timeout", "30s").rstrip("s"))
    completed = subprocess.run(
        dockerfile.healthcheck_argv_here(),
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return completed


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, ssl.SSLContext]:
    """A key and a certificate for the service's public name, not for 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    certificate = ca.issue_cert("mlapi.example.org")
    keyfile, certfile = folder / "key.pem", folder / "cert.pem"
    certificate.private_key_pem.write_to_path(str(keyfile))
    certificate.cert_chain_pems[0].write_to_path(str(certfile))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    context.check_hostname = False  # the name is the public one; the chain is verified
    return keyfile, certfile, context


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_healthcheck_passes_against_the_started_image_command_and_fails_once_it_stops(
    dockerfile: Dockerfile,
    tmp_path: Path,
    scheme: str,
    tls_files: tuple[Path, Path, ssl.SSLContext],
) -> None:
    keyfile, certfile, client_context = tls_files
    extra_env = (
        {"MLAPI_SSL_KEYFILE": str(keyfile), "MLAPI_SSL_CERTFILE": str(certfile)}
        if scheme == "https"
        else {}
    )
    verify = client_context if scheme == "https" else True
    container = run_container(dockerfile, tmp_path, extra_env, verify)
    try:
        container.wait_until_ready()
        healthy = run_healthcheck(dockerfile, container.env, container.workdir)
        assert healthy.returncode == 0, f"{healthy.stderr}\n{container.output()}"
        assert healthy.stdout.startswith(f"ready: {scheme}://")
    finally:
        stopped = container.stop()
    # A graceful stop: uvicorn finishes shutting down, then ends by the signal it got
    # (Docker shows 143); 0 would be fine too, a crash or SIGKILL would not.
    assert stopped in (0, -signal.SIGTERM), f"exit {stopped} on SIGTERM:\n{container.output()}"
    # Docker's "unhealthy" is exit status 1 (2 is reserved).
    assert run_healthcheck(dockerfile, container.env, container.workdir).returncode == 1


def test_mounted_certificates_turn_https_on_and_make_it_required(
    dockerfile: Dockerfile, tmp_path: Path, tls_files: tuple[Path, Path, ssl.SSLContext]
) -> None:
    keyfile, certfile, client_context = tls_files
    mounted = mount_point(dockerfile, tmp_path)
    mounted.mkdir(parents=True)
    shutil.copy(keyfile, mounted / "tls.key")
    shutil.copy(certfile, mounted / "tls.crt")
    container = run_container(dockerfile, tmp_path, verify=client_context)
    try:
        container.wait_until_ready()
        healthy = run_healthcheck(dockerfile, container.env, container.workdir)
        assert healthy.returncode == 0, f"{healthy.stderr}\n{container.output()}"
        assert healthy.stdout.startswith("ready: https://")
    finally:
        container.stop()

    # A mount without the certificate stops the start instead of serving plain HTTP.
    (mounted / "tls.crt").unlink()
    refused = run_container(dockerfile, tmp_path, verify=client_context)
    assert refused.process.wait(timeout=STARTUP_SECONDS) == 2, refused.output()
    assert "lacks tls.crt" in refused.output()


class _Probe(http.server.BaseHTTPRequestHandler):
    status = 200
    paths: list[str]

    def do_GET(self) -> None:
        self.paths.append(self.path)
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def stand_in_server(status: int) -> Iterator[tuple[int, list[str]]]:
    """A server on a free 127.0.0.1 port answering every GET with ``status``.

    Yields:
        Its port, and the paths asked for.
    """
    paths: list[str] = []
    handler = type("Probe", (_Probe,), {"status": status, "paths": paths})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), paths
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(("status", "exit_status"), [(200, 0), (503, 1), (404, 1)])
def test_healthcheck_is_healthy_only_when_the_readiness_probe_answers_200(
    dockerfile: Dockerfile, tmp_path: Path, status: int, exit_status: int
) -> None:
    # mlapi answers 503 there while its model loads: the container is not ready yet.
    env = {name: value for name, value in os.environ.items() if not name.startswith("MLAPI_")}
    env.update(dockerfile.environment(base={"PATH": os.environ.get("PATH", "")}))
    with stand_in_server(status) as (port, paths):
        env["MLAPI_PORT"] = str(port)
        assert run_healthcheck(dockerfile, env, tmp_path).returncode == exit_status
    assert paths == [READY_PATH]


def test_healthcheck_takes_the_port_from_the_configuration_file_when_no_variable_sets_it(
    dockerfile: Dockerfile, tmp_path: Path
) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("MLAPI_")}
    with stand_in_server(200) as (port, paths):
        # Like mlapi, it reads ./mlapi.toml in its working folder, below MLAPI_* variables.
        (tmp_path / "mlapi.toml").write_text(f"port = {port}\n")
        assert run_healthcheck(dockerfile, env, tmp_path).returncode == 0
    assert paths == [READY_PATH]


# --- What a container runtime relies on ---------------------------------------------------


def test_image_listens_on_all_interfaces_at_the_exposed_port_8888(
    dockerfile: Dockerfile,
) -> None:
    exposed = [port for each in dockerfile.runtime.all("EXPOSE") for port in each.arguments.split()]
    assert exposed == ["8888"]
    env = dockerfile.environment(base={})
    # Inside a container, 127.0.0.1 (the default) would be unreachable from outside.
    assert env["MLAPI_HOST"] == "0.0.0.0"  # noqa: S104
    assert env.get("MLAPI_PORT", "8888") == "8888"


def test_image_runs_as_a_fixed_non_root_user(dockerfile: Dockerfile) -> None:
    user = dockerfile.runtime.last("USER").arguments.split(":")[0]
    # Numeric, so that Kubernetes' runAsNonRoot can verify it without /etc/passwd.
    assert user.isdigit(), f"USER {user} is not a numeric UID"
    assert int(user) != 0


def test_image_starts_mlapi_serve_in_exec_form_without_reload(dockerfile: Dockerfile) -> None:
    argv = exec_form(dockerfile.runtime.last("CMD").arguments)
    assert argv[:2] == ["mlapi", "serve"]
    assert not any(arg.startswith("--reload") for arg in argv)
    assert not dockerfile.runtime.all("ENTRYPOINT")


def test_model_and_cache_folders_are_created_for_the_image_user(dockerfile: Dockerfile) -> None:
    env = dockerfile.environment(base={})
    user = dockerfile.runtime.last("USER").arguments.split(":")[0]
    runs = " ".join(each.arguments for each in dockerfile.runtime.all("RUN"))
    for variable in ("MLAPI_MODEL_DIR", "MLAPI_CACHE_DIR"):
        folder = PurePosixPath(env[variable])
        assert folder.is_absolute()
        assert str(folder) in runs, f"{variable}={folder} is never created"
        folders = "|".join(re.escape(str(each)) for each in (folder, *folder.parents))
        owned = re.search(rf"chown -R {user}(:\d+)? ({folders})(\s|$)", runs)
        assert owned, f"{folder} is not made writable for UID {user}"


def _pip_installs(stage: Stage, after: Instruction) -> list[tuple[list[str], str]]:
    """The words and WORKDIR of each ``pip install`` RUN in ``stage`` after ``after``."""
    position = stage.instructions.index(after)
    return [
        (shlex.split(each.arguments), each.workdir)
        for each in stage.instructions[position:]
        if each.keyword == "RUN" and "pip install" in each.arguments
    ]


def test_builder_installs_pinned_requirements_then_the_package_without_dependencies(
    dockerfile: Dockerfile,
) -> None:
    for builder in dockerfile.stages[:-1]:
        copies = [each for each in builder.all("COPY") if "requirements.txt" in each.arguments]
        if copies:
            break
    else:
        pytest.fail("no build stage copies requirements.txt")
    _, destination, _ = copy_sources(copies[0])
    requirements = (
        str(PurePosixPath(destination, "requirements.txt"))
        if destination.endswith("/")
        else destination
    )
    installs = _pip_installs(builder, copies[0])
    read = [
        str(PurePosixPath(workdir, words[index + 1]))
        for words, workdir in installs
        for index, word in enumerate(words[:-1])
        if word in ("-r", "--requirement")
    ]
    assert requirements in read, f"{requirements} is copied but never installed: {installs}"
    package = [position for position, (words, _) in enumerate(installs) if "." in words]
    assert package, "the package itself is never installed"
    assert package[0] > 0, "the requirements must install before the package"
    assert "--no-deps" in installs[package[0]][0], "the package may pull unpinned dependencies"
    caching = [words for words, _ in installs if "--no-cache-dir" not in words]
    assert not caching, f"pip keeps its cache in the image: {caching}"
    copied_from = [copy_sources(each)[2].get("from") for each in dockerfile.runtime.all("COPY")]
    assert builder.name in copied_from, "the runtime stage copies nothing from the builder"


# --- The build context --------------------------------------------------------------------


def _pattern_regex(pattern: str) -> str:
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
        elif pattern.startswith("**", index):
            parts.append(".*")
            index += 2
        elif pattern[index] == "*":
            parts.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            parts.append("[^/]")
            index += 1
        else:
            closing = pattern.find("]", index)
            if pattern[index] == "[" and closing > index:
                parts.append(fnmatch.translate(pattern[index : closing + 1])[4:-3])
                index = closing + 1
            else:
                parts.append(re.escape(pattern[index]))
                index += 1
    return "".join(parts)


def dockerignore_excludes(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves ``path`` (relative, with /) out of the build context.

    As Docker reads .dockerignore: the last matching pattern wins, ``!`` re-includes,
    and a pattern that matches a folder matches everything in it.
    """
    prefixes = ["/".join(path.split("/")[: count + 1]) for count in range(path.count("/") + 1)]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        regex = _pattern_regex(pattern.removeprefix("!").strip().strip("/"))
        if any(re.fullmatch(regex, prefix) for prefix in prefixes):
            excluded = not negated
    return excluded


def _dockerignore() -> list[str]:
    lines = (line.strip() for line in DOCKERIGNORE.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def test_dockerignore_reading_follows_docker_rules() -> None:
    patterns = ["*", "!src", "**/__pycache__", "!keep/*.py"]
    assert dockerignore_excludes("tests/test_x.py", patterns)
    assert not dockerignore_excludes("src/mlapi/main.py", patterns)
    assert dockerignore_excludes("src/mlapi/__pycache__/main.cpython-311.pyc", patterns)
    assert not dockerignore_excludes("keep/a.py", patterns)


def test_build_context_holds_every_file_the_image_copies() -> None:
    patterns = _dockerignore()
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    stages = parse_dockerfile(DOCKERFILE.read_text())
    sources = [
        source
        for stage in stages
        for each in stage.all("COPY") + stage.all("ADD")
        if "from" not in copy_sources(each)[2]
        for source in copy_sources(each)[0]
    ]
    assert "requirements.txt" in sources
    for source in sources:
        path = (ROOT / source).resolve().relative_to(ROOT).as_posix()
        assert (ROOT / path).exists(), f"COPY {source}: no such file"
        files = [name for name in tracked if name == path or name.startswith(f"{path}/")]
        assert files, f"COPY {source}: nothing tracked there"
        left_out = [name for name in files if dockerignore_excludes(name, patterns)]
        assert not left_out, f"COPY {source}, but .dockerignore leaves out {left_out}"


@pytest.mark.parametrize(
    "path",
    [
        ".git/HEAD",
        ".venv/bin/python",
        "var/models/active.skops",
        "var/cache/iris.zip",
        "docs/_build/html/index.html",
        "tests/test_container.py",
        "benchmarks/results/latest.json",
        ".pytest_cache/README.md",
        "src/mlapi/__pycache__/main.cpython-311.pyc",
        "mlapi.toml",
        "tls/key.pem",
    ],
)
def test_build_context_leaves_out_local_state_caches_and_secrets(path: str) -> None:
    assert dockerignore_excludes(path, _dockerignore())
