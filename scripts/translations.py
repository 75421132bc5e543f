"""Keep the Babel catalogues of both apps in step with the code (no Makefile needed).

    python scripts/translations.py update   extract, merge into sv and en, compile
    python scripts/translations.py check    fail if sv is incomplete, anything is fuzzy,
                                            the code has untranslated strings, or a
                                            committed .mo differs from its .po

Both commands handle each app in turn (intake, then casework); each app has its own
catalogues in ``<app>/translations``. After ``update``, translate the new or fuzzy entries
in the sv catalogue (remove the ``#, fuzzy`` flag once checked), then run ``update`` again
so that the .mo files follow.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
APPS = ("intake", "casework")  # each extracted from its own folder, with babel.cfg
LOCALES = ("sv", "en")
EXTRACT = ["extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext",
           "--project=Lykta", "--copyright-holder=Lykta contributors"]


def pybabel(*args: str | Path, fail: bool = True) -> int:
    """Run a pybabel command in-process; stop on failure unless ``fail`` is false."""
    # Babel's run() carries no annotations: give it its type here, once.
    run: Callable[[list[str]], int | None] = CommandLineInterface().run
    status = run(["pybabel", "-q", *map(str, args)]) or 0
    if status and fail:
        sys.exit(f"pybabel {args[0]} failed")
    return status


def po_path(base: Path, locale: str, suffix: str = ".po") -> Path:
    return base / locale / "LC_MESSAGES" / f"messages{suffix}"


def without_date(pot: Path) -> list[str]:
    return [line for line in pot.read_text("utf-8").splitlines()
            if not line.startswith('"POT-Creation-Date:')]


def update(app: str) -> None:
    translations = Path(app) / "translations"
    pot = translations / "messages.pot"
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "messages.pot"
        pybabel(*EXTRACT, "-o", fresh, app)
        if pot.exists() and without_date(fresh) == without_date(pot):
            print(f"{app}: no new or changed strings; catalogues left as they are")
            pybabel("compile", "-d", translations)
            return
        translations.mkdir(exist_ok=True)
        shutil.copy(fresh, pot)
    for locale in LOCALES:
        if not po_path(translations, locale).exists():  # a new app or language
            pybabel("init", "-i", pot, "-d", translations, "-l", locale)
        pybabel("update", "-i", pot, "-d", translations, "-l", locale, "--ignore-obsolete")
    pybabel("compile", "-d", translations)


def check(app: str) -> list[str]:
    """Every problem found in ``app``'s catalogues, one line each (empty: all good)."""
    translations = Path(app) / "translations"
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "messages.pot"
        pybabel(*EXTRACT, "-o", fresh, app)
        with fresh.open("rb") as f:
            in_code = {m.id for m in read_po(f) if m.id}
        for locale in LOCALES:
            po = po_path(translations, locale)
            with po.open("rb") as f:
                catalog = read_po(f, locale)
            if catalog.fuzzy:
                problems.append(f"{po}: the catalogue header is marked fuzzy")
            for message in catalog:
                if not message.id:
                    continue
                if message.fuzzy:
                    problems.append(f"{po}: fuzzy: {message.id!r}")
                # A plural needs every form: ("", "") or ("en", "") is untranslated.
                if locale == "sv" and (not message.string or (
                        isinstance(message.string, tuple) and not all(message.string))):
                    problems.append(f"{po}: not translated: {message.id!r}")
            problems += [f"{po}: missing (run update): {msgid!r}"
                         for msgid in sorted(in_code - {m.id for m in catalog if m.id}, key=str)]
            copy = po_path(Path(tmp), locale)
            copy.parent.mkdir(parents=True)
            shutil.copy(po, copy)
        if pybabel("compile", "-d", tmp, fail=False):
            problems.append("pybabel compile reported errors (see above)")
        for locale in LOCALES:
            mo, fresh_mo = po_path(translations, locale, ".mo"), po_path(Path(tmp), locale, ".mo")
            if not (mo.exists() and fresh_mo.exists()) or mo.read_bytes() != fresh_mo.read_bytes():
                problems.append(f"{mo}: out of date with its .po (run update)")
    return problems


def main(argv: list[str]) -> int:
    if argv not in (["update"], ["check"]):
        print(__doc__, file=sys.stderr)
        return 2
    os.chdir(ROOT)  # babel.cfg and the paths in the catalogues are relative to the root
    if argv == ["update"]:
        for app in APPS:
            update(app)
        return 0
    problems = [problem for app in APPS for problem in check(app)]
    for problem in problems:
        print(problem, file=sys.stderr)
    print("translations: " + (f"{len(problems)} problem(s)" if problems else "ok"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
