"""Regenerate templates/memo-base.docx, the styled base document memos are built on.

Run: python scripts/make_base_template.py. Users can pass their own base with --template; only its
styles are used (Title, Heading 1, List Bullet, List Bullet 2, Table Grid, and Citation, which is
added when missing).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.shared import Cm, Pt, RGBColor

NAVY = RGBColor(0x1F, 0x3A, 0x5F)


def main() -> None:
    # No options: --help prints what the script rewrites instead of rewriting it.
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    document = docx.Document()
    styles = document.styles
    normal = styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(10.5)
    normal.paragraph_format.space_after = Pt(6)
    for name, size in (("Title", 22), ("Heading 1", 14), ("Heading 2", 12)):
        style = styles[name]
        style.font.name = "Calibri"
        style.font.size = Pt(size)
        style.font.color.rgb = NAVY
    citation = styles.add_style("Citation", WD_STYLE_TYPE.CHARACTER)
    citation.font.size = Pt(8)
    citation.font.color.rgb = RGBColor(0x1F, 0x4E, 0x79)
    for section in document.sections:
        section.left_margin = section.right_margin = Cm(2.2)
        section.top_margin = section.bottom_margin = Cm(2.0)
        section.footer.paragraphs[0].text = "thesisgen memo: every figure is cited; see Appendix A."
    document.core_properties.author = "thesisgen"
    document.core_properties.title = "thesisgen memo base"
    out = Path(__file__).resolve().parents[1] / "templates" / "memo-base.docx"
    document.save(str(out))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
