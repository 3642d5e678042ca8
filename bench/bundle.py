"""`make bench`'s bundle figures: the deployment zip's size, and each function's cold-start import against `import boto3`.

The prod package is built afresh (`infra.package`) and unzipped; each sample is a fresh interpreter that imports one
handler module (read from the packaged template's `Handler`, as Lambda does) with the bundle first on `sys.path` and
the stage's environment, timing the import alone (interpreter start-up is the same for every row). As on Lambda,
where the task directory is read-only, nothing compiled is written back (`PYTHONDONTWRITEBYTECODE`): the bundle's
own bytecode, if it ships any, is all there is. The baseline is the same for a bare `import boto3` (the runtime's
SDK, precompiled). Rows alternate sample by sample, so load on the machine touches all alike.

Run alone: `python -m bench.bundle`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from bench.measure import LABEL, Table, percentile
from infra import cloudformation as cfn
from infra import package
from infra.local.stack import stage_environment

STAGE = "prod"
SAMPLES = 21  # per row: a median and a p95 from fresh interpreters
BASELINE = "boto3"
TARGET_RATIO = 1.3  # the bound for a handler's import against a bare `import boto3`
_TIMED_IMPORT = "import importlib, sys, time; t = time.perf_counter(); importlib.import_module(sys.argv[1]); " \
                "print((time.perf_counter() - t) * 1000)"


def handler_modules(template: dict[str, object]) -> dict[str, str]:
    """Function → the module Lambda imports for it (its `Handler` without the attribute)."""
    resources = template["Resources"]
    assert isinstance(resources, dict)
    return {f: str(resources[cfn.function_id(f)]["Properties"]["Handler"]).rpartition(".")[0] for f in cfn.functions()}


def import_ms(module: str, bundle: Path, env: dict[str, str]) -> float:
    done = subprocess.run([sys.executable, "-c", _TIMED_IMPORT, module], cwd=bundle, env=env, capture_output=True,
                          text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def figures(table: Table, samples: int = SAMPLES) -> None:
    built = package.build(STAGE)
    with zipfile.ZipFile(built.bundle) as zipped:
        infos = zipped.infolist()
        compiled = sum(1 for i in infos if i.filename.endswith(".pyc"))
        table.line(f"{'Lambda bundle (' + STAGE + ')':{LABEL}s}{built.bundle.stat().st_size / 2**20:9.1f} MiB zipped, "
                   f"{sum(i.file_size for i in infos) / 2**20:.1f} MiB unzipped, {len(infos)} files ({compiled} .pyc); "
                   f"without {', '.join(package.RUNTIME_PROVIDED)}: {built.removed_bytes / 2**20:.1f} MiB less")
        modules = handler_modules(json.loads(built.template.read_text(encoding="utf-8")))
        with tempfile.TemporaryDirectory(prefix="dvc-bundle-") as unpacked:
            zipped.extractall(unpacked)
            env = os.environ | stage_environment(STAGE) | {
                "PYTHONPATH": unpacked, "PYTHONDONTWRITEBYTECODE": "1", "AWS_DEFAULT_REGION": package.PACKAGE_REGION,
            }
            env.pop("VIRTUAL_ENV", None)
            rows = [BASELINE, *sorted(set(modules.values()))]
            times: dict[str, list[float]] = {row: [] for row in rows}
            for _ in range(samples):
                for row in rows:
                    times[row].append(import_ms(row, Path(unpacked), env))
    base = statistics.median(times[BASELINE])
    table.line(f"{'cold import, fresh interpreter':{LABEL}s}{'median':>12s}{'p95':>12s}{'n':>6s}{'× boto3':>10s}")
    for label, module in [("import boto3 (the baseline)", BASELINE), *((f"{f}: {m}", m) for f, m in modules.items())]:
        values = times[module]
        ratio = statistics.median(values) / base
        table.line(f"{label[:LABEL - 1]:{LABEL}s}{statistics.median(values):9.1f} ms{percentile(values, 0.95):9.1f} ms"
                   f"{len(values):6d}{ratio:9.2f}×" + ("" if ratio <= TARGET_RATIO or module == BASELINE else "  over 1.3×"))


if __name__ == "__main__":
    figures(Table(sys.stdout), samples=int(sys.argv[1]) if len(sys.argv) > 1 else SAMPLES)
