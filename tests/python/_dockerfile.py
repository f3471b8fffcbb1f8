"""Reading deploy/Dockerfile and replaying a stage's file steps in a temporary root, where no Docker daemon exists.

`parse` splits the Dockerfile into stages of (instruction, arguments) with continuations joined and comments
dropped; `ignored` applies .dockerignore's patterns to a context-relative path; `lay_out` carries out a stage's
COPY and WORKDIR steps under a root folder (COPY --from=STAGE takes its file from a map of the other stages'
outputs) and returns what the image would run: the working directory, the user and the entrypoint. RUN steps are
left to the caller: they need the base image's package manager and passwd tools, which a temporary root has not.
"""

import fnmatch
import json
import os
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath


@dataclass
class Stage:
    base: str
    name: str
    steps: list = field(default_factory=list)  # (INSTRUCTION, arguments as written)

    def all(self, instruction: str) -> list:
        return [args for ins, args in self.steps if ins == instruction]


@dataclass
class Image:
    workdir: PurePosixPath
    user: str
    entrypoint: list
    cmd: list


def parse(text: str) -> list:
    """The stages of a Dockerfile, in order."""
    stages, logical = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not logical and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        instruction, _, args = logical.partition(" ")
        instruction, args, logical = instruction.upper(), args.strip(), ""
        if instruction == "FROM":
            words = args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else ""
            stages.append(Stage(base=words[0], name=name))
        elif not stages:
            if instruction != "ARG":
                raise ValueError(f"{instruction} before the first FROM")
        else:
            stages[-1].steps.append((instruction, args))
    return stages


def ignore_patterns(context: Path) -> list:
    path = context / ".dockerignore"
    lines = path.read_text().splitlines() if path.exists() else []
    return [line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")]


def ignored(rel: str, patterns: list) -> bool:
    """Whether .dockerignore leaves a context-relative path out (it or a folder above it matches a pattern)."""
    parts = PurePosixPath(rel).parts
    for i in range(1, len(parts) + 1):
        prefix = "/".join(parts[:i])
        for pattern in patterns:
            if fnmatch.fnmatch(prefix, pattern):
                return True
            if pattern.startswith("**/") and fnmatch.fnmatch(parts[i - 1], pattern[3:]):
                return True
    return False


def _copy_tree(src: Path, dest: Path, rel: str, patterns: list) -> None:
    if ignored(rel, patterns):
        return
    if src.is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        for child in sorted(src.iterdir()):
            _copy_tree(child, dest / child.name, f"{rel}/{child.name}", patterns)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)


def _place(dest: str, workdir: PurePosixPath, many: bool, name: str) -> PurePosixPath:
    """COPY's destination rule: relative to WORKDIR; a folder (trailing /, or several sources) takes the name."""
    target = workdir / dest if not dest.startswith("/") else PurePosixPath(dest)
    if dest.endswith("/") or many:
        return target / name
    return target


def lay_out(stage: Stage, root: Path, context: Path, outputs: dict) -> Image:
    """Carries out the stage's WORKDIR and COPY steps under `root`; `outputs` maps (stage, path) to a local file."""
    patterns = ignore_patterns(context)
    workdir, user, entrypoint, cmd = PurePosixPath("/"), "root", [], []
    for instruction, args in stage.steps:
        if instruction == "WORKDIR":
            workdir = workdir / args
            (root / workdir.relative_to("/")).mkdir(parents=True, exist_ok=True)
        elif instruction == "USER":
            user = args
        elif instruction == "ENTRYPOINT":
            entrypoint = json.loads(args)
        elif instruction == "CMD":
            cmd = json.loads(args)
        elif instruction == "COPY":
            words = shlex.split(args)
            flags = [w for w in words if w.startswith("--")]
            *sources, dest = [w for w in words if not w.startswith("--")]
            from_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
            for source in sources:
                name = PurePosixPath(source).name
                target = root / _place(dest, workdir, len(sources) > 1, name).relative_to("/")
                if from_stage is not None:
                    local = outputs[(from_stage, source)]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        os.link(local, target)  # the debug binary is large: a hard link where the disk allows
                    except OSError:
                        shutil.copy2(local, target)
                else:
                    _copy_tree(context / source, target, source, patterns)
    return Image(workdir=workdir, user=user, entrypoint=entrypoint, cmd=cmd)
