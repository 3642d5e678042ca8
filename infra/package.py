"""`make package`: a stage's deployable SAM template and Lambda bundle, built without AWS credentials or a region.

Three steps: render the merge template (`infra.cloudformation`), run `chalice package --merge-template` into
`infra/build/{stage}/` (`sam.json`, `deployment.zip`), then take out of the bundle the distributions the Lambda
Python runtime already ships (the AWS SDK: `RUNTIME_PROVIDED`) and compile the rest (`finish_bundle`). Chalice
installs the whole dependency closure of `requirements.txt` and has no way to leave a package out; pynamodb alone
pulls in botocore, so moving boto3 out of `requirements.txt` would not be enough. Each distribution is removed by
the files its own `RECORD` lists, nothing guessed from names.

Chalice asks botocore for a region only to spell service principals (`lambda.amazonaws.com`; `.com.cn` in China),
so the region affects nothing but the partition: packaging sets `AWS_DEFAULT_REGION` (`--region`, default
`PACKAGE_REGION`) and hides any credentials and AWS config files, so the output cannot depend on who runs it.
"""

from __future__ import annotations

import argparse
import compileall
import csv
import io
import json
import os
import py_compile
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from infra import cloudformation as cfn
from infra.local.stack import STAGE as LOCAL_STAGE  # served on this machine (`make run`), never packaged

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "infra" / "build"
# In the Lambda Python runtime (/var/runtime): boto3, botocore and s3transfer, the SDK itself. Their own dependencies
# (jmespath, urllib3, python-dateutil) stay in the bundle: powertools and holidays need them in versions we pin.
RUNTIME_PROVIDED: tuple[str, ...] = ("boto3", "botocore", "s3transfer")
LAMBDA_TASK_ROOT = "/var/task"  # where Lambda unpacks the bundle: tracebacks name the files there
PACKAGE_REGION = "ap-southeast-1"  # any region of the `aws` partition gives the same template
_CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                         "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
                         "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")


@dataclass(frozen=True)
class Package:
    template: Path  # the SAM template, our resources merged in
    bundle: Path  # deployment.zip, every function's code
    removed_bytes: int  # what leaving out the runtime's own distributions saved (uncompressed)


def deployed_stages() -> list[str]:
    """Every stage of `.chalice/config.json` but the local one."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return sorted(stage for stage in config["stages"] if stage != LOCAL_STAGE)


def paths(stage: str) -> tuple[Path, Path]:
    """The merge template and the package directory of `stage`."""
    return BUILD / f"resources.{stage}.json", BUILD / stage


def offline_environment(region: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CREDENTIAL_VARIABLES}
    env |= {"AWS_DEFAULT_REGION": region, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true"}
    return env


def _records(bundle: zipfile.ZipFile, distribution: str) -> set[str]:
    """The files one installed distribution owns, from its `*.dist-info/RECORD`."""
    prefix = f"{distribution.replace('-', '_')}-"
    records = [n for n in bundle.namelist()
               if n.count("/") == 1 and n.endswith(".dist-info/RECORD") and n.lower().startswith(prefix)]
    if len(records) != 1:
        raise RuntimeError(f"expected one RECORD of {distribution} in the bundle, found {records}")
    rows = csv.reader(io.StringIO(bundle.read(records[0]).decode("utf-8")))
    return {row[0] for row in rows if row and not row[0].startswith("..")}


def finish_bundle(bundle_path: Path, distributions: tuple[str, ...] = RUNTIME_PROVIDED) -> int:
    """Rewrite the bundle without `distributions` and with bytecode for every module; returns the uncompressed bytes
    of the distributions removed.

    Lambda's task directory is read-only, so a bundle of sources alone is compiled anew at every cold start (most of
    a handler's import time). The `.pyc` files are unchecked-hash ones (PEP 552): loaded without comparing the
    source's mtime, which a zip keeps only to 2 s. They are for this interpreter's version, which is the runtime's:
    Chalice takes the Lambda runtime from the Python that packages."""
    with zipfile.ZipFile(bundle_path) as bundle:
        present = [d for d in distributions
                   if any(n.lower().startswith(f"{d}-") and n.endswith(".dist-info/RECORD") for n in bundle.namelist())]
        owned = set().union(*(_records(bundle, d) for d in present)) if present else set()
        removed = sum(info.file_size for info in bundle.infolist() if info.filename in owned)
        with tempfile.TemporaryDirectory(prefix="dvc-bundle-") as tmp:
            root = Path(tmp)
            for info in bundle.infolist():
                if info.filename not in owned and not info.filename.endswith(".pyc"):
                    bundle.extract(info, root)
                    mode = info.external_attr >> 16
                    if mode:
                        (root / info.filename).chmod(mode & 0o777 or 0o644)
            compileall.compile_dir(root, quiet=2, workers=1, stripdir=str(root), prependdir=LAMBDA_TASK_ROOT,
                                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
            rebuilt = bundle_path.with_suffix(".tmp")
            with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as out:
                for path in sorted(p for p in root.rglob("*") if p.is_file()):
                    out.write(path, path.relative_to(root).as_posix())
    rebuilt.replace(bundle_path)
    return removed


def build(stage: str, *, region: str = PACKAGE_REGION, out: Path | None = None, finish: bool = True) -> Package:
    """Package `stage` into `infra/build/{stage}/` (or `out`, with its merge template beside it). Without `finish`
    the bundle stays as Chalice made it: for a use of the template alone (the lint), which is the same either way."""
    merge_template, default_out = paths(stage)
    if out is not None:
        merge_template = out.parent / f"{out.name}.resources.json"
    out = out or default_out
    cfn.main(["--stage", stage, "--out", str(merge_template)])
    chalice = Path(sys.executable).parent / "chalice"
    command = [str(chalice), "package", "--stage", stage, "--merge-template", str(merge_template), str(out)]
    result = subprocess.run(command, cwd=ROOT, env=offline_environment(region), capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise RuntimeError(f"chalice package failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    bundle = out / "deployment.zip"
    removed = finish_bundle(bundle) if finish else 0
    return Package(template=out / "sam.json", bundle=bundle, removed_bytes=removed)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION") or PACKAGE_REGION,
                        help="only its partition matters (aws, aws-cn, aws-us-gov)")
    args = parser.parse_args(argv)
    package = build(args.stage, region=args.region)
    size = package.bundle.stat().st_size
    print(f"{package.template.relative_to(ROOT)}; {package.bundle.relative_to(ROOT)}: {size / 2**20:.1f} MiB "
          f"(left out {', '.join(RUNTIME_PROVIDED)}: {package.removed_bytes / 2**20:.1f} MiB uncompressed)")


if __name__ == "__main__":
    main()
