"""`make package`: a stage's deployable SAM template and Lambda bundle, built without AWS credentials or a region.

Three steps: render the merge template (`infra.cloudformation`), run `chalice package --merge-template` into
`infra/build/{stage}/` (`sam.json`, `deployment.zip`), then take out of the bundle the distributions the Lambda
Python runtime already ships (the AWS SDK: `RUNTIME_PROVIDED`). Chalice installs the whole dependency closure of
`requirements.txt` and has no way to leave a package out; pynamodb alone pulls in botocore, so moving boto3 out of
`requirements.txt` would not be enough. Each distribution is removed by the files its own `RECORD` lists, nothing
guessed from names.

Chalice asks botocore for a region only to spell service principals (`lambda.amazonaws.com`; `.com.cn` in China),
so the region affects nothing but the partition: packaging sets `AWS_DEFAULT_REGION` (`--region`, default
`PACKAGE_REGION`) and hides any credentials and AWS config files, so the output cannot depend on who runs it.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
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


def strip_runtime_provided(bundle_path: Path, distributions: tuple[str, ...] = RUNTIME_PROVIDED) -> int:
    """Rewrite the bundle without `distributions`; returns the uncompressed bytes removed. A bundle that has none of
    them (already stripped) is left as it is."""
    with zipfile.ZipFile(bundle_path) as bundle:
        present = [d for d in distributions
                   if any(n.lower().startswith(f"{d}-") and n.endswith(".dist-info/RECORD") for n in bundle.namelist())]
        owned = set().union(*(_records(bundle, d) for d in present)) if present else set()
        if not owned:
            return 0
        kept = [info for info in bundle.infolist() if info.filename not in owned]
        removed = sum(info.file_size for info in bundle.infolist() if info.filename in owned)
        stripped = bundle_path.with_suffix(".tmp")
        with zipfile.ZipFile(stripped, "w", zipfile.ZIP_DEFLATED) as out:
            for info in kept:
                out.writestr(info, bundle.read(info), compress_type=info.compress_type)
    stripped.replace(bundle_path)
    return removed


def build(stage: str, *, region: str = PACKAGE_REGION, out: Path | None = None) -> Package:
    """Package `stage` into `infra/build/{stage}/` (or `out`, with its merge template beside it)."""
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
    removed = strip_runtime_provided(bundle)
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
