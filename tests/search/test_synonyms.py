"""Synonym groups and their query-side expansion (MES ↔ 制造执行系统, OPC UA spellings, …)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from search.synonyms import (
    EXTRA_GROUPS,
    SynonymTable,
    form_key,
    groups_from_terms,
    table_from_terms,
)
from search.text import document_terms, highlight, matches, parse_query, split_words

EXTRAS = SynonymTable(EXTRA_GROUPS)


@dataclass(frozen=True)
class StandInTerm:
    """Shaped like catalog.taxonomy.Term, which search must not import."""

    id: str
    zh: str
    en: str
    synonyms: tuple[str, ...] = ()


def found(document: str, query: str, table: SynonymTable = EXTRAS) -> bool:
    return matches(parse_query(query, table), document_terms(document))


@pytest.mark.parametrize(
    ("query", "document"),
    [
        ("MES", "为注塑厂实施制造执行系统"),
        ("制造执行系统", "提供MES实施服务"),
        ("erp", "企业资源计划上线"),
        ("等保", "通过等级保护测评"),
        ("上云", "推动企业上云"),
        ("PLM", "产品生命周期管理咨询"),
        ("组态", "SCADA 开发"),
        ("按月付费", "支持订阅制"),
    ],
)
def test_query_finds_documents_that_use_another_form(query: str, document: str) -> None:
    assert found(document, query)


def test_expansion_happens_only_when_a_table_is_given() -> None:
    assert not matches(parse_query("MES"), document_terms("制造执行系统"))


@pytest.mark.parametrize("query", ["数采", "数据采集", "设备联网"])
@pytest.mark.parametrize("document", ["专业数采服务", "工厂数据采集方案", "老旧设备联网改造"])
def test_data_acquisition_forms_find_each_other(query: str, document: str) -> None:
    assert found(document, query)


@pytest.mark.parametrize("form", ["OPC UA", "opc ua", "OPCUA", "OPC-UA", "ＯＰＣ－ＵＡ", "opc/ua"])
def test_opc_ua_spellings_are_one_concept(form: str) -> None:
    assert EXTRAS.lookup(form) == "extra.opcua"
    assert form_key(form) == "opcua"


@pytest.mark.parametrize("query", ["OPC UA", "opc ua", "OPCUA", "OPC-UA"])
@pytest.mark.parametrize("document", ["支持OPC UA采集", "OPCUA服务器", "OPC-UA 网关"])
def test_every_opc_ua_spelling_finds_every_other(query: str, document: str) -> None:
    assert found(document, query)


def test_longest_match_spans_several_query_words() -> None:
    words = split_words("opc ua 网关")
    assert words == ["opc", "ua", "网关"]
    assert EXTRAS.longest_match(words, 0) == ("extra.opcua", 2)
    assert EXTRAS.longest_match(words, 1) is None
    assert EXTRAS.longest_match(words, 2) is None
    assert EXTRAS.longest_match(words, 5) is None


def test_multi_word_form_becomes_one_query_group() -> None:
    query = parse_query("opc ua 网关", EXTRAS)
    assert len(query.must) == 2
    assert ("opcua",) in [phrase.tokens for phrase in query.must[0]]


def test_literal_alternative_keeps_its_prefix_while_typing() -> None:
    (group,) = parse_query("MES", EXTRAS).must
    assert group[0].tokens == ("mes",)
    assert group[0].prefix
    assert not any(phrase.prefix for phrase in group[1:])


def test_expand_returns_the_word_first_then_its_concept_forms() -> None:
    assert EXTRAS.expand("ＭＥＳ") == ["mes", "制造执行系统"]
    assert EXTRAS.expand("制造执行系统") == ["制造执行系统", "mes"]


def test_expand_of_unknown_word_is_the_word_alone() -> None:
    assert EXTRAS.expand("注塑") == ["注塑"]
    assert EXTRAS.lookup("注塑") is None
    assert EXTRAS.forms("no.such.concept") == []


def test_forms_are_normalised_and_deduplicated() -> None:
    table = SynonymTable([("c", ["ＭＥＳ", "MES", "mes", "制造执行系统"])])
    assert table.forms("c") == ["mes", "制造执行系统"]


def test_form_of_two_concepts_looks_up_the_first_and_expands_to_both() -> None:
    table = SynonymTable([("cap.cloud", ["SaaS", "上云"]), ("deploy.saas", ["SaaS", "软件即服务"])])
    assert table.lookup("saas") == "cap.cloud"
    assert table.concepts("SaaS") == ("cap.cloud", "deploy.saas")
    assert table.expand("saas") == ["saas", "上云", "软件即服务"]
    assert table.expand("上云") == ["上云", "saas"]


def test_groups_with_the_same_id_are_merged() -> None:
    table = SynonymTable([("c", ["MES"]), ("c", ["制造执行系统"])])
    assert len(table) == 1
    assert list(table) == ["c"]
    assert table.forms("c") == ["mes", "制造执行系统"]


def test_bare_string_as_forms_is_rejected() -> None:
    with pytest.raises(TypeError):
        SynonymTable([("c", "MES")])


def test_table_from_terms_reads_term_shaped_objects() -> None:
    terms = [
        StandInTerm("cap.mes", "制造执行系统", "Manufacturing execution system (MES)", ("MES",)),
        StandInTerm("proto.rtu", "Modbus RTU（串口）", "Modbus RTU (serial)", ("RS-485",)),
    ]
    table = table_from_terms(terms, extra=())
    assert table.forms("cap.mes") == ["制造执行系统", "manufacturing execution system", "mes"]
    # The bracketed gloss is dropped, so the name people type is a form of its own.
    assert table.forms("proto.rtu") == ["modbus rtu", "rs-485"]
    assert table.lookup("rs485") == "proto.rtu"
    assert found("支持 RS485 接口", "Modbus RTU", table)


def test_table_from_terms_adds_the_built_in_groups_after_the_terms() -> None:
    table = table_from_terms([StandInTerm("cap.mes", "制造执行系统", "MES system", ("MES",))])
    assert table.lookup("MES") == "cap.mes"
    assert table.concepts("MES") == ("cap.mes", "extra.mes")
    assert table.lookup("等保") == "extra.mlps"


def test_table_from_terms_skips_objects_without_an_id_and_blank_names() -> None:
    @dataclass
    class Partial:
        id: object
        zh: str = ""

    groups = groups_from_terms([Partial(id=None, zh="无编号"), Partial(id="x", zh="  "), object()])
    assert groups == [("x", ())]


def test_expanded_query_highlights_the_form_the_document_uses() -> None:
    fragment = highlight("本项目上线制造执行系统", parse_query("MES", EXTRAS))
    assert fragment == "本项目上线<mark>制造执行系统</mark>"


def test_built_in_groups_cover_the_pairs_named_in_the_domain_notes() -> None:
    for first, second in [
        ("上云", "企业上云"),
        ("等保", "等级保护"),
        ("数采", "设备联网"),
        ("MES", "制造执行系统"),
        ("ERP", "企业资源计划"),
        ("WMS", "仓储管理"),
        ("APS", "高级计划排程"),
        ("PLM", "产品生命周期管理"),
        ("SCADA", "组态"),
        ("OPC UA", "OPC-UA"),
        ("按月付费", "订阅"),
    ]:
        assert EXTRAS.lookup(first) is not None
        assert EXTRAS.lookup(first) == EXTRAS.lookup(second)
