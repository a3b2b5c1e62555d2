"""The shared text pipeline: normalisation, CJK bigrams, Latin compounds, pinyin for names,
query parsing, highlighting and typo tolerance. Pure functions, so no database is needed."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from search.text import (
    Phrase,
    Query,
    document_terms,
    edit_distance_at_most,
    highlight,
    matches,
    name_terms,
    normalise,
    parse_query,
    query_terms,
    split_words,
    suggest,
    tokens,
    typo_candidates,
)

COMPANY = "常州示例精工科技有限公司"


def phrase_in(doc_tokens: Sequence[str], phrase: Sequence[str]) -> bool:
    """Whether ``phrase`` occurs as consecutive tokens of ``doc_tokens``."""
    width = len(phrase)
    return any(
        list(doc_tokens[start : start + width]) == list(phrase)
        for start in range(len(doc_tokens) - width + 1)
    )


def found(document: str, query: str, *, name: bool = False) -> bool:
    terms = name_terms(document) if name else document_terms(document)
    return matches(parse_query(query), terms)


# --- normalisation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＭＥＳ", "mes"),
        ("５Ｇ专网", "5g专网"),
        ("数字化\u3000转型", "数字化 转型"),
        ("  ＥＲＰ\u3000\u3000系统\n ", "erp 系统"),
        ("Ｓ７－１２００", "s7-1200"),
    ],
)
def test_normalise_folds_full_width_forms_and_collapses_whitespace(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_normalise_drops_invisible_characters_pasted_from_web_pages() -> None:
    assert normalise("精\u200b工\ufeff科\u00ad技") == "精工科技"


def test_full_width_query_finds_half_width_document_and_back() -> None:
    assert found("提供MES与5G专网", "ＭＥＳ")
    assert found("提供ＭＥＳ与５Ｇ专网", "5g")


# --- tokens -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("数字化转型", ["数字", "字化", "化转", "转型", "型"]),
        ("企业上云", ["企业", "业上", "上云", "云"]),
        ("云", ["云"]),
        ("二〇二四年", ["二〇", "〇二", "二四", "四年", "年"]),
        ("数字化，转型！", ["数字", "字化", "化", "转型", "型"]),
        ("MES 系统", ["mes", "系统", "统"]),
    ],
)
def test_han_runs_become_bigrams_plus_trailing_unigram(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


def test_latin_compound_keeps_parts_in_place_and_appends_glued_form() -> None:
    assert tokens("西门子S7-1200 PLC") == ["西门", "门子", "子", "s7", "1200", "plc", "s71200"]


def test_document_terms_are_the_tokens() -> None:
    assert document_terms("工业互联网 OPC-UA") == tokens("工业互联网 OPC-UA")


@pytest.mark.parametrize(
    ("document", "query"),
    [
        ("安装简单", "简单"),
        ("测试工具箱", "工具箱"),
        ("中国农业发展银行", "农业"),
        ("待处理", "处理"),
        ("在建工程", "工程"),
        ("数字化转型", "字化"),
    ],
)
def test_every_substring_of_a_han_run_is_found(document: str, query: str) -> None:
    # The cases word segmentation misses (DOMAIN.md §6): bigrams recall like LIKE '%q%'.
    (group,) = parse_query(query).must
    (phrase,) = group
    assert phrase_in(tokens(document), phrase.tokens)
    assert found(document, query)


@pytest.mark.parametrize(
    ("document", "query"),
    [("数字化转型", "转化"), ("中国农业发展银行", "农发"), ("数字 化", "数字化")],
)
def test_characters_that_are_not_adjacent_in_the_document_do_not_match(
    document: str, query: str
) -> None:
    assert not found(document, query)


def test_han_recall_equals_substring_containment_within_runs() -> None:
    # Seeded, so deterministic: a small alphabet makes repeated and overlapping bigrams common,
    # which is where a phrase matcher goes wrong.
    generator = random.Random(20240607)
    alphabet = "数字化转型，"
    for _ in range(400):
        document = "".join(generator.choice(alphabet) for _ in range(generator.randint(1, 12)))
        query = "".join(generator.choice(alphabet[:-1]) for _ in range(generator.randint(1, 4)))
        runs = document.split("，")
        assert found(document, query) == any(query in run for run in runs), (document, query)


def test_single_character_query_is_a_prefix_of_bigrams_and_run_ends() -> None:
    query = parse_query("云")
    assert query.must == ((Phrase(("云",), prefix=True),),)
    assert found("企业上云", "云")
    assert found("云平台服务", "云")
    assert not found("企业上网", "云")


def test_mixed_script_word_splits_at_the_script_boundary() -> None:
    assert split_words("西门子S7") == ["西门子", "s7"]
    query = parse_query("西门子S7")
    assert [[phrase.tokens for phrase in group] for group in query.must] == [
        [("西门", "门子")],
        [("s7",)],
    ]


@pytest.mark.parametrize("query", ["西门子S7", "S7-1200", "s7 1200", "s71200", "Ｓ７－１２００"])
def test_model_number_variants_find_a_document_mentioning_s7_1200(query: str) -> None:
    assert found("西门子S7-1200 PLC 数据采集网关", query)


@pytest.mark.parametrize("document", ["S7-1200", "S7 1200", "S71200", "s7_1200"])
def test_hyphenated_model_query_finds_every_spelling_in_documents(document: str) -> None:
    assert found(f"支持{document}采集", "S7-1200")


def test_different_model_number_is_not_found() -> None:
    assert not found("西门子S7-1500", "S7-1200")
    assert not found("西门子S7-1500", "s71200")


def test_last_latin_word_is_prefix_matched_only_while_typing() -> None:
    typing = parse_query("modb")
    assert typing.prefix_last
    assert found("Modbus TCP 网关", "modb")
    finished = parse_query("modb ")
    assert not finished.prefix_last
    assert not found("Modbus TCP 网关", "modb ")
    assert not found("Modbus TCP 网关", "modb,")


def test_only_the_last_word_is_a_prefix() -> None:
    query = parse_query("modb tc")
    assert [phrase.prefix for group in query.must for phrase in group] == [False, True]
    assert not found("Modbus TCP", "modb tc")
    assert found("Modbus TCP", "modbus tc")


def test_han_last_word_sets_no_prefix_flag() -> None:
    assert not parse_query("数字化").prefix_last


def test_all_query_words_must_match() -> None:
    assert found("常州 MES 实施", "mes 常州")
    assert not found("常州 MES 实施", "mes 东莞")


def test_empty_query_matches_nothing() -> None:
    query = parse_query("  ，。 ")
    assert query.is_empty
    assert not matches(query, tokens("任何文本"))


def test_query_is_hashable_and_keeps_the_raw_text() -> None:
    query = parse_query("ＭＥＳ 系统")
    assert query.raw == "ＭＥＳ 系统"
    assert query.words == ("mes", "系统")
    assert hash(query) == hash(parse_query("ＭＥＳ 系统"))


def test_query_terms_flatten_all_alternatives_once() -> None:
    assert query_terms("数字化 S7-1200 数字") == ["数字", "字化", "s7", "1200", "s71200"]
    assert parse_query("数字化").terms() == ["数字", "字化"]


# --- pinyin for names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["changzhou", "jinggong", "keji", "youxiangongsi", "czsl", "czsljgkjyxgs", "jinggongke"],
)
def test_company_name_is_found_by_pinyin_words_and_initials(query: str) -> None:
    assert found(COMPANY, query, name=True)


def test_pinyin_words_need_not_be_the_last_word() -> None:
    assert found(COMPANY, "changzhou jinggong", name=True)
    assert found(COMPANY, "jinggong 科技", name=True)


def test_pinyin_tokens_include_full_joins_pairs_and_initials() -> None:
    terms = name_terms(COMPANY)
    for expected in (
        "changzhoushilijinggongkejiyouxiangongsi",
        "changzhou",
        "shili",
        "jinggong",
        "keji",
        "youxiangongsi",
        "czsljgkjyxgs",
    ):
        assert expected in terms
    assert terms[: len(tokens(COMPANY))] == tokens(COMPANY)


def test_unrelated_pinyin_does_not_find_the_name() -> None:
    assert not found(COMPANY, "hangzhou", name=True)
    assert not found(COMPANY, "xzsl", name=True)


def test_polyphones_are_read_in_context() -> None:
    assert "chongqing" in name_terms("重庆")
    assert "cq" in name_terms("重庆")
    assert "yinhanghangzhang" in name_terms("银行行长")
    assert "zhongliang" not in name_terms("重庆")


def test_single_character_run_contributes_its_syllable() -> None:
    assert "yun" in name_terms("云")
    assert name_terms("ABB（中国）") == ["abb", "中国", "国", "zhongguo", "zg"]


def test_descriptions_get_no_pinyin() -> None:
    assert "changzhou" not in document_terms(COMPANY)
    assert not found(COMPANY, "changzhou")


# --- highlighting -----------------------------------------------------------------------------


def test_highlight_wraps_the_matched_substring() -> None:
    assert (
        highlight("我们提供数字化转型服务", parse_query("转型"))
        == "我们提供数字化<mark>转型</mark>服务"
    )


def test_highlight_maps_offsets_back_to_full_width_original() -> None:
    assert highlight("本公司ＭＥＳ系统", parse_query("mes")) == "本公司<mark>ＭＥＳ</mark>系统"
    assert highlight("５Ｇ专网\u3000改造", parse_query("5g 改造")) == (
        "<mark>５Ｇ</mark>专网\u3000<mark>改造</mark>"
    )


def test_highlight_of_expanded_characters_covers_the_whole_source_character() -> None:
    # ㈱ becomes three characters "(株)" under NFKC.
    assert highlight("示例㈱精工", parse_query("株")) == "示例<mark>㈱</mark>精工"


def test_highlight_escapes_html_outside_and_inside_marks() -> None:
    text = "<script>alert(1)</script> 数据采集"
    assert highlight(text, parse_query("数据")) == (
        "&lt;script&gt;alert(1)&lt;/script&gt; <mark>数据</mark>采集"
    )
    assert highlight("a<b 数据", parse_query("a")) == "<mark>a</mark>&lt;b 数据"


def test_highlight_trims_long_text_around_the_first_match() -> None:
    text = "前" * 300 + "数字化转型" + "后" * 300
    fragment = highlight(text, parse_query("字化"), max_len=40)
    assert fragment.startswith("…")
    assert fragment.endswith("…")
    assert "数<mark>字化</mark>转型" in fragment
    shown = fragment.replace("<mark>", "").replace("</mark>", "").strip("…")
    assert len(shown) == 40


def test_highlight_without_match_shows_the_start_of_the_text() -> None:
    text = "甲" * 200
    fragment = highlight(text, parse_query("乙"), max_len=10)
    assert fragment == "甲" * 10 + "…"


def test_highlight_marks_only_the_typed_part_of_a_prefix() -> None:
    assert highlight("企业上云平台", parse_query("云")) == "企业上<mark>云</mark>平台"
    assert highlight("Modbus TCP", parse_query("modb")) == "<mark>Modb</mark>us TCP"


def test_highlight_marks_every_occurrence_and_merges_adjacent_matches() -> None:
    fragment = highlight("数据采集和数据治理", parse_query("数据 采集"))
    assert fragment == "<mark>数据采集</mark>和<mark>数据</mark>治理"


def test_highlight_of_glued_query_marks_the_whole_compound() -> None:
    assert highlight("支持S7-1200", parse_query("s71200")) == "支持<mark>S7-1200</mark>"


def test_highlight_uses_custom_markers_verbatim() -> None:
    fragment = highlight("ERP 实施", parse_query("erp"), before="[", after="]")
    assert fragment == "[ERP] 实施"


# --- typo tolerance ---------------------------------------------------------------------------

VOCABULARY = ["modbus", "profinet", "profibus", "ethercat", "s71200", "manufacturing", "opcua"]


def test_suggest_corrects_a_substituted_letter() -> None:
    assert suggest("modbos", VOCABULARY) == "modbus"


def test_missing_letter_is_one_edit() -> None:
    assert typo_candidates("profnet", VOCABULARY) == ["profinet"]


def test_transposition_counts_as_one_edit() -> None:
    assert edit_distance_at_most("modbsu", "modbus", 1)
    assert typo_candidates("ehtercat", VOCABULARY) == ["ethercat"]


def test_long_words_allow_two_edits() -> None:
    assert typo_candidates("manfuactring", VOCABULARY) == ["manufacturing"]
    assert typo_candidates("profabos", VOCABULARY) == []  # 8 letters: one edit only


def test_words_with_digits_never_typo_match() -> None:
    assert typo_candidates("s7120", VOCABULARY) == []
    assert suggest("s71201", VOCABULARY) is None


def test_words_shorter_than_five_letters_never_typo_match() -> None:
    assert typo_candidates("opcu", VOCABULARY) == []
    assert typo_candidates("opcua", ["opcub"]) == ["opcub"]


def test_suggest_returns_none_when_nothing_is_close() -> None:
    assert suggest("zigbee", VOCABULARY) is None


def test_suggest_returns_none_for_a_known_word() -> None:
    assert suggest("modbus", [*VOCABULARY, "modbos"]) is None


def test_typo_candidates_are_closest_first_then_alphabetical() -> None:
    vocabulary = ["abcdefgxz", "abcdefghz", "abcdefghi", "abcdefgiy"]
    assert typo_candidates("abcdefghi", vocabulary) == ["abcdefghz", "abcdefgiy", "abcdefgxz"]
    assert typo_candidates("abcdefghy", reversed(vocabulary)) == typo_candidates(
        "abcdefghy", vocabulary
    )


@pytest.mark.parametrize(
    ("first", "second", "limit", "expected"),
    [
        ("kitten", "sitting", 3, True),
        ("kitten", "sitting", 2, False),
        ("", "", 0, True),
        ("abc", "abc", 0, True),
        ("abc", "abd", 0, False),
        ("abc", "", 3, True),
        ("abc", "", 2, False),
        ("ca", "abc", 2, False),  # optimal string alignment: 3 edits, not 2
        ("ab", "ba", 1, True),
    ],
)
def test_edit_distance_at_most(first: str, second: str, limit: int, expected: bool) -> None:
    assert edit_distance_at_most(first, second, limit) is expected


def test_query_dataclasses_are_immutable() -> None:
    query = Query(must=(), prefix_last=False, raw="")
    with pytest.raises(AttributeError):
        query.raw = "x"  # type: ignore[misc]
