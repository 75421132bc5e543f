"""Summarise a mutmut run per module: ``make mutation`` calls this in its MUTATION_DIR.

Reads mutmut's ``mutants/**/*.py.meta`` files (exit code per mutant), prints a table of
killed / survived / other per module with the score (killed + timeout over all checked
mutants) and lists the survivors by name (``mutmut show NAME`` in MUTATION_DIR shows the
diff). Not a test module: pytest does not collect it.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

KILLED = {1, 3, -11, -9}  # pytest failed or errored; a crash also counts as caught
TIMEOUT = {36, -24, 24, 152, 255}
SURVIVED = {0}
NO_TESTS = {33, 5}  # no test reaches the mutated function: counted as not caught
NOT_RUN = {None, 34, 2}  # not checked (e.g. outside a MUTATE selection), skipped, interrupted


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|None')
_RAISE = re.compile(r"^\s*raise \w+\(")


def _diff(name: str, path: Path) -> str:
    """mutmut's own diff of a mutant against the original function ('' if unavailable)."""
    try:
        from mutmut.mutation.diff_apply import get_diff_for_mutant
    except ImportError:
        return ""
    try:
        return str(get_diff_for_mutant(name, path=path))
    except Exception as exc:  # a missing or stale mutants/ file: report, don't stop
        return f"(no diff: {exc})"


def message_only(diff: str) -> bool:
    """True if the mutant only changes the fixed text of an exception (or drops it to None).

    Every message in crypto/ is fixed text (errors.py); callers and tests tell errors apart
    by type, so such a mutant changes no behaviour that any caller relies on.
    """
    removed = [ln[1:] for ln in diff.splitlines() if ln.startswith("-") and
               not ln.startswith("---")]
    added = [ln[1:] for ln in diff.splitlines() if ln.startswith("+") and
             not ln.startswith("+++")]
    if len(removed) != 1 or len(added) != 1 or not _RAISE.match(removed[0]):
        return False
    return _STRING.sub("S", removed[0]) == _STRING.sub("S", added[0])


def _score(caught: int, checked: int) -> str:
    return f"{100 * caught / checked:.1f}%" if checked else "-"


def main(root: Path) -> int:
    os.chdir(root)  # mutmut's helpers read ./pyproject.toml and ./mutants
    rows = []
    details: list[str] = []
    for meta in sorted(Path("mutants").glob("**/*.py.meta")):
        data = json.loads(meta.read_text("utf-8"))
        codes: dict[str, int | None] = data.get("exit_code_by_key", {})
        if not codes:
            continue
        source = Path(str(meta.relative_to("mutants"))[: -len(".meta")])
        killed = sum(1 for c in codes.values() if c in KILLED)
        timeout = sum(1 for c in codes.values() if c in TIMEOUT)
        survivors = sorted(k for k, c in codes.items() if c in SURVIVED)
        no_tests = sum(1 for c in codes.values() if c in NO_TESTS)
        not_run = sum(1 for c in codes.values() if c in NOT_RUN)
        other = len(codes) - killed - timeout - len(survivors) - no_tests - not_run
        text_only = 0
        for name in survivors:
            diff = _diff(name, source)
            equivalent = message_only(diff)
            text_only += equivalent
            details.append(f"## {name}{'  [message text]' if equivalent else ''}\n{diff}")
        rows.append((str(source.with_suffix("")), len(codes), killed, timeout, len(survivors),
                     text_only, no_tests, other, not_run))
    if not rows:
        print("no mutmut results under", root / "mutants")
        return 1
    header = (f"{'module':26} {'total':>5} {'killed':>6} {'tmout':>5} {'surv':>5} {'text':>5}"
              f" {'nocov':>5} {'susp':>4} {'notrun':>6} {'score':>7} {'w/o text':>8}")
    print(header)
    totals = [0] * 8
    for module, *counts in [*rows, ("ALL", *[0] * 8)]:
        if module == "ALL":
            counts = totals
        else:
            totals = [a + b for a, b in zip(totals, counts, strict=True)]
        total, killed, timeout, surv, text_only, no_tests, other, not_run = counts
        checked = killed + timeout + surv + no_tests + other
        print(f"{module:26} {total:5} {killed:6} {timeout:5} {surv:5} {text_only:5} {no_tests:5}"
              f" {other:4}"
              f" {not_run:6} {_score(killed + timeout, checked):>7}"
              f" {_score(killed + timeout, checked - text_only):>8}")
    print("\nscore = (killed + timeout) / checked, where checked counts survivors, suspicious and"
          " uncovered (nocov) mutants too;\n'w/o text' leaves out the survivors that only change"
          " an exception's fixed message text (see bench/results/mutation.md)")
    out = Path("mutants") / "survivors.md"
    out.write_text("\n".join(details) + "\n", "utf-8")
    print(f"survivors with diffs: {out.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()))
