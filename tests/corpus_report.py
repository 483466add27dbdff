"""A summary of the corpus comparison with pydicom: which files are identical, which differ, which
pydicom rejects and what dicomfast does with them. The tests assert; this prints, for the docs
and the closing notes.

    .venv/bin/python tests/corpus_report.py
"""

from __future__ import annotations

import sys
import warnings
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import dicomfast  # noqa: E402
from corpus import corpus_files, corpus_id  # noqa: E402
from reference import compare, pydicom_read  # noqa: E402


def outcome(path) -> tuple[str, str]:
    theirs, error = pydicom_read(path)
    forced = False
    if error is not None:
        theirs, error = pydicom_read(path, force=True)
        forced = True
    if theirs is not None and len(theirs) == 0:
        theirs, error = None, "no elements"
    try:
        ours = dicomfast.dcmread(path, force=forced or theirs is None)
        our_error = None
    except dicomfast.DicomError as exc:
        ours, our_error = None, exc
    if theirs is None:
        what = f"dicomfast raises {type(our_error).__name__}" if our_error else "dicomfast reads it"
        return "pydicom rejects", f"{what}; pydicom: {str(error)[:90]}"
    if our_error is not None:
        return "dicomfast stricter", f"{type(our_error).__name__}: {str(our_error).split(': ')[-1][:90]}"
    problems = compare(ours, theirs)
    if problems:
        return "differ", problems[0][:120]
    return "identical" + (" (force)" if forced else ""), ""


def main() -> None:
    warnings.simplefilter("ignore")
    counts: Counter = Counter()
    notes = []
    for path in corpus_files():
        kind, detail = outcome(path)
        counts[kind] += 1
        if detail:
            notes.append(f"  {kind:20s} {corpus_id(path)}: {detail}")
    for kind, n in sorted(counts.items()):
        print(f"{kind:22s} {n}")
    print(f"{'total':22s} {sum(counts.values())}")
    print("\n".join(notes))


if __name__ == "__main__":
    main()
