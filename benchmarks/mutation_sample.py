"""The mutation score of the whole of ``snuk_assets/transforms/``, estimated from a random sample.

Running every mutant of ``transforms/`` (about 4,000) takes one and a half to two hours of a
2-core machine; a uniform random sample of mutants estimates the same score with a stated
error (random mutant sampling: Wong and Mathur, J. Systems and Software 31 (1995); Zhang et
al., ICSE 2013 found a few hundred sampled mutants enough for a score within a few points).
The sample is drawn with a fixed seed from every mutant mutmut generates, so a rerun on the same
code runs the same mutants.

    python benchmarks/mutation_sample.py --size 500 --seed 20261202

Steps (each a mutmut 3.8.1 command, from ``pyproject.toml``'s ``[tool.mutmut]``):

1. ``mutmut run 'snuk_assets.transforms.ingest.records*'``: generates every mutant and the
   test stats (which tests reach which function), and runs the mutants of one small module;
2. the names of all mutants, from mutmut's ``.meta`` files;
3. ``mutmut run NAME ...`` on the sample;
4. ``mutmut results --all true``: each sampled mutant's status.

The score is killed / sampled, as ``make mutation`` reports it (a mutant no test reaches counts
as not killed), with a Wilson 95 % interval; the counts by status and by module are printed and
written as JSON. mutmut is not a library with a stable Python API, so it is driven by its
command line; nothing here re-implements mutation.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import pathlib
import random
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
MUTMUT = [sys.executable, "-m", "mutmut"]
SEED_MODULE = "snuk_assets.transforms.ingest.records*"


def mutmut(*args: str, capture: bool = False) -> str:
    done = subprocess.run(
        [*MUTMUT, *args], cwd=ROOT, check=False, text=True, capture_output=capture
    )
    if done.returncode not in (0, 1):  # mutmut exits 1 when a mutant survived
        raise SystemExit(f"mutmut {' '.join(args[:3])} ... failed with exit code {done.returncode}")
    return done.stdout if capture else ""


def all_mutants() -> list[str]:
    """Every mutant's name, from the ``.meta`` files mutmut writes beside each mutated module.

    (Not from ``mutmut print-time-estimates``: in 3.8.1 it empties the saved test stats, so the
    next run finds no test for any mutant.)
    """
    names = []
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        names += json.loads(meta.read_text())["exit_code_by_key"]
    return sorted(names)


def statuses() -> dict[str, str]:
    out = {}
    for line in mutmut("results", "--all", "true", capture=True).splitlines():
        match = re.match(r"\s*(\S+): (\S.*)$", line)
        if match and "__mutmut_" in match.group(1):
            out[match.group(1)] = match.group(2).strip()
    return out


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


def module_of(name: str) -> str:
    return name.split(".x", 1)[0]  # mutmut names a mutant module.x_function__mutmut_N


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/mutation_sample.json")
    args = parser.parse_args()

    print(f"1. generating the mutants and the test stats ({SEED_MODULE} runs)", flush=True)
    mutmut("run", "--max-children", str(args.max_children), SEED_MODULE)
    names = all_mutants()
    sample = sorted(random.Random(args.seed).sample(names, min(args.size, len(names))))
    print(f"2. {len(names)} mutants; a sample of {len(sample)}")
    print("3. running the sample", flush=True)
    mutmut("run", "--max-children", str(args.max_children), *sample)
    status = statuses()
    counts = collections.Counter(status.get(name, "not run") for name in sample)
    by_module: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for name in sample:
        by_module[module_of(name)][status.get(name, "not run")] += 1
    killed = counts.get("killed", 0)
    low, high = wilson(killed, len(sample))
    result = {
        "population": len(names),
        "sample": len(sample),
        "seed": args.seed,
        "counts": dict(counts),
        "score": killed / len(sample),
        "wilson95": [low, high],
        "by_module": {m: dict(c) for m, c in sorted(by_module.items())},
        "survived": sorted(n for n in sample if status.get(n) == "survived"),
    }
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"4. score {killed}/{len(sample)} = {result['score']:.1%} (95 % {low:.1%} .. {high:.1%})")
    print("   " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    for module, c in result["by_module"].items():
        print(f"   {module}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
    print(f"   written to {out}")


if __name__ == "__main__":
    main()
