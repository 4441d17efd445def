"""The agent's packaging: agent/Dockerfile (non-root, SAP's SDK and wheel only from the build context,
never downloaded, `python -m agent`), its .dockerignore, and the example systemd unit."""

from __future__ import annotations

import configparser
import json
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AGENT = ROOT / "agent"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined, comments left out."""
    text = re.sub(r"\\\n", " ", (AGENT / "Dockerfile").read_text(encoding="utf-8"))
    result = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        result.append((keyword.upper(), arguments.strip()))
    return result


def of(keyword: str) -> list[str]:
    return [arguments for name, arguments in instructions() if name == keyword]


def test_the_image_runs_as_a_user_other_than_root():
    users = of("USER")
    assert users, "no USER instruction: the agent would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    # The USER comes after every RUN (nothing after it runs as root and then hands over).
    names = [name for name, _ in instructions()]
    assert max(i for i, name in enumerate(names) if name == "RUN") < max(
        i for i, name in enumerate(names) if name == "USER"
    )


def test_the_entry_point_is_python_dash_m_agent():
    [entrypoint] = of("ENTRYPOINT")
    assert json.loads(entrypoint) == ["python", "-m", "agent"]
    assert of("CMD") == []
    assert of("STOPSIGNAL") == ["SIGTERM"]


def test_nothing_is_downloaded_but_the_agents_own_requirements():
    assert of("ADD") == [], "ADD can fetch URLs; the SDK comes in with COPY from the build context"
    for command in of("RUN"):
        assert not re.search(r"\b(curl|wget|git\s+clone)\b", command), command
        assert "http://" not in command and "https://" not in command, command
        for install in re.findall(r"pip install[^&;]*", command):
            # From the index: only the agent's requirements file; anything else (the pyrfc wheel) --no-index.
            assert (
                install.split() == ["pip", "install", "-r", "agent/requirements.txt"] or "--no-index" in install.split()
            ), install
    requirements = (AGENT / "requirements.txt").read_text(encoding="utf-8")
    assert not re.search(r"(?im)^\s*pyrfcx?\b", requirements)


def test_the_sdk_and_the_wheel_come_from_a_build_context_folder_named_by_a_build_arg():
    args = dict(arg.split("=", 1) for arg in of("ARG") if "=" in arg)
    assert args.get("SAP_INPUTS") == "agent/build-inputs"
    copies = of("COPY")
    assert "${SAP_INPUTS}/nwrfcsdk/ /opt/sap/nwrfcsdk/" in copies
    assert any(copy.startswith("${SAP_INPUTS}/*.whl ") for copy in copies)
    environment = " ".join(of("ENV"))
    assert "SAPNWRFC_HOME=/opt/sap/nwrfcsdk" in environment and "LD_LIBRARY_PATH=/opt/sap/nwrfcsdk/lib" in environment
    # The build fails when the driver does not load with that SDK.
    assert any("import_rfc_module()" in command for command in of("RUN"))


def test_what_the_image_copies_exists_and_the_build_inputs_are_never_committed():
    for copy in of("COPY"):
        source = copy.split()[0]
        if source.startswith("${SAP_INPUTS}"):
            continue
        assert list(ROOT.glob(source.rstrip("/"))), source
    assert "build-inputs/" in (AGENT / ".gitignore").read_text(encoding="utf-8").splitlines()
    if not (ROOT / ".git").exists():
        return  # not a checkout: the .gitignore line above is what there is to check
    for path in (
        "agent/build-inputs/pyrfc-3.3.1-cp312-cp312-linux_x86_64.whl",
        "agent/build-inputs/nwrfcsdk/lib/libsapnwrfc.so",
    ):
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        assert ignored.returncode == 0, f"{path} must be git-ignored"
    tracked = subprocess.run(
        ["git", "ls-files", "agent/build-inputs"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert tracked.stdout.strip() == ""


def test_the_dockerignore_sends_only_the_agent_the_shared_package_and_the_build_inputs():
    lines = [
        line.strip()
        for line in (AGENT / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    assert {"!agent/*.py", "!agent/requirements.txt", "!agent/build-inputs/", "!shared/"} <= set(lines)


def test_the_systemd_unit_runs_python_dash_m_agent_as_an_unprivileged_user():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(AGENT / "sap-sync-agent.service", encoding="utf-8")
    service = unit["Service"]
    assert re.search(r"(^|/)python3? -m agent$", service["ExecStart"])
    assert service.get("User") not in {None, "root", "0"}
    assert service["KillSignal"] == "SIGTERM" and service["Restart"] == "always"
    assert service["EnvironmentFile"].startswith("/etc/")
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_the_sap_doc_says_how_to_install_the_agent_the_rights_of_each_side_and_failover():
    sap_doc = (ROOT / "docs" / "sap.md").read_text(encoding="utf-8")
    section = sap_doc.split("## The on-premise SAP agent", 1)[1].split("\n## ", 1)[0]
    for needed in (
        "agent/Dockerfile",
        "agent/sap-sync-agent.service",
        "docker build -f agent/Dockerfile",
        "systemctl enable --now sap-sync-agent",
        "**Send**",
        "**Listen**",
        "--rights Send",
        "--rights Listen",
        "Azure Relay Sender",
        "Not built yet",
        "up to 25 listeners",
    ):
        assert needed in section, needed
