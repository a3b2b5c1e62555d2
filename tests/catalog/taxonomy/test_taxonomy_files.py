import json
import re
from importlib import resources

import pytest

from catalog.taxonomy import (
    VOCABULARY_NAMES,
    Term,
    Vocabulary,
    taxonomy_version,
    validate_codes,
    vocabulary,
)


def _raw(stem: str) -> dict[str, object]:
    text = resources.files("catalog.taxonomy").joinpath(f"data/{stem}.json").read_text("utf-8")
    data = json.loads(text)
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("name", VOCABULARY_NAMES)
def test_every_vocabulary_loads_with_version_and_names(name: str) -> None:
    vocab = vocabulary(name)
    assert isinstance(vocab, Vocabulary)
    assert vocab.name == name
    assert re.fullmatch(r"\d{4}\.\d+", vocab.version)
    assert vocab.source.strip()
    assert len(vocab.terms) > 0
    for term in vocab.terms:
        assert term.id.strip()
        assert term.zh.strip(), term.id
        assert term.en.strip(), term.id


@pytest.mark.parametrize("name", VOCABULARY_NAMES)
def test_ids_are_unique_in_the_files(name: str) -> None:
    items = _raw(name)["items"]
    assert isinstance(items, list)
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids))
    assert vocabulary(name).ids() == frozenset(ids)


def test_size_rules_file_has_the_common_envelope() -> None:
    data = _raw("size_rules")
    assert {"version", "source", "items"} <= data.keys()


def test_unknown_vocabulary_raises_key_error() -> None:
    with pytest.raises(KeyError):
        vocabulary("size_rules")
    with pytest.raises(KeyError):
        vocabulary("nope")


def test_vocabulary_is_cached() -> None:
    assert vocabulary("capabilities") is vocabulary("capabilities")


def test_vocabulary_lookup_helpers() -> None:
    caps = vocabulary("capabilities")
    mes = caps.get("cap.mes")
    assert mes is not None
    assert "MES" in mes.synonyms
    assert "cap.mes" in caps
    assert "cap.nope" not in caps
    assert 42 not in caps
    assert caps.get("cap.nope") is None


def test_as_dicts_is_json_ready_and_detached() -> None:
    dicts = vocabulary("scenes").as_dicts()
    json.dumps(dicts, ensure_ascii=False)
    first = dicts[0]
    assert first["id"] == "scene.product_design"
    assert first["group"]["id"] == "product_lifecycle"
    first["levels"].clear()
    assert len(vocabulary("scenes").as_dicts()[0]["levels"]) == 4


def test_term_extra_is_read_only_and_ignored_by_equality() -> None:
    term = vocabulary("capabilities").get("cap.mes")
    assert term is not None
    with pytest.raises(TypeError):
        term.extra["scenes"] = ()  # type: ignore[index]
    twin = Term(id=term.id, zh=term.zh, en=term.en, synonyms=term.synonyms, parent=term.parent)
    assert twin == term
    assert hash(twin) == hash(term)


def test_there_are_23_capabilities() -> None:
    assert len(vocabulary("capabilities")) == 23


def test_capability_scenes_exist() -> None:
    scenes = vocabulary("scenes").ids()
    for term in vocabulary("capabilities"):
        assert set(term.extra["scenes"]) <= scenes, term.id


def test_every_scene_is_served_by_some_capability() -> None:
    served = {scene for term in vocabulary("capabilities") for scene in term.extra["scenes"]}
    # cap.diagnosis lists every scene, so check the specialised capabilities too.
    specialised = {
        scene
        for term in vocabulary("capabilities")
        if term.id != "cap.diagnosis"
        for scene in term.extra["scenes"]
    }
    assert served == vocabulary("scenes").ids()
    assert specialised == vocabulary("scenes").ids()


def test_replaced_capabilities_point_at_live_ids() -> None:
    caps = vocabulary("capabilities")
    for term in caps:
        replacement = term.extra.get("replaced_by")
        if replacement is not None:
            assert replacement in caps, term.id


def test_scenes_have_four_levels_and_a_group() -> None:
    scenes = vocabulary("scenes")
    assert len(scenes) == 16
    groups = {term.extra["group"]["id"] for term in scenes}
    assert groups == {"product_lifecycle", "production", "supply_chain", "management"}
    for term in scenes:
        levels = term.extra["levels"]
        assert [level["level"] for level in levels] == [1, 2, 3, 4]
        assert all(level["zh"] and level["en"] for level in levels)


def test_protocol_parents_exist() -> None:
    protocols = vocabulary("protocols")
    children = [term for term in protocols if term.parent is not None]
    assert children
    for term in children:
        assert term.parent in protocols, term.id
        assert term.id.startswith(f"{term.parent}."), term.id


def test_listed_protocol_ids_are_present() -> None:
    expected = {
        "proto.modbus_tcp",
        "proto.modbus_rtu",
        "proto.modbus_rtu_tcp",
        "proto.modbus_ascii",
        "proto.opcua",
        "proto.opc_da",
        "proto.ethernet_ip",
        "proto.s7",
        "proto.s7.isotcp",
        "proto.s7.s7_300_400",
        "proto.s7.mpi",
        "proto.s5_fetchwrite",
        "proto.ab",
        "proto.omron_fins",
        "proto.mitsubishi_mc",
        "proto.iec104",
        "proto.iec61850",
        "proto.dlt645",
        "proto.bacnet",
        "proto.mqtt",
        "proto.sparkplug_b",
        "proto.fanuc_focas",
        "proto.profinet",
    }
    assert expected <= vocabulary("protocols").ids()


def test_region_parents_are_provinces() -> None:
    regions = vocabulary("regions")
    for term in regions:
        if term.extra["level"] == "city":
            parent = regions.get(term.parent or "")
            assert parent is not None, term.id
            assert parent.extra["level"] == "province"
            assert term.id[:2] == parent.id[:2]
        else:
            assert term.parent is None


def test_industry_terms_are_the_manufacturing_divisions() -> None:
    industries = vocabulary("industries")
    assert [term.id for term in industries] == [str(n) for n in range(13, 44)]
    assert all(term.extra["section"] == "C" for term in industries)


def test_small_enumerations_have_the_expected_ids() -> None:
    assert vocabulary("sme_sizes").ids() == {"micro", "small", "medium", "large"}
    assert vocabulary("deployments").ids() == {"saas", "on_premises", "hybrid", "edge_device"}
    assert vocabulary("pricing_models").ids() == {
        "one_off",
        "subscription",
        "metered",
        "lease",
        "lease_to_own",
        "outcome",
    }
    assert vocabulary("provider_types").ids() == {
        "integrator",
        "product",
        "chain_leader",
        "lead_unit",
        "partner",
        "platform",
        "enabler",
        "expert",
    }
    assert {"zjtx", "little_giant", "high_tech", "tech_sme"} <= vocabulary("policy_tags").ids()


def test_taxonomy_version_is_a_stable_short_digest() -> None:
    first = taxonomy_version()
    assert re.fullmatch(r"[0-9a-f]{12}", first)
    taxonomy_version.cache_clear()
    assert taxonomy_version() == first


def test_validate_codes_reports_unknown_codes_in_order() -> None:
    assert validate_codes("capabilities", ["cap.mes", "cap.erp"]) == []
    assert validate_codes("capabilities", ["cap.x", "cap.mes", "cap.y"]) == ["cap.x", "cap.y"]
    assert validate_codes("regions", ["320400", "320412", "441900"]) == ["320412"]
    assert validate_codes("protocols", []) == []


def test_validate_codes_accepts_deeper_industry_codes() -> None:
    assert validate_codes("industries", ["34", "C3411", "3525", "65", "A34", "12"]) == [
        "65",
        "A34",
        "12",
    ]


def test_validate_codes_unknown_vocabulary() -> None:
    with pytest.raises(KeyError):
        validate_codes("colours", ["red"])
