"""Stand-in base images for the real-engine tests, built from Debian packages and cached.

No container registry is reachable here, so `FROM python:…`, `postgres:15`, `nginx:…` and the
`prom/*` images cannot be pulled. A minimal Debian root made with debootstrap becomes the base
image; each recipe in standins/ builds a stand-in from it, tagged with the names that
deploy/Dockerfile and docker-compose.prod.yml use. Every image carries a label with the digest
of its recipe, so a machine builds them once and again only when a recipe (or a pinned name)
changes. Production pulls the real images; these exist for tests only.

    python -m tests.ops.engine.standins      # build what is missing, print what was done
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
RECIPES = HERE / "standins"
REPO = HERE.parents[2]
LABEL = "org.freemarket.standin"
BASE_IMAGE = "freemarket-standin/debian:bookworm"
MIRROR = "http://deb.debian.org/debian"
# The host's extra CA certificates: HTTPS leaves this machine through a proxy that presents
# certificates signed by them, so every image that downloads (pip, npm) must trust them too.
HOST_CA_DIR = Path("/usr/local/share/ca-certificates")
BASE_RECIPE = f"""debootstrap --variant=minbase --include=ca-certificates bookworm {MIRROR}
ENV DEBIAN_FRONTEND=noninteractive; APT::Install-Recommends 0; CMD bash
"""
# Image repository (as the project's files name it) -> recipe folder in standins/.
RECIPE_FOR = {
    "python": "python",
    "node": "node",
    "nginx": "nginx",
    "postgres": "postgres",
    "redis": "redis",
    "prom/prometheus": "prometheus",
    "prom/alertmanager": "alertmanager",
    "prom/node-exporter": "node-exporter",
}

Log = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Built:
    """What ensuring one image did: built (with the seconds it took) or found cached."""

    image: str
    built: bool
    seconds: float


def docker(*args: str, input_bytes: bytes | None = None, check: bool = True) -> str:
    """Run a docker CLI command and return its output (raising with stderr on failure)."""
    result = subprocess.run(
        ["docker", *args], input=input_bytes, capture_output=True, check=False, timeout=1800
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"docker {' '.join(args[:3])} failed: {result.stderr.decode(errors='replace')[-2000:]}"
        )
    return result.stdout.decode(errors="replace").strip()


def image_label(image: str) -> str | None:
    """The stand-in label of a local image, or None when there is no such image."""
    out = subprocess.run(
        [
            "docker",
            "image",
            "inspect",
            "--format",
            f'{{{{ index .Config.Labels "{LABEL}" }}}}',
            image,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() if out.returncode == 0 else None


def required_images(project: Path = REPO) -> dict[str, str]:
    """Every pulled image the Dockerfile and the production compose file name -> its recipe."""
    names: set[str] = set()
    dockerfile = (project / "deploy" / "Dockerfile").read_text("utf-8")
    stages = set(re.findall(r"(?im)^FROM\s+\S+\s+AS\s+(\S+)", dockerfile))
    names |= {n for n in re.findall(r"(?im)^FROM\s+(\S+)", dockerfile) if n not in stages}
    compose = yaml.safe_load((project / "docker-compose.prod.yml").read_text("utf-8"))
    for service in compose["services"].values():
        image = service.get("image", "")
        if image and "build" not in service and "$" not in image:
            names.add(image)
    images = {}
    for name in sorted(names):
        repository = name.rsplit(":", 1)[0]
        if repository not in RECIPE_FOR:
            raise RuntimeError(f"no stand-in recipe for {name}: add one to {RECIPES}")
        images[name] = RECIPE_FOR[repository]
    return images


def _digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(hashlib.sha256(part).digest())
    return hasher.hexdigest()[:16]


def host_ca_files() -> list[Path]:
    """The host's extra CA certificates (the egress proxy's among them)."""
    return sorted(HOST_CA_DIR.glob("*.crt")) if HOST_CA_DIR.is_dir() else []


def base_digest() -> str:
    """What the base image is made of: the debootstrap recipe and the host's CA certificates."""
    return _digest(BASE_RECIPE.encode(), *(p.read_bytes() for p in host_ca_files()))


def node_home() -> Path:
    """The host's Node.js installation prefix (…/bin/node, …/lib/node_modules/npm)."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed (the README requires Node.js 20)")
    return Path(node).resolve().parent.parent


def recipe_digest(recipe: str) -> str:
    """The digest of a recipe folder and of the base it builds on."""
    folder = RECIPES / recipe
    parts = [base_digest().encode()]
    parts += [f.relative_to(folder).as_posix().encode() + f.read_bytes() for f in _files(folder)]
    if recipe == "node":
        parts.append(subprocess.run(["node", "--version"], capture_output=True).stdout)
    return _digest(*parts)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def ensure_base(log: Log = print) -> Built:
    """The debootstrapped Debian base image, built when missing or stale."""
    digest = base_digest()
    if image_label(BASE_IMAGE) == digest:
        return Built(BASE_IMAGE, False, 0.0)
    started = time.monotonic()
    log(f"building {BASE_IMAGE} with debootstrap (about a minute)")
    with tempfile.TemporaryDirectory(prefix="fm-debootstrap-") as scratch:
        root = Path(scratch) / "root"
        subprocess.run(
            ["debootstrap", "--variant=minbase", "--include=ca-certificates", "bookworm",
             str(root), MIRROR],
            check=True,
            capture_output=True,
        )  # fmt: skip
        target = root / "usr/local/share/ca-certificates"
        target.mkdir(parents=True, exist_ok=True)
        for ca in host_ca_files():
            shutil.copy2(ca, target / ca.name)
        subprocess.run(["chroot", str(root), "update-ca-certificates"], check=True,
                       capture_output=True)  # fmt: skip
        (root / "etc/apt/apt.conf.d/90standin").write_text(
            'APT::Install-Recommends "0";\nAPT::Install-Suggests "0";\n'
        )
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in (root / leftover).glob("*.deb"):
                entry.unlink()
        tar = subprocess.run(["tar", "-C", str(root), "-c", "."], capture_output=True, check=True)
        docker(
            "import",
            "--change", "ENV DEBIAN_FRONTEND=noninteractive",
            "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--change", f"LABEL {LABEL}={digest}",
            "--change", 'CMD ["bash"]',
            "-", BASE_IMAGE,
            input_bytes=tar.stdout,
        )  # fmt: skip
    return Built(BASE_IMAGE, True, time.monotonic() - started)


def ensure_recipe(recipe: str, names: list[str], log: Log = print) -> Built:
    """Build one stand-in recipe (when stale) and tag it with every name it stands in for."""
    digest = recipe_digest(recipe)
    tag = f"freemarket-standin/{recipe}:{digest}"
    if all(image_label(name) == digest for name in names):
        return Built(", ".join(names), False, 0.0)
    started = time.monotonic()
    if image_label(tag) == digest:
        # Built before under other names (a pinned version changed): tagging is enough.
        for name in names:
            docker("tag", tag, name)
        return Built(", ".join(names), False, time.monotonic() - started)
    log(f"building the stand-in for {', '.join(names)}")
    with tempfile.TemporaryDirectory(prefix=f"fm-standin-{recipe}-") as scratch:
        context = Path(scratch)
        shutil.copytree(RECIPES / recipe, context, dirs_exist_ok=True)
        if recipe == "node":
            home = node_home()
            shutil.copy2(home / "bin" / "node", context / "node")
            shutil.copytree(home / "lib" / "node_modules" / "npm", context / "npm", symlinks=True)
        docker("build", "--label", f"{LABEL}={digest}", "-t", tag, str(context))
    for name in names:
        docker("tag", tag, name)
    return Built(", ".join(names), True, time.monotonic() - started)


def ensure_standins(project: Path = REPO, log: Log = print) -> list[Built]:
    """Every stand-in the project's files need, built once per machine and per recipe."""
    by_recipe: dict[str, list[str]] = {}
    for name, recipe in required_images(project).items():
        by_recipe.setdefault(recipe, []).append(name)
    done = [ensure_base(log)]
    done += [ensure_recipe(recipe, names, log) for recipe, names in sorted(by_recipe.items())]
    return done


if __name__ == "__main__":
    for item in ensure_standins(log=lambda line: print(line, file=sys.stderr, flush=True)):
        state = f"built in {item.seconds:.0f} s" if item.built else "cached"
        print(f"{item.image}: {state}")
