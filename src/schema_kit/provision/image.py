"""Build a PostgreSQL 16 + pgvector image locally, without pulling from any image registry.

The pgserver wheel on PyPI bundles PostgreSQL 16.2 and pgvector 0.6.2 built for manylinux2014.
Its binaries plus the host's glibc loader and libraries and dash as ``/bin/sh`` make a ~27 MB
image ``FROM scratch``. This is the fallback for machines that reach PyPI but no image registry,
so ``pgvector/pgvector:pg16`` cannot be pulled. The wheel is x86_64 only, hence so is the image.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import docker
import docker.errors

from schema_kit.config import LOCAL_IMAGE
from schema_kit.errors import ProvisionError
from schema_kit.provision.base import locked_dir
from schema_kit.provision.docker import connect_docker, image_present

__all__ = ["PGSERVER_REQUIREMENT", "POSTGRES_UID", "build_local_image"]

PGSERVER_REQUIREMENT = "pgserver==0.1.4"

_PIP_PLATFORM = ("--python-version", "3.11", "--platform", "manylinux2014_x86_64")
# Only these wheel members are needed at run time; include/, *.a and pkgconfig are build-only.
_WHEEL_KEEP = (
    "pgserver/pginstall/bin/",
    "pgserver/pginstall/lib/",
    "pgserver/pginstall/share/",
    "pgserver.libs/",
)
_WHEEL_SKIP_SUFFIXES = (".a", ".pc")
# Everything the wheel's binaries and vector.so list as NEEDED that the wheel does not bundle.
_HOST_LIBS = ("libc.so.6", "libm.so.6", "libpthread.so.0", "librt.so.1", "libdl.so.2", "libz.so.1")
# Each library keeps its host directory, so the copied ld.so finds it on its built-in path
# whatever the distribution's layout (Debian multiarch or Fedora lib64).
_HOST_LIB_DIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64")
_LOADER = "/lib64/ld-linux-x86-64.so.2"
POSTGRES_UID = 999

# Only dash builtins exist in the image (no coreutils), so files are emptied with ':' instead of
# rm, and initdb's loopback-only pg_hba.conf is widened because clients come through the bridge.
_ENTRYPOINT = r"""#!/bin/sh
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA
case "${1:-}" in -*) set -- postgres "$@" ;; esac
if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  user="${POSTGRES_USER:-postgres}"
  db="${POSTGRES_DB:-$user}"
  password="${POSTGRES_PASSWORD:-}"
  umask 077
  if [ -n "$password" ]; then
    auth=scram-sha-256
    printf '%s\n' "$password" >/tmp/.pwfile
    initdb -D "$PGDATA" -U "$user" --pwfile=/tmp/.pwfile -E UTF8 --locale=C --no-sync \
      --auth-local=trust --auth-host="$auth"
    : >/tmp/.pwfile
  else
    auth=trust
    initdb -D "$PGDATA" -U "$user" -E UTF8 --locale=C --no-sync --auth-local=trust --auth-host=trust
  fi
  printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  printf 'host all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    printf 'CREATE DATABASE "%s";\n' "$db" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
fi
exec "$@"
"""

_DOCKERFILE = f"""FROM scratch
COPY rootfs/ /
COPY --chown={POSTGRES_UID}:{POSTGRES_UID} pghome/ /var/lib/postgresql/
ENV PATH=/opt/pgserver/pginstall/bin:/usr/local/bin:/usr/bin:/bin \\
    PGDATA=/var/lib/postgresql/data
USER postgres
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres", "-c", "fsync=off"]
"""


def _quiet(_message: str) -> None:
    pass


def build_local_image(
    tag: str = LOCAL_IMAGE, *, force: bool = False, progress: Callable[[str], None] = _quiet
) -> str:
    """Build PostgreSQL 16 + pgvector as ``tag`` from the pgserver wheel; return the tag.

    Skips the build when ``tag`` already exists unless ``force``. Needs PyPI, a Docker daemon
    and an x86_64 Linux host; every failure is a ProvisionError saying what to do instead.
    """
    _check_host()
    client = connect_docker(timeout=300.0)
    try:
        arch = client.info().get("Architecture", "?")
        if arch != "x86_64":
            raise ProvisionError(
                f"the Docker daemon runs on {arch}, but the pgserver wheel image is x86_64 only; "
                "pull pgvector/pgvector:pg16 there or use --backend embedded"
            )
        if not force and image_present(client, tag):
            progress(f"image {tag} already present")
            return tag
        # Parallel test workers may all find the image missing; one builds, the rest reuse it.
        # The lock is on the temp dir itself: no lock file is left there.
        with locked_dir(Path(tempfile.gettempdir())):
            if not force and image_present(client, tag):
                progress(f"image {tag} was built by another process")
                return tag
            _build(client, tag, progress)
        return tag
    finally:
        client.close()


def _check_host() -> None:
    machine = platform.machine().lower()
    if sys.platform != "linux" or machine not in ("x86_64", "amd64"):
        raise ProvisionError(
            f"building {LOCAL_IMAGE} needs an x86_64 Linux host (the pgserver wheel and the "
            f"host glibc go into the image), not {sys.platform}/{machine}; pull "
            "pgvector/pgvector:pg16 or pass --image, or use --backend embedded"
        )


def _build(client: Any, tag: str, progress: Callable[[str], None]) -> None:
    with tempfile.TemporaryDirectory(prefix="schema-kit-image-") as tmp:
        work = Path(tmp)
        progress(f"downloading {PGSERVER_REQUIREMENT} from PyPI")
        wheel = _download_wheel(work / "wheel")
        progress(f"assembling the rootfs from {wheel.name}")
        context = work / "context"
        _assemble_context(wheel, context)
        progress(f"building {tag} with the Docker daemon")
        previous = client.images.get(tag).id if image_present(client, tag) else None
        try:
            image, _logs = client.images.build(
                path=str(context),
                tag=tag,
                rm=True,
                forcerm=True,
                pull=False,
                labels={"dev.schema-kit.source": PGSERVER_REQUIREMENT},
            )
        except (docker.errors.BuildError, docker.errors.APIError) as exc:
            raise ProvisionError(
                f"docker build of {tag} failed: {exc}; see the daemon log, or pull "
                "pgvector/pgvector:pg16, or use --backend embedded"
            ) from None
        if previous and previous != image.id:
            # A forced rebuild leaves the old image dangling; drop it unless a container uses it.
            with suppress(docker.errors.APIError):
                client.images.remove(previous)
        progress(f"built {tag} ({image.short_id})")


def _download_wheel(dest: Path) -> Path:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--only-binary=:all:",
        *_PIP_PLATFORM,
        "--dest",
        str(dest),
        PGSERVER_REQUIREMENT,
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    except subprocess.TimeoutExpired:
        raise ProvisionError(
            f"pip download {PGSERVER_REQUIREMENT} took over 600 s; check the PyPI proxy, "
            "or pull pgvector/pgvector:pg16, or use --backend embedded"
        ) from None
    wheels = sorted(dest.glob("pgserver-*.whl"))
    if done.returncode != 0 or not wheels:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:]) or f"exit {done.returncode}"
        raise ProvisionError(
            f"pip download {PGSERVER_REQUIREMENT} failed ({tail}); make PyPI reachable for "
            f"{sys.executable} -m pip, or pull pgvector/pgvector:pg16, or use --backend embedded"
        )
    return wheels[0]


def _assemble_context(wheel: Path, context: Path) -> None:
    rootfs = context / "rootfs"
    # The wheel layout is kept under /opt: the client binaries find libpq through the RPATH
    # $ORIGIN/../../../pgserver.libs, which only resolves with pginstall two levels below it.
    _extract_wheel(wheel, rootfs / "opt")
    for lib in _HOST_LIBS:
        source = _find_host_lib(lib)
        _copy_file(source, rootfs / source.relative_to("/"))
    _copy_file(Path(_LOADER), rootfs / _LOADER.lstrip("/"))
    dash = shutil.which("dash") or ""
    if not dash:
        raise ProvisionError(
            f"building {LOCAL_IMAGE} needs dash on the host (it becomes /bin/sh in the image); "
            "install the dash package, or pull pgvector/pgvector:pg16, or use --backend embedded"
        )
    _copy_file(Path(dash), rootfs / "bin" / "sh")
    etc = rootfs / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    uid = POSTGRES_UID
    (etc / "passwd").write_text(
        f"root:x:0:0:root:/root:/bin/sh\npostgres:x:{uid}:{uid}:PostgreSQL:/var/lib/postgresql:"
        "/bin/sh\n"
    )
    (etc / "group").write_text(f"root:x:0:\npostgres:x:{uid}:\n")
    (rootfs / "tmp").mkdir()
    os.chmod(rootfs / "tmp", 0o1777)  # mkdir's mode is masked by the umask; chmod is not
    entrypoint = rootfs / "usr" / "local" / "bin" / "docker-entrypoint.sh"
    entrypoint.parent.mkdir(parents=True)
    entrypoint.write_text(_ENTRYPOINT)
    os.chmod(entrypoint, 0o755)
    (context / "pghome").mkdir()
    (context / "Dockerfile").write_text(_DOCKERFILE)


def _extract_wheel(wheel: Path, dest: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            name = info.filename
            if info.is_dir() or not name.startswith(_WHEEL_KEEP):
                continue
            if name.endswith(_WHEEL_SKIP_SUFFIXES) or ".." in Path(name).parts:
                continue
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, target.open("wb") as out:
                shutil.copyfileobj(src, out)
            # zipfile drops permissions; the wheel records them in the high bits of external_attr.
            mode = (info.external_attr >> 16) & 0o777
            os.chmod(target, mode or 0o644)


def _find_host_lib(name: str) -> Path:
    for directory in _HOST_LIB_DIRS:
        candidate = Path(directory) / name
        if candidate.exists():
            return candidate
    raise ProvisionError(
        f"building {LOCAL_IMAGE} needs the host library {name} (looked in "
        f"{', '.join(_HOST_LIB_DIRS)}); install it, or pull pgvector/pgvector:pg16, "
        "or use --backend embedded"
    )


def _copy_file(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target)  # follows symlinks: the image must hold the real file
