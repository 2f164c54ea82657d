#!/usr/bin/env python3
"""Fuzz the parsers of outside input for a set time, outside CI.

    .venv/bin/python scripts/fuzz.py --seconds 600            # every target, time split evenly
    .venv/bin/python scripts/fuzz.py --seconds 120 --target tar --target link

The targets are in tests/unit/properties/targets.py (one per parser: references, file[:type],
annotation files, manifests, platforms, WWW-Authenticate, Link, docker config, token answers,
tar members). With atheris installed (`pip install atheris`; not a dependency of the project)
each target runs coverage-guided in its own process under libFuzzer, keeping its corpus in
.cache/fuzz/<target>/corpus and any crashing input in .cache/fuzz/<target>/; without it (or with
--engine hypothesis) Hypothesis feeds each target random inputs through `fuzz_one_input`,
together with the target's property tests under their own strategies. A crash prints the input
and the traceback; turn it into a regression test (`@example(...)` on the property test or a seed
in tests/unit/properties/test_props_targets.py) when fixing it. Exit status 1 if any target crashed.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: Property test modules that also run under the Hypothesis engine, per target.
PROPERTY_TESTS = {
    "reference": (
        "test_props_reference",
        [
            "test_parse_reference_returns_a_reference_or_a_typed_error",
            "test_reference_round_trips_through_its_text",
            "test_container_parses_or_refuses_with_a_typed_error",
        ],
    ),
    "file-spec": ("test_props_files", ["test_split_path_and_content_splits_at_a_colon"]),
    "annotations": (
        "test_props_files",
        [
            "test_annotation_files_load_or_refuse_with_a_typed_error",
            "test_annotation_mappings_load_or_refuse_with_a_typed_error",
        ],
    ),
    "manifest": (
        "test_props_manifest",
        [
            "test_parse_manifest_is_an_object_or_a_protocol_error",
            "test_check_manifest_accepts_or_names_the_broken_field",
            "test_successors_are_well_formed_descriptors_or_a_protocol_error",
            "test_descriptor_from_dict_is_well_formed_or_a_protocol_error",
            "test_descriptor_round_trips_through_its_dict",
        ],
    ),
    "platform": ("test_props_manifest", ["test_platform_parse_round_trips_or_refuses"]),
    "challenge": (
        "test_props_remote",
        [
            "test_challenges_round_trip_with_quoted_strings_and_escapes",
            "test_any_challenge_header_parses",
        ],
    ),
    "link": (
        "test_props_remote",
        [
            "test_next_link_is_a_url_or_none_or_a_typed_error",
            "test_the_next_link_is_found_among_others",
        ],
    ),
    "docker-config": (
        "test_props_files",
        ["test_any_config_file_gives_a_credential_or_a_typed_error", "test_find_auth_is_total"],
    ),
    "token": ("test_props_files", ["test_token_bodies_give_a_usable_token_or_a_protocol_error"]),
    "tar": ("test_props_archive", ["test_extraction_stays_inside_the_output_directory"]),
}


def _targets() -> dict[str, Callable[[bytes], None]]:
    from tests.unit.properties.targets import TARGETS

    return TARGETS


def _have_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


# --- atheris: one process per target ------------------------------------------------------


def _atheris_child(name: str, seconds: int) -> None:
    """Run in the child process: libFuzzer owns it until the time is up or a crash."""
    import atheris

    logging.disable(logging.WARNING)
    with atheris.instrument_imports():
        import oras  # noqa: F401  (instrument the whole package for coverage)
        import oras.archive
        import oras.auth.token
        import oras.cli.push
        import oras.container
        import oras.credentials.store
        import oras.descriptor
        import oras.manifest
        import oras.oci
        import oras.pack
        import oras.reference
        import oras.remote.challenge
        import oras.remote.response  # noqa: F401
    target = _targets()[name]
    work = ROOT / ".cache" / "fuzz" / name
    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    from tests.unit.properties.test_props_targets import SEEDS

    for i, seed in enumerate(SEEDS.get(name, [])):
        (corpus / f"seed-{i}").write_bytes(seed)
    args = [
        sys.argv[0],
        str(corpus),
        f"-max_total_time={seconds}",
        f"-artifact_prefix={work}/",
        "-rss_limit_mb=2048",
        "-timeout=20",
        "-max_len=65536",
        "-print_final_stats=1",
    ]
    atheris.Setup(args, target)
    atheris.Fuzz()


def _run_atheris(names: list[str], seconds: int) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        start = time.monotonic()
        proc = subprocess.run(
            [sys.executable, __file__, "--child", name, "--seconds", str(seconds)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        output = proc.stdout + proc.stderr
        runs = [line for line in output.splitlines() if "stat::number_of_executed_units" in line]
        results[name] = {
            "seconds": round(time.monotonic() - start),
            "runs": runs[-1].split(":")[-1].strip() if runs else "?",
            "crashed": proc.returncode != 0,
            "output": output if proc.returncode != 0 else "",
        }
    return results


# --- Hypothesis: random buffers through fuzz_one_input -------------------------------------


def _hypothesis_runners(name: str) -> list[tuple[str, Any]]:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    target = _targets()[name]
    quiet = settings(
        database=None, deadline=None, suppress_health_check=list(HealthCheck), max_examples=1
    )

    @quiet
    @given(st.binary(max_size=4096))
    def raw(data: bytes) -> None:
        target(data)

    runners: list[tuple[str, Any]] = [(f"{name} (bytes)", raw)]
    module_name, tests = PROPERTY_TESTS.get(name, ("", []))
    if module_name:
        module = importlib.import_module(f"tests.unit.properties.{module_name}")
        runners += [(f"{name} ({test})", getattr(module, test)) for test in tests]
    return runners


def _run_hypothesis(names: list[str], seconds: int) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        runners = _hypothesis_runners(name)
        deadline = time.monotonic() + seconds
        runs, crashed, output = 0, False, ""
        while time.monotonic() < deadline and not crashed:
            for label, runner in runners:
                buffer = os.urandom(int.from_bytes(os.urandom(2), "big") % 8192 + 1)
                try:
                    runner.hypothesis.fuzz_one_input(buffer)
                except Exception:
                    crashed = True
                    output = f"{label} crashed on buffer {buffer!r}\n{traceback.format_exc()}"
                    break
                runs += 1
        results[name] = {
            "seconds": seconds,
            "runs": str(runs),
            "crashed": crashed,
            "output": output,
        }
    return results


def main(argv: list[str]) -> int:
    logging.disable(logging.WARNING)  # the library's warnings about skipped members, say
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, required=True, help="total time, split evenly")
    parser.add_argument(
        "--target", action="append", choices=sorted(PROPERTY_TESTS), help="repeatable; default all"
    )
    parser.add_argument("--engine", choices=["auto", "atheris", "hypothesis"], default="auto")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _atheris_child(args.child, args.seconds)
        return 0
    names = args.target or sorted(_targets())
    each = max(1, args.seconds // len(names))
    engine = args.engine
    if engine == "auto":
        engine = "atheris" if _have_atheris() else "hypothesis"
    elif engine == "atheris" and not _have_atheris():
        parser.error("atheris is not installed (pip install atheris)")
    print(f"fuzzing {len(names)} targets with {engine}, {each} s each", flush=True)
    run = _run_atheris if engine == "atheris" else _run_hypothesis
    results = run(names, each)
    print(f"\n{'target':<15} {'seconds':>8} {'runs':>10}  result")
    for name, r in results.items():
        print(f"{name:<15} {r['seconds']:>8} {r['runs']:>10}  {'CRASH' if r['crashed'] else 'ok'}")
    crashed = [name for name, r in results.items() if r["crashed"]]
    for name in crashed:
        print(f"\n--- {name} ---\n{results[name]['output'][-6000:]}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
