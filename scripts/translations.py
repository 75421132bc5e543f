"""Keep the intake's Babel catalogues in step with the code (no Makefile needed).

    python scripts/translations.py update   extract, merge into sv and en, compile
    python scripts/translations.py check    fail if sv is incomplete, anything is fuzzy,
                                            the code has untranslated strings, or a
                                            committed .mo differs from its .po

After ``update``, translate the new or fuzzy entries in the sv catalogue (remove the
``#, fuzzy`` flag once checked), then run ``update`` again so that the .mo files follow.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = Path("intake/translations")
POT = TRANSLATIONS / "messages.pot"
LOCALES = ("sv", "en")
EXTRACT = ["extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext",
           "--project=Lykta", "--copyright-holder=Lykta contributors"]


def pybabel(*args: str | Path, fail: bool = True) -> int:
    """Run a pybabel command in-process; stop on failure unless ``fail`` is false."""
    status: int = CommandLineInterface().run(["pybabel", "-q", *map(str, args)]) or 0
    if status and fail:
        sys.exit(f"pybabel {args[0]} failed")
    return status


def po_path(base: Path, locale: str, suffix: str = ".po") -> Path:
    return base / locale / "LC_MESSAGES" / f"messages{suffix}"


def without_date(pot: Path) -> list[str]:
    return [line for line in pot.read_text("utf-8").splitlines()
            if not line.startswith('"POT-Creation-Date:')]


def update() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "messages.pot"
        pybabel(*EXTRACT, "-o", fresh, "intake")
        if POT.exists() and without_date(fresh) == without_date(POT):
            print("no new or changed strings; catalogues left as they are")
            pybabel("compile", "-d", TRANSLATIONS)
            return
        shutil.copy(fresh, POT)
    for locale in LOCALES:
        pybabel("update", "-i", POT, "-d", TRANSLATIONS, "-l", locale, "--ignore-obsolete")
    pybabel("compile", "-d", TRANSLATIONS)


def check() -> list[str]:
    """Every problem found, one line each (empty: all good)."""
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "messages.pot"
        pybabel(*EXTRACT, "-o", fresh, "intake")
        with fresh.open("rb") as f:
            in_code = {m.id for m in read_po(f) if m.id}
        for locale in LOCALES:
            po = po_path(TRANSLATIONS, locale)
            with po.open("rb") as f:
                catalog = read_po(f, locale)
            if catalog.fuzzy:
                problems.append(f"{po}: the catalogue header is marked fuzzy")
            for message in catalog:
                if not message.id:
                    continue
                if message.fuzzy:
                    problems.append(f"{po}: fuzzy: {message.id!r}")
                if locale == "sv" and not message.string:
                    problems.append(f"{po}: not translated: {message.id!r}")
            problems += [f"{po}: missing (run update): {msgid!r}"
                         for msgid in sorted(in_code - {m.id for m in catalog if m.id})]
            copy = po_path(Path(tmp), locale)
            copy.parent.mkdir(parents=True)
            shutil.copy(po, copy)
        if pybabel("compile", "-d", tmp, fail=False):
            problems.append("pybabel compile reported errors (see above)")
        for locale in LOCALES:
            mo, fresh_mo = po_path(TRANSLATIONS, locale, ".mo"), po_path(Path(tmp), locale, ".mo")
            if not (mo.exists() and fresh_mo.exists()) or mo.read_bytes() != fresh_mo.read_bytes():
                problems.append(f"{mo}: out of date with its .po (run update)")
    return problems


def main(argv: list[str]) -> int:
    if argv not in (["update"], ["check"]):
        print(__doc__, file=sys.stderr)
        return 2
    os.chdir(ROOT)  # babel.cfg and the paths in the catalogues are relative to the root
    if argv == ["update"]:
        update()
        return 0
    problems = check()
    for problem in problems:
        print(problem, file=sys.stderr)
    print("translations: " + (f"{len(problems)} problem(s)" if problems else "ok"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
