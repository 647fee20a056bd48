"""The invoice as a printable page (services/financing/adapters/invoice_page.py): the mentions a
French invoice carries, amounts written the French way, everything typed escaped, the credit note
of a cancelled invoice (issue 16)."""
import html as markup
from datetime import date
from decimal import Decimal

from services.financing.adapters.invoice_page import (EMPLOYER_CONTRIBUTION, build_page, euros, french_date,
                                                      opco_name, render_invoice_html, siret)
from services.financing.domain.billing import Certificate, Invoice, Line

CID = "6c1f0a56-8f38-4a57-9d0e-3f1b1f0d2a11"
NNBSP, NBSP = "\u202f", "\u00a0"


def invoice(**over):
    """A hand-built invoice as Invoice.as_dict() gives it: a first advance with the employer's
    contribution deducted, frais annexes, a regularisation netted."""
    inv = Invoice(
        "0b3c5e7a-1111-2222-3333-444455556666", "F-0751234J-2025-00007", "0751234J", "98765432400019", "ATLAS",
        date(2025, 10, 1), date(2025, 10, 31),
        (Line("advance", Decimal("3250.00"), CID, 1, 1, label="Avance 1, année de financement 1",
              employer_contribution=Decimal("750.00")),
         Line("fee", Decimal("120.50"), CID, 1, 1, claim_id="c-1", label="Frais annexes (meals, 2025-09-12, x10)"),
         Line("regularisation", Decimal("-100.00"), "7d2e0b67-0000-0000-0000-000000000000", 1, 2,
              regularisation_id="r-1", label="Régularisation : rupture au 2025-06-30")),
        certificates=(Certificate("cert-1", "realisation", "intermediate", CID, 1, 1, date(2025, 9, 1),
                                  date(2025, 9, 30), Decimal("70.50"), "CR-2025-0042", date(2025, 10, 1)),),
        version=2)
    return {**inv.as_dict(), **over}


def test_euros_dates_and_siret_the_french_way():
    assert euros("1234.56") == f"1{NNBSP}234,56{NBSP}€"
    assert euros(Decimal("759.78")) == f"759,78{NBSP}€"
    assert euros("-2800.00") == f"-2{NNBSP}800,00{NBSP}€"
    assert euros("1234567.8") == f"1{NNBSP}234{NNBSP}567,80{NBSP}€"
    assert french_date("2025-10-31") == "31/10/2025"
    assert siret("98765432400019") == f"987{NBSP}654{NBSP}324{NBSP}00019"
    assert siret(None) == "non renseigné"


def test_the_opco_is_named_from_the_reference_table_else_by_its_code():
    assert opco_name("ATLAS") == "OPCO ATLAS"
    assert opco_name("OPCOEP") == "OPCO entreprises de proximité"
    assert opco_name("NOPE") == "NOPE"


def test_the_page_carries_the_mentions_of_a_french_invoice():
    html = render_invoice_html(invoice())
    assert html.startswith("<!doctype html>") and '<html lang="fr">' in html
    assert "@page{size:A4" in html and "@media print" in html
    assert "<script" not in html and "<link" not in html and "src=" not in html   # self-contained
    for mention in ["FACTURE", "N° F-0751234J-2025-00007", "Date d'émission", "01/10/2025",
                    "Date d'échéance", "31/10/2025", "ÉMETTEUR", "0751234J", f"987{NBSP}654{NBSP}324{NBSP}00019",
                    "DESTINATAIRE", "OPCO ATLAS", "ATLAS", "Désignation", "Année de financement", "Avance",
                    "Montant HT", CID, "Total HT", "TVA", "Total TTC", "TVA non applicable",
                    "article 261-4-4° a du code général des impôts", "Paiement à 30 jours",
                    "pénalités de retard", f"40{NBSP}€", "indemnité forfaitaire pour frais de recouvrement",
                    "L441-10", "D441-5", "Pas d'escompte", "Net à payer", "Certificat de réalisation",
                    "CR-2025-0042", "du 01/09/2025 au 30/09/2025", f"70,5{NBSP}h"]:
        assert mention in markup.unescape(html), mention
    assert "<td>Avance 1, année de financement 1" in html
    assert f"{EMPLOYER_CONTRIBUTION} : 750,00{NBSP}€" in html
    for amount in ["3\u202f250,00", "120,50", "-100,00", "3\u202f270,50"]:   # lines, then the total
        assert amount + f"{NBSP}€" in html, amount
    assert html.count(f"3{NNBSP}270,50{NBSP}€") >= 3     # Total HT, Total TTC, net à payer
    assert "AVOIR" not in html and "ANNULÉE" not in html


def test_everything_typed_is_escaped():
    inv = invoice()
    inv["lines"][1]["label"] = "<script>alert('x')</script> & co"
    inv["certificates"][0]["reference"] = '<img src=x onerror="y">'
    html = render_invoice_html(inv, opco_display_name="<b>OPCO</b>")
    assert "<script>" not in html and "<img" not in html and "<b>OPCO" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co" in html
    assert "&lt;img src=x onerror=&#34;y&#34;&gt;" in html
    assert "&lt;b&gt;OPCO&lt;/b&gt;" in html


def test_a_cancelled_invoice_shows_its_credit_note():
    inv = invoice(status="cancelled", outstanding="0.00", credit_note={
        "number": "A-0751234J-2025-00008", "issued_on": "2025-10-02", "reason": "Erreur <de> montant",
        "total": "-3270.50"})
    html = render_invoice_html(inv)
    assert "AVOIR" in html and "FACTURE ANNULÉE PAR L'AVOIR N° A-0751234J-2025-00008" in html
    assert "Annulée par avoir" in html
    for mention in ["Numéro d'avoir", "A-0751234J-2025-00008", "02/10/2025", "Erreur &lt;de&gt; montant",
                    f"-3{NNBSP}270,50{NBSP}€", "F-0751234J-2025-00007 du 01/10/2025"]:
        assert mention in html, mention
    assert "Net à payer" not in html      # nothing is owed on a cancelled invoice


def test_status_and_what_is_left_to_pay():
    page = build_page(invoice(status="rejected", decided_on="2025-10-05", motive="certificate_missing",
                              comment="CR absent"))
    assert page.status_detail == "Rejetée par l'OPCO le 05/10/2025 (motif : certificat manquant ; CR absent)"
    page = build_page(invoice(paid="1000.00", outstanding="2270.50", payment_status="partly_paid",
                              allocations=[{"payment_id": "p-1", "amount": "1000.00", "paid_on": "2025-10-20"}]))
    assert page.status_detail == "Émise ; partiellement réglée"
    html = render_invoice_html(invoice(paid="1000.00", outstanding="2270.50", payment_status="partly_paid",
                                       allocations=[{"payment_id": "p-1", "amount": "1000.00",
                                                     "paid_on": "2025-10-20"}]))
    assert "RÈGLEMENTS REÇUS" in html and "20/10/2025" in html and f"2{NNBSP}270,50{NBSP}€" in html


def test_a_bare_invoice_still_renders():
    html = render_invoice_html({"number": "F-X-2025-00001", "opco": "AKTO", "lines": []})
    assert "Aucune ligne" in html and "non renseigné" in html
    assert "OPCO entreprises et salariés des services à forte intensité de main-d&#39;œuvre" in html
