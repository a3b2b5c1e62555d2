"""Free text → taxonomy ids: the rules of market/needs/understanding.py, and its endpoint."""

from __future__ import annotations

import pytest

from catalog.taxonomy import vocabulary
from market.needs.understanding import (
    CAPABILITY_PHRASES,
    INDUSTRY_PHRASES,
    PAIN_POINTS,
    PRICING_PHRASES,
    PROTOCOL_PHRASES,
    guess_protocol,
    understand,
)
from tests.support import Api


def _ids(matches: object) -> list[str]:
    return [m.id for m in matches]  # type: ignore[attr-defined]


def test_injection_moulding_data_acquisition_on_siemens_1200() -> None:
    result = understand("注塑 数采 西门子S7-1200")

    assert _ids(result.capabilities) == ["cap.data_acquisition"]
    assert result.capabilities[0].matched == "数采"
    assert result.capabilities[0].source == "term"
    assert _ids(result.protocols) == ["proto.s7.isotcp"]
    assert result.protocols[0].matched == "西门子S7-1200"
    assert result.industry_hint is not None
    assert (result.industry_hint.code, result.industry_hint.matched) == ("29", "注塑")
    assert result.not_understood == ()


def test_mes_paid_monthly_means_mes_and_subscription() -> None:
    result = understand("MES 按月付费")

    assert _ids(result.capabilities) == ["cap.mes"]
    assert _ids(result.pricing_models) == ["subscription"]
    assert result.pricing_models[0].matched == "按月付费"


@pytest.mark.parametrize(
    ("text", "protocol"),
    [
        ("西门子 1200", "proto.s7.isotcp"),
        ("西门子1500", "proto.s7.isotcp"),
        ("Siemens S7-300", "proto.s7.s7_300_400"),
        ("西门子PLC", "proto.s7"),
        ("OPC-UA", "proto.opcua"),
        ("opc ua", "proto.opcua"),
        ("发那科", "proto.fanuc_focas"),
        ("三菱 FX5U", "proto.mitsubishi_mc"),
        ("485", "proto.modbus_rtu"),
    ],
)
def test_protocols_are_resolved_from_brands_models_and_aliases(text: str, protocol: str) -> None:
    assert _ids(understand(text).protocols) == [protocol]


def test_matched_words_are_shown_as_the_user_typed_them() -> None:
    result = understand("西门子 1200，Modbus RTU，ＭＥＳ")

    assert [p.matched for p in result.protocols] == ["西门子 1200", "Modbus RTU"]
    # Full-width letters are folded (NFKC), but the case is the user's.
    assert result.capabilities[0].matched == "MES"


def test_invisible_characters_from_copy_paste_do_not_split_words() -> None:
    result = understand("想做数\u200b采，\u00adMES")

    assert [(m.id, m.matched) for m in result.capabilities] == [
        ("cap.data_acquisition", "数采"),
        ("cap.mes", "MES"),
    ]


@pytest.mark.parametrize(
    ("text", "capabilities", "scene"),
    [
        ("设备停机多", ["cap.predictive_maint", "cap.data_acquisition"], "scene.equipment"),
        ("最近质量不稳定", ["cap.quality_vision", "cap.qms"], "scene.quality"),
        ("能耗高", ["cap.energy_mgmt"], "scene.energy"),
        ("排产靠经验", ["cap.aps"], "scene.planning"),
        ("库存不准", ["cap.wms"], "scene.warehousing"),
    ],
)
def test_pain_points_in_plain_words_map_to_capabilities(
    text: str, capabilities: list[str], scene: str
) -> None:
    result = understand(text)

    assert _ids(result.capabilities) == capabilities
    assert {m.source for m in result.capabilities} == {"pain_point"}
    assert _ids(result.scenes) == [scene]
    assert len(result.pain_points) == 1
    assert result.pain_points[0].capabilities == tuple(capabilities)


def test_an_owner_paragraph_is_understood_part_by_part() -> None:
    text = "我们是做注塑的，有20台海天注塑机，想做数采，西门子1200的PLC，排产靠经验，设备停机多"

    result = understand(text)

    assert _ids(result.capabilities) == ["cap.data_acquisition", "cap.aps", "cap.predictive_maint"]
    assert _ids(result.protocols) == ["proto.s7.isotcp"]
    assert [p.id for p in result.pain_points] == ["pain.manual_scheduling", "pain.downtime"]
    assert result.industry_hint is not None
    assert result.industry_hint.code == "29"
    # Filler (我们, 的, 有, 台, PLC …) is dropped; the brand name is what remains unexplained.
    assert result.not_understood == ("20台海天",)


def test_the_longest_phrase_wins() -> None:
    qms = understand("上一套质量管理系统")
    assert _ids(qms.capabilities) == ["cap.qms"]
    assert qms.scenes == ()

    scene = understand("质量管理")
    assert _ids(scene.scenes) == ["scene.quality"]
    assert scene.capabilities == ()


def test_a_phrase_belonging_to_a_capability_and_a_scene_yields_both() -> None:
    result = understand("能耗管理")

    assert _ids(result.capabilities) == ["cap.energy_mgmt"]
    assert _ids(result.scenes) == ["scene.energy"]


def test_phrases_do_not_run_across_punctuation() -> None:
    assert understand("数，采").capabilities == ()
    assert _ids(understand("数 采").capabilities) == ["cap.data_acquisition"]


def test_latin_words_match_whole_only() -> None:
    # CAM (a PLM/CAD synonym) and MES must not be found inside longer words.
    assert understand("camera messages").capabilities == ()


def test_bare_numbers_are_not_industry_codes_but_lettered_codes_are() -> None:
    assert understand("20台机床 34").industries[0].code == "342"
    assert [i.code for i in understand("C29 和 C3411").industries] == ["29", "3411"]
    assert understand("20 台").industries == ()


def test_polite_phrases_do_not_become_a_consulting_need() -> None:
    result = understand("想咨询一下ERP")

    assert _ids(result.capabilities) == ["cap.erp"]


def test_empty_and_meaningless_text_understands_nothing() -> None:
    assert understand("") == understand("   ")
    result = understand("你好世界")
    assert result.capabilities == ()
    assert result.protocols == ()
    assert result.not_understood == ("你好世界",)


@pytest.mark.parametrize(
    ("brand", "controller", "expected"),
    [
        ("西门子", "S7-1200", "proto.s7.isotcp"),
        ("Siemens", None, "proto.s7"),
        ("FANUC", "0i-MF", "proto.fanuc_focas"),
        ("海天", "", None),
        (None, None, None),
    ],
)
def test_protocol_is_guessed_from_brand_and_controller(
    brand: str | None, controller: str | None, expected: str | None
) -> None:
    assert guess_protocol(brand, controller) == expected


def test_every_table_names_known_taxonomy_ids() -> None:
    capabilities = vocabulary("capabilities")
    scenes = vocabulary("scenes")
    for pain in PAIN_POINTS:
        assert pain.capabilities, pain.id
        assert all(c in capabilities for c in pain.capabilities), pain.id
        assert all(s in scenes for s in pain.scenes), pain.id
    assert all(c in capabilities for c, _ in CAPABILITY_PHRASES)
    assert all(p in vocabulary("protocols") for p, _ in PROTOCOL_PHRASES)
    assert all(p in vocabulary("pricing_models") for p, _ in PRICING_PHRASES)
    from catalog.taxonomy import describe_industry

    assert all(describe_industry(code) is not None for code, _ in INDUSTRY_PHRASES)


def test_understand_endpoint_is_open_to_anonymous_callers(api: Api) -> None:
    response = api.client.post("/api/v1/needs/understand", json={"text": "注塑 数采 西门子 1200"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["capabilities"] == [
        {
            "id": "cap.data_acquisition",
            "zh": "设备联网与数据采集",
            "en": "Device connectivity and data acquisition",
            "matched": "数采",
            "source": "term",
        }
    ]
    assert [(p["id"], p["matched"]) for p in body["protocols"]] == [
        ("proto.s7.isotcp", "西门子 1200")
    ]
    assert body["industry_hint"]["code"] == "29"
    assert body["not_understood"] == []


def test_understand_endpoint_serves_logged_in_users_of_any_role(api: Api) -> None:
    provider = api.provider()

    response = api.client.post(
        "/api/v1/needs/understand", json={"text": "能耗高"}, headers=provider.headers
    )

    assert response.status_code == 200
    assert response.json()["pain_points"][0]["id"] == "pain.high_energy"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"text": ""}, "body.text"), ({"text": "x" * 5001}, "body.text"), ({}, "body.text")],
)
def test_understand_endpoint_validates_the_text(api: Api, body: dict[str, str], field: str) -> None:
    response = api.client.post("/api/v1/needs/understand", json=body)

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == field
