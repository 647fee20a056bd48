"""The CERFA FA13 form (services/contracts/domain/cerfa_form.py) as a printable document: an A4
HTML page (Jinja2, autoescaped: every value the CFA typed is escaped) and a PDF (fpdf2).

The PDF embeds DejaVu Sans when the OS has it (every character of a French form, "œ", "’" and
the narrow no-break space of "1 112,05 €" included); without it, the core font Helvetica in
windows-1252, the few characters that encoding lacks replaced by their nearest ASCII."""
from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from fpdf.enums import TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from services.contracts.domain.cerfa_form import CerfaForm, Section

_HERE = Path(__file__).resolve().parent
_TEMPLATES = Environment(loader=FileSystemLoader(_HERE), autoescape=True, undefined=StrictUndefined,
                         trim_blocks=False, lstrip_blocks=False)

DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
DEJAVU = DEJAVU_DIR / "DejaVuSans.ttf"
DEJAVU_BOLD = DEJAVU_DIR / "DejaVuSans-Bold.ttf"
# what windows-1252 cannot write, for the core font
_ASCII = str.maketrans({"\u202f": " ", "\u2009": " ", "\u2007": " ", "\u2011": "-", "\u2010": "-",
                        "\u2212": "-", "\u2032": "'", "\u2033": '"', "\u2026": "...", "\u0153": "oe",
                        "\u0152": "OE"})


def render_html(form: CerfaForm) -> str:
    """The form as one self-contained A4 page (inline CSS, no script, no external resource)."""
    return _TEMPLATES.get_template("cerfa.html").render(
        form=form, signatures={"title": form.signatures_title, "boxes": form.signatures}, footer=form.notice)


# -- PDF --------------------------------------------------------------------------------------

_DARK = (29, 29, 27)
_LIGHT = (241, 241, 241)
_GRID = (150, 150, 150)


class _Pdf(FPDF):
    def __init__(self, form: CerfaForm):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.form = form
        self.family, self.unicode = _font(self)

    def text_of(self, text: str) -> str:
        if self.unicode:
            return text
        return text.translate(_ASCII).encode("cp1252", errors="replace").decode("cp1252")

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(self.family, size=7)
        self.set_text_color(90, 90, 90)
        self.cell(0, 4, self.text_of(f"{self.form.title} {self.form.cerfa_number} {_contract_id(self.form)}"),
                  align="L")
        self.set_x(self.l_margin)
        self.cell(0, 4, f"{self.page_no()}/{{nb}}", align="R")
        self.set_text_color(0, 0, 0)


def _font(pdf: FPDF) -> tuple[str, bool]:
    """(family, Unicode): DejaVu Sans when the OS has it, else the core Helvetica in windows-1252."""
    if DEJAVU.is_file():
        try:
            pdf.add_font("DejaVu", "", str(DEJAVU))
            pdf.add_font("DejaVu", "B", str(DEJAVU_BOLD if DEJAVU_BOLD.is_file() else DEJAVU))
            return "DejaVu", True
        except Exception:  # noqa: BLE001 - an unreadable font file: the core font still writes the form
            pass
    pdf.core_fonts_encoding = "windows-1252"
    return "helvetica", False


def _contract_id(form: CerfaForm) -> str:
    return form.header[0].value if form.header else ""


def render_pdf(form: CerfaForm) -> bytes:
    """The form as an A4 PDF: the same sections, boxed, label and value on each row; a section
    that does not fit goes on the next page with its title, long sections split between rows."""
    pdf = _Pdf(form)
    t = pdf.text_of
    pdf.set_title(t(form.document_title))
    pdf.set_subject(t(f"{form.cerfa_number} - {form.legal_basis}"))
    pdf.set_keywords(f"contrat d'apprentissage, CERFA FA13, {_contract_id(form)}")
    pdf.set_author("Parcours")
    pdf.set_creator("Parcours")
    pdf.set_lang("fr-FR")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(True, margin=14)
    pdf.add_page()

    # the head: the title, the legal basis, the cerfa number boxed on the right
    width = pdf.epw
    top = pdf.get_y()
    pdf.set_line_width(0.4)
    pdf.rect(pdf.l_margin, top, width, 16)
    pdf.set_xy(pdf.l_margin + 3, top + 2)
    pdf.set_font(pdf.family, "B", 15)
    pdf.cell(width - 60, 7, t(form.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_x(pdf.l_margin + 3)
    pdf.set_font(pdf.family, "", 8)
    pdf.cell(width - 60, 5, t(form.legal_basis))
    pdf.set_font(pdf.family, "B", 10)
    pdf.set_xy(pdf.l_margin + width - 48, top + 4)
    pdf.cell(44, 8, t(form.cerfa_number), border=1, align="C")
    pdf.set_xy(pdf.l_margin, top + 19)
    pdf.set_line_width(0.2)

    _rows_table(pdf, [(r.label, r.value, 0, False) for r in form.header], shade_labels=True)
    pdf.ln(3)
    for section in form.sections:
        _section(pdf, section)
    _signatures(pdf, form)
    pdf.set_font(pdf.family, "", 7)
    pdf.multi_cell(0, 3.5, t(form.notice), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _title_bar(pdf: _Pdf, title: str, keep: float) -> None:
    """The section's title, on the next page when it and ``keep`` millimetres after it do not fit."""
    if pdf.will_page_break(7 + keep):
        pdf.add_page()
    pdf.set_font(pdf.family, "B", 9.5)
    pdf.set_fill_color(*_DARK)
    pdf.set_text_color(255, 255, 255)
    pdf.cell(0, 6.5, pdf.text_of(title), border=1, fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)


def _section(pdf: _Pdf, section: Section) -> None:
    _title_bar(pdf, section.title, keep=18)
    if section.rows:
        _rows_table(pdf, [(r.label, r.value, r.depth, r.group) for r in section.rows])
    if section.table is not None:
        _pay_table(pdf, section)
    pdf.ln(3)


def _rows_table(pdf: _Pdf, rows: list[tuple[str, str, int, bool]], shade_labels: bool = False) -> None:
    t = pdf.text_of
    pdf.set_draw_color(*_GRID)
    pdf.set_font(pdf.family, "", 8)
    label_style = FontFace(fill_color=_LIGHT) if shade_labels else None
    group_style = FontFace(emphasis="BOLD", fill_color=_LIGHT)
    with pdf.table(col_widths=(44, 56), first_row_as_headings=False, line_height=4.2,
                   borders_layout=TableBordersLayout.ALL, padding=(0.8, 1.5, 0.8, 1.5),
                   text_align=("LEFT", "LEFT")) as table:
        for label, value, depth, group in rows:
            indent = "    " * depth
            row = table.row()
            if group:
                row.cell(t(indent + label), colspan=2, style=group_style)
            else:
                row.cell(t(indent + label), style=label_style)
                row.cell(t(value), style=FontFace(emphasis="BOLD"))
    pdf.set_draw_color(0, 0, 0)


def _pay_table(pdf: _Pdf, section: Section) -> None:
    t = pdf.text_of
    table_data = section.table
    pdf.set_draw_color(*_GRID)
    pdf.set_font(pdf.family, "", 8)
    lines = table_data.lines or [[""] * len(table_data.columns)]
    with pdf.table(first_row_as_headings=True, line_height=4.2, borders_layout=TableBordersLayout.ALL,
                   headings_style=FontFace(emphasis=None, fill_color=_LIGHT), padding=(0.8, 1.5, 0.8, 1.5),
                   repeat_headings=1) as table:
        heading = table.row()
        for column in table_data.columns:
            heading.cell(t(column))
        for line in lines:
            row = table.row()
            for cell in line:
                row.cell(t(cell), style=FontFace(emphasis="BOLD"))
    pdf.set_draw_color(0, 0, 0)


def _signatures(pdf: _Pdf, form: CerfaForm) -> None:
    _title_bar(pdf, form.signatures_title, keep=26)
    pdf.set_font(pdf.family, "", 8)
    width = pdf.epw / len(form.signatures)
    top = pdf.get_y()
    for i, who in enumerate(form.signatures):
        x = pdf.l_margin + i * width
        pdf.rect(x, top, width, 24)
        pdf.set_xy(x + 1.5, top + 1)
        pdf.multi_cell(width - 3, 3.8, pdf.text_of(who))
    pdf.set_xy(pdf.l_margin, top + 27)
