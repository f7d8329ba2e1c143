"""The certificate as a holder and a checker see it: issuer, number, name, candidate number, occupation
with its code, level, date, seal and signature slots, a QR code to the public verification address,
and the public /verify page."""
from __future__ import annotations

import io

import segno
from pypdf import PdfReader

from simulator.sittings.models import SittingCandidate
from tests.conftest import PASSWORD, publish_with_candidate
from tests.helpers import login


def _published(users, sitting, name="王<b>芳") -> SittingCandidate:
    return publish_with_candidate(users, sitting, name)


def _qr_matrix_of(image, version_size: int, border: int = 4) -> list[list[bool]]:
    """Dark/light of each module of an embedded QR image, sampled at module centres."""
    gray = image.convert("L")
    modules = version_size + 2 * border
    step = gray.width / modules
    return [[gray.getpixel((int((border + c + 0.5) * step), int((border + r + 0.5) * step))) < 128
             for c in range(version_size)] for r in range(version_size)]


def test_certificate_holds_what_a_certificate_holds(app, users, sitting, tmp_path):
    seal = tmp_path / "seal.png"
    segno.make_qr("seal").save(str(seal), kind="png", scale=4, dark="red")   # any PNG will do as a seal image
    app.config.update(PUBLIC_BASE_URL="https://jd.example.cn", CERT_ORGANISATION="某市<i>职业技能</i>鉴定中心",
                      OCCUPATION_CODE="4-04-05-03", CERT_SEAL_IMAGE=str(seal),
                      CERT_SIGNATURE_IMAGE=str(tmp_path / "none.png"))
    candidate = _published(users, sitting)
    number = candidate.certificate_number
    trainee = app.test_client()
    login(trainee, "trainee1", PASSWORD)
    resp = trainee.get(f"/my/sittings/{sitting.id}/certificate.pdf")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    page = PdfReader(io.BytesIO(resp.data)).pages[0]
    text = page.extract_text()
    url = f"https://jd.example.cn/verify/{number}"
    for expected in ("职业技能等级证书", "某市<i>职业技能</i>鉴定中心", number, "王<b>芳",
                     candidate.report["candidate_number"], "呼叫服务员", "职业编码 4-04-05-03", "四级",
                     candidate.report["issued"], "负责人签字", "（盖章）", url):
        assert expected in text, expected
    assert "127.0.0.1" not in text and "localhost" not in text

    with app.test_request_context("/", base_url="http://127.0.0.1:5000"):
        from simulator.sittings.views import verification_url
        assert verification_url(number) == url, "the configured public address, not the request's"
    images = page.images
    assert len(images) == 2, "the QR code and the seal (the missing signature file leaves its slot empty)"
    expected_qr = segno.make_qr(url, error="m")
    size = expected_qr.symbol_size(border=0)[0]
    embedded = max(images, key=lambda im: _qr_matrix_of(im.image, size) == [[bool(v) for v in row]
                                                                             for row in expected_qr.matrix])
    assert _qr_matrix_of(embedded.image, size) == [[bool(v) for v in row] for row in expected_qr.matrix], \
        "the QR code on the certificate encodes the verification URL"

    assessor = app.test_client()
    login(assessor, "assessor1", PASSWORD)
    assert assessor.get(f"/sittings/{sitting.id}/candidates/{candidate.id}/certificate.pdf").status_code == 200
    anonymous = app.test_client().get(f"/sittings/{sitting.id}/candidates/{candidate.id}/certificate.pdf")
    assert anonymous.status_code in (302, 401)


def test_public_verify_page_has_a_form_and_answers_a_typed_number(app, users, sitting, client):
    candidate = _published(users, sitting, name="赵敏")
    number = candidate.certificate_number
    form = client.get("/verify").get_data(as_text=True)
    assert 'data-testid="verify-form"' in form and 'name="number"' in form
    resp = client.get(f"/verify?number={number.lower()}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/verify/{number}")
    page = client.get(f"/verify/{number}").get_data(as_text=True)
    assert "证书有效" in page and "赵敏" in page and "四级" in page and "4-04-05-03" in page
    assert "82.0" not in page, "no scores on the public page"
    missing = client.get("/verify/HJ2026NOPE")
    assert missing.status_code == 404 and "没有编号为 HJ2026NOPE 的证书" in missing.get_data(as_text=True)
