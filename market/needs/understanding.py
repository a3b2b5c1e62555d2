"""Free text → taxonomy ids: what an SME owner's own words say about capabilities, protocols,
scenes, pricing and industry.

Owners describe their factory in shop-floor words ("注塑厂，20台海天，西门子1200的PLC，想做数采，
排产靠经验") rather than in our ids. This module turns such text into ``cap.*`` / ``proto.*`` /
``scene.*`` ids, pricing-model ids and GB/T 4754 hints, and reports *which words* produced each
one, so the SME can check and correct what was understood (DOMAIN.md §5 step 1).

Rules, in the order they apply:

1. **Normalise** with the search pipeline (:func:`search.text.split_words`: NFKC, lower-case,
   Han runs and Latin compounds). Punctuation between words is a clause break; a phrase never
   matches across it, while whitespace is ignored (``西门子 1200`` equals ``西门子1200``).
2. **Units**: every Han character is a unit, every Latin word or compound (``s7-1200``) is one
   unit. Latin words therefore match only whole (``ab`` never matches inside ``fab``), while
   Chinese phrases match anywhere inside a run of characters, since Chinese has no spaces.
3. **Longest match, left to right**: at each unit the longest phrase of the lexicon wins and
   the scan continues after it, so ``排产靠经验`` (a pain point) beats ``排产`` (a synonym), and
   ``质量管理系统`` (QMS) beats ``质量管理`` (the scene). Phrases are compared by
   :func:`search.synonyms.form_key`, which ignores case, spaces and punctuation.
4. **Lexicon**: the taxonomy's own names, synonyms and protocol aliases (capabilities,
   protocols, scenes, pricing models, GB/T division names), plus the tables in this module:
   :data:`CAPABILITY_PHRASES`, :data:`PROTOCOL_PHRASES` (brand + controller model, e.g.
   ``西门子 1200`` → ``proto.s7.isotcp``), :data:`PRICING_PHRASES`, :data:`INDUSTRY_PHRASES` and
   :data:`PAIN_POINTS`, the complaints of owners who do not know the jargon (``设备停机多`` →
   predictive maintenance + data acquisition). A phrase that belongs to several concepts
   (``能耗管理`` is a capability synonym and a scene) yields all of them.
5. **Industry codes** are recognised only with their section letter (``C29``, ``C3411``): a bare
   number in free text is far more often a quantity or a model number (``20台``, ``1200``).
6. **Not understood**: what is left between matches, per clause, minus filler words
   (:data:`FILLER`), so the SME sees exactly which of its words carried no meaning for us.

Everything here is a pure function over cached tables: no database, no I/O.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from catalog.taxonomy import describe_industry, is_known_industry, normalise_industry_code
from catalog.taxonomy import vocabulary as taxonomy_vocabulary
from search.synonyms import SynonymTable, form_key, groups_from_terms
from search.text import normalise, split_words

__all__ = [
    "CAPABILITY_PHRASES",
    "FILLER",
    "IGNORED_PHRASES",
    "INDUSTRY_PHRASES",
    "PAIN_POINTS",
    "PRICING_PHRASES",
    "PROTOCOL_PHRASES",
    "IndustryHint",
    "PainPoint",
    "PainPointMatch",
    "TermMatch",
    "Understanding",
    "guess_protocol",
    "understand",
]


# --- data -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PainPoint:
    """A complaint in an owner's words and the capabilities (and scenes) that address it."""

    id: str
    zh: str
    en: str
    phrases: tuple[str, ...]
    capabilities: tuple[str, ...]
    scenes: tuple[str, ...] = ()


# The tables below are data, laid out one entry per line so a reviewer reads them as a table;
# the formatter would stretch them to one phrase per line.
# fmt: off

# Owners rarely say "predictive maintenance"; they say the machines keep stopping. Each entry
# lists several everyday phrasings because matching is literal (after normalisation). The
# capability order matters: the first is the main answer, later ones the usual companions.
PAIN_POINTS: tuple[PainPoint, ...] = (
    PainPoint(
        "pain.downtime", "设备停机多", "Frequent machine downtime",
        ("设备停机多", "停机多", "经常停机", "老是停机", "频繁停机", "停机时间长", "非计划停机",
         "设备故障多", "故障多", "设备经常坏", "突发故障"),
        ("cap.predictive_maint", "cap.data_acquisition"), ("scene.equipment",),
    ),
    PainPoint(
        "pain.unstable_quality", "质量不稳定", "Unstable quality",
        ("质量不稳定", "质量不稳", "品质不稳定", "不良率高", "次品多", "废品率高", "良率低",
         "合格率低", "返工多", "客诉多", "漏检", "人工检验"),
        ("cap.quality_vision", "cap.qms"), ("scene.quality",),
    ),
    PainPoint(
        "pain.no_traceability", "质量无法追溯", "Quality cannot be traced",
        ("无法追溯", "追溯难", "不能追溯", "追溯不了", "查不到批次"),
        ("cap.qms",), ("scene.quality",),
    ),
    PainPoint(
        "pain.high_energy", "能耗高", "High energy use",
        ("能耗高", "能耗大", "电费高", "电费太高", "用电量大", "耗电大", "能源浪费", "人工抄表"),
        ("cap.energy_mgmt",), ("scene.energy",),
    ),
    PainPoint(
        "pain.manual_scheduling", "排产靠经验", "Scheduling by experience",
        ("排产靠经验", "排产靠人", "排产难", "排程靠经验", "计划靠经验", "插单多", "急单多",
         "交期延误", "交期不准", "交货延期", "经常延期交货"),
        ("cap.aps",), ("scene.planning",),
    ),
    PainPoint(
        "pain.inaccurate_stock", "库存不准", "Inaccurate stock",
        ("库存不准", "账实不符", "库存积压", "找不到料", "找料难", "盘点难", "出入库混乱"),
        ("cap.wms",), ("scene.warehousing",),
    ),
    PainPoint(
        "pain.opaque_production", "生产进度不透明", "Production progress not visible",
        ("生产进度不透明", "进度不透明", "看不到进度", "纸质工单", "报工靠纸", "手工报工",
         "报工不及时", "车间不透明"),
        ("cap.mes",), ("scene.production_control",),
    ),
    PainPoint(
        "pain.manual_data", "数据靠人工记录", "Data recorded by hand",
        ("数据靠人工", "人工记录", "手工记录", "手抄", "数据不及时", "数据不准"),
        ("cap.data_acquisition",),
    ),
    PainPoint(
        "pain.mixed_protocols", "设备协议不统一", "Machines speak different protocols",
        ("协议不统一", "协议不一致", "接口多样", "接口不统一", "设备联不上", "设备连不上",
         "数据采不上来", "老设备", "设备太旧"),
        ("cap.data_acquisition", "cap.edge_gateway"), ("scene.equipment",),
    ),
    PainPoint(
        "pain.data_islands", "系统不互通", "Systems do not talk to each other",
        ("数据孤岛", "信息孤岛", "系统不互通", "系统不打通", "重复录入"),
        ("cap.iiot_platform", "cap.bi"),
    ),
    PainPoint(
        "pain.where_to_start", "不知道从哪里入手", "Does not know where to start",
        ("不知道从哪", "不知从何", "不知道怎么做", "不懂数字化", "没有思路", "没有规划"),
        ("cap.diagnosis",),
    ),
    PainPoint(
        "pain.no_it_staff", "缺少IT人员", "No in-house IT staff",
        ("没有IT人员", "缺IT人才", "没有技术人员", "缺人才", "没人懂"),
        ("cap.training",),
    ),
    PainPoint(
        "pain.safety_risk", "安全隐患多", "Safety hazards",
        ("安全隐患", "安全事故", "隐患排查"),
        ("cap.safety",), ("scene.safety",),
    ),
)

# Everyday phrasings of capabilities that the taxonomy's synonyms (which also drive search
# expansion, where a loose phrase would flood results) do not carry.
CAPABILITY_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cap.data_acquisition", ("设备数采", "数据采集系统", "采集数据", "联网采集")),
    ("cap.predictive_maint", ("预测性维护", "远程诊断", "故障诊断", "设备运维")),
    ("cap.scada_hmi", ("远程监控", "设备监控", "集中监控")),
    ("cap.mes", ("MES系统", "生产管理", "工单管理")),
    ("cap.bi", ("看板", "电子看板", "大屏", "数据大屏", "报表")),
    ("cap.quality_vision", ("AI检测", "外观检测", "自动检测")),
    ("cap.energy_mgmt", ("能源管理系统", "能耗监测", "节能")),
    ("cap.cloud_migration", ("云平台", "云服务")),
)

# Brand + controller model as owners write them. The taxonomy knows "S7-1200" and "西门子" but
# not their combinations, and "西门子" alone names only the S7 family; this table lets
# "西门子 1200" and "西门子S7-1200" resolve to the protocol the controller actually speaks.
_SIEMENS = ("西门子", "siemens")
_ISOTCP_MODELS = ("1200", "1500", "200", "200smart", "200 smart", "smart200", "s7-1200",
                  "s7-1500", "s7-200", "s7-200smart", "s7-200 smart")
_S7_CLASSIC_MODELS = ("300", "400", "s7-300", "s7-400")
PROTOCOL_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("proto.s7.isotcp", tuple(f"{b} {m}" for b in _SIEMENS for m in _ISOTCP_MODELS)),
    ("proto.s7.s7_300_400", tuple(f"{b} {m}" for b in _SIEMENS for m in _S7_CLASSIC_MODELS)),
    ("proto.fanuc_focas", ("发那科系统", "fanuc 0i", "fanuc 0i-mf", "fanuc 31i", "0i-mf", "0i-tf")),
    ("proto.mitsubishi_mc", ("三菱fx", "三菱q系列", "fx5u", "fx3u")),
    ("proto.omron_fins", ("欧姆龙cp1h", "欧姆龙nj")),
    ("proto.modbus_rtu", ("modbus rtu", "串口modbus")),
    ("proto.opcua", ("opc ua",)),
)

PRICING_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("subscription", ("按月付费", "按年付费", "按月收费", "按年收费", "包月", "包年", "月付",
                      "年付")),
    ("metered", ("按使用量", "按用量付费", "按设备数收费", "按点位收费")),
    ("lease", ("以租代购", "租用设备")),
    ("one_off", ("一次性付费", "一次性买断", "一次买断")),
    ("outcome", ("效果付费", "节能分成", "收益分成")),
)

# Trade words owners use for their own industry, mapped to the GB/T 4754 code they most often
# mean. A hint, never a decision: the profile's industry code is what matching uses.
INDUSTRY_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("13", ("农副食品", "饲料", "屠宰")),
    ("14", ("食品厂", "食品加工", "食品制造")),
    ("15", ("饮料", "酒厂", "茶叶")),
    ("17", ("纺织", "织布", "纺纱", "印染")),
    ("18", ("服装", "制衣", "服饰")),
    ("19", ("制鞋", "鞋厂", "皮革")),
    ("21", ("家具",)),
    ("22", ("造纸", "纸箱", "纸制品", "包装纸")),
    ("23", ("印刷",)),
    ("245", ("玩具",)),
    ("26", ("化工", "涂料", "油墨")),
    ("27", ("医药", "制药", "药厂")),
    ("29", ("注塑", "注塑机", "塑料", "塑胶", "橡胶", "吹塑", "吸塑")),
    ("30", ("陶瓷", "玻璃", "水泥", "建材")),
    ("31", ("钢铁", "炼钢", "轧钢")),
    ("32", ("铝材", "铜材", "有色金属")),
    ("33", ("五金", "金属制品", "冲压", "铸造", "压铸", "钣金", "锻造")),
    ("34", ("通用设备", "泵阀", "轴承", "阀门")),
    ("342", ("机床",)),
    ("3484", ("机加工", "机械加工", "零部件加工", "cnc加工")),
    ("3491", ("工业机器人",)),
    ("35", ("专用设备",)),
    ("3525", ("模具",)),
    ("36", ("汽车零部件", "汽配", "汽车配件", "汽车制造")),
    ("38", ("电机", "电线电缆", "家电", "照明", "电器", "电池")),
    ("39", ("电子厂", "电子元件", "电子制造", "pcb", "smt", "线路板")),
    ("40", ("仪器仪表", "仪表")),
)

# Everyday phrases that contain a synonym but mean nothing: "想咨询一下" is a polite "we'd like to
# ask", not a request for consulting (cap.diagnosis). The scanner consumes them like any phrase
# and reports nothing for them.
IGNORED_PHRASES: tuple[str, ...] = ("咨询一下", "咨询下", "了解一下", "请问", "想咨询", "诊断一下")

# Words that carry no need on their own; left out of "not understood" so that list shows the
# SME only words worth a second look.
FILLER: frozenset[str] = frozenset({
    "的", "了", "和", "与", "及", "或", "并", "在", "是", "有", "想", "要", "把", "对", "给", "将",
    "等", "也", "都", "还", "很", "做", "用", "我", "我们", "我司", "公司", "工厂", "厂", "厂里",
    "车间", "需要", "希望", "想要", "想做", "打算", "进行", "实现", "一下", "一些", "一个", "系统",
    "软件", "平台", "方案", "项目", "服务", "解决", "问题", "目前", "现在", "现有", "主要", "比较",
    "非常", "以及", "还有", "台", "个", "套", "企业", "设备", "机器", "plc",
})

# fmt: on


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TermMatch:
    """A taxonomy id found in the text; ``matched`` is the text as the user wrote it.

    ``source`` is ``"term"`` when the words name the concept (a name, synonym or alias) and
    ``"pain_point"`` when it was inferred from a complaint, which the SME should double-check.
    """

    id: str
    zh: str
    en: str
    matched: str
    source: str = "term"


@dataclass(frozen=True)
class IndustryHint:
    code: str
    zh: str
    en: str
    matched: str


@dataclass(frozen=True)
class PainPointMatch:
    id: str
    zh: str
    en: str
    matched: str
    capabilities: tuple[str, ...]
    scenes: tuple[str, ...]


@dataclass(frozen=True)
class Understanding:
    capabilities: tuple[TermMatch, ...] = ()
    protocols: tuple[TermMatch, ...] = ()
    scenes: tuple[TermMatch, ...] = ()
    pricing_models: tuple[TermMatch, ...] = ()
    industries: tuple[IndustryHint, ...] = ()
    pain_points: tuple[PainPointMatch, ...] = ()
    not_understood: tuple[str, ...] = ()

    @property
    def capability_ids(self) -> list[str]:
        return [match.id for match in self.capabilities]

    @property
    def protocol_ids(self) -> list[str]:
        return [match.id for match in self.protocols]

    @property
    def pricing_ids(self) -> list[str]:
        return [match.id for match in self.pricing_models]

    @property
    def industry_hint(self) -> IndustryHint | None:
        """The first industry the text names, the one a form would pre-select."""
        return self.industries[0] if self.industries else None


# --- lexicon ----------------------------------------------------------------------------------

# Concept ids in the lexicon are namespaced by kind. Capabilities, protocols and scenes carry
# their own prefixes already; pricing ids ("subscription") and GB/T codes ("29") do not.
_PRICING = "pricing:"
_INDUSTRY = "industry:"
_IGNORED = "ignored:"

# Same ranges as the search pipeline's Han runs (search/text.py keeps its pattern private).
_HAN = re.compile("[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_SECTION_CODE = re.compile(r"c\d{2,4}")


@dataclass(frozen=True)
class _Lexicon:
    table: SynonymTable
    # Every prefix of every phrase key: the scan stops extending a candidate as soon as it
    # leaves this set, so each position costs a few lookups instead of one per phrase length.
    prefixes: frozenset[str]


@functools.cache
def _pain_by_id() -> dict[str, PainPoint]:
    return {pain.id: pain for pain in PAIN_POINTS}


@functools.cache
def _lexicon() -> _Lexicon:
    groups: list[tuple[str, Sequence[str]]] = []
    groups.extend(groups_from_terms(taxonomy_vocabulary("capabilities")))
    protocols = taxonomy_vocabulary("protocols")
    groups.extend(groups_from_terms(protocols))
    # The protocol's short "name" (e.g. "Modbus TCP") is data too, but not a Term field.
    for term in protocols:
        name = term.extra.get("name")
        if isinstance(name, str):
            groups.append((term.id, (name,)))
    groups.extend(groups_from_terms(taxonomy_vocabulary("scenes")))
    groups.extend(
        (_PRICING + concept, forms)
        for concept, forms in groups_from_terms(taxonomy_vocabulary("pricing_models"))
    )
    for term in taxonomy_vocabulary("industries"):
        # Division names as written in the standard; "业" dropped too ("家具制造业" → "家具制造").
        groups.append((_INDUSTRY + term.id, (term.zh, term.zh.removesuffix("业"))))
    groups.extend(CAPABILITY_PHRASES)
    groups.extend(PROTOCOL_PHRASES)
    groups.extend((_PRICING + concept, forms) for concept, forms in PRICING_PHRASES)
    groups.extend((_INDUSTRY + code, forms) for code, forms in INDUSTRY_PHRASES)
    groups.extend((pain.id, pain.phrases) for pain in PAIN_POINTS)
    groups.append((_IGNORED + "phrases", IGNORED_PHRASES))
    table = SynonymTable(groups)
    keys = {form_key(form) for concept in table for form in table.forms(concept)}
    prefixes = frozenset(key[:end] for key in keys for end in range(1, len(key) + 1))
    return _Lexicon(table=table, prefixes=prefixes)


# --- scanning ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    # Index of the clause (text between punctuation) the unit belongs to.
    clause: int
    latin: bool


# Invisible characters that copy-paste leaves inside words; the search pipeline drops them too,
# so they must go before offsets are taken, or a word would not be found where it stands.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))


def _display_text(text: str) -> str:
    """NFKC text with the case kept, whose offsets line up with the lower-cased scan text."""
    display = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    if len(display.lower()) != len(display):
        # A few letters change length when lower-cased (e.g. "İ"); then show the folded text.
        return display.lower()
    return display


def _units(folded: str) -> list[_Unit]:
    """Units with their offsets in ``folded``, located from :func:`split_words`' words."""
    units: list[_Unit] = []
    cursor = 0
    clause = 0
    for word in split_words(folded):
        found = folded.find(word, cursor)
        if found < 0:
            # Only if the pipeline ever folds differently from _display_text: the offsets are
            # then approximate, and the word starts a clause of its own so nothing spans it.
            clause += 1
            found = cursor
        elif folded[cursor:found].strip():
            # Punctuation between two words ends a clause: no phrase spans "数采，西门子".
            clause += 1
        if _HAN.match(word):
            units.extend(
                _Unit(found + offset, found + offset + 1, clause, latin=False)
                for offset in range(len(word))
            )
        else:
            units.append(_Unit(found, found + len(word), clause, latin=True))
        cursor = found + len(word)
    return units


def _longest(
    lexicon: _Lexicon, units: Sequence[_Unit], keys: Sequence[str], start: int
) -> tuple[tuple[str, ...], int] | None:
    """Concepts of the longest phrase starting at ``units[start]``, and the index after it.

    ``keys`` are the units' :func:`form_key` values; a span's key is their concatenation,
    because form keys drop exactly the whitespace that separates units within a clause.
    """
    clause = units[start].clause
    key = ""
    best: tuple[tuple[str, ...], int] | None = None
    for end in range(start, len(units)):
        if units[end].clause != clause:
            break
        key += keys[end]
        if key not in lexicon.prefixes:
            break
        concepts = lexicon.table.concepts(key)
        if concepts:
            best = (concepts, end + 1)
    return best


class _Collector:
    """Accumulates matches in order of first appearance, one entry per id."""

    def __init__(self) -> None:
        self.capabilities: dict[str, TermMatch] = {}
        self.protocols: dict[str, TermMatch] = {}
        self.scenes: dict[str, TermMatch] = {}
        self.pricing: dict[str, TermMatch] = {}
        self.industries: dict[str, IndustryHint] = {}
        self.pains: dict[str, PainPointMatch] = {}

    def add(self, concept: str, matched: str) -> None:
        if concept.startswith("cap."):
            self._term(self.capabilities, "capabilities", concept, matched, "term")
        elif concept.startswith("proto."):
            self._term(self.protocols, "protocols", concept, matched, "term")
        elif concept.startswith("scene."):
            self._term(self.scenes, "scenes", concept, matched, "term")
        elif concept.startswith(_PRICING):
            self._term(self.pricing, "pricing_models", concept[len(_PRICING) :], matched, "term")
        elif concept.startswith(_INDUSTRY):
            self.industry(concept[len(_INDUSTRY) :], matched)
        elif concept.startswith("pain."):
            self._pain(concept, matched)

    def industry(self, code: str, matched: str) -> None:
        described = describe_industry(code)
        if described is None or code in self.industries:
            return
        self.industries[code] = IndustryHint(
            code=code, zh=described["zh"], en=described["en"], matched=matched
        )

    def _term(
        self, into: dict[str, TermMatch], vocab: str, term_id: str, matched: str, source: str
    ) -> None:
        term = taxonomy_vocabulary(vocab).get(term_id)
        if term is None or term_id in into:
            return
        into[term_id] = TermMatch(
            id=term.id, zh=term.zh, en=term.en, matched=matched, source=source
        )

    def _pain(self, pain_id: str, matched: str) -> None:
        pain = _pain_by_id()[pain_id]
        if pain_id not in self.pains:
            self.pains[pain_id] = PainPointMatch(
                id=pain.id,
                zh=pain.zh,
                en=pain.en,
                matched=matched,
                capabilities=pain.capabilities,
                scenes=pain.scenes,
            )
        for capability in pain.capabilities:
            self._term(self.capabilities, "capabilities", capability, matched, "pain_point")
        for scene in pain.scenes:
            self._term(self.scenes, "scenes", scene, matched, "pain_point")


def _leftovers(display: str, units: Sequence[_Unit], used: Sequence[bool]) -> list[str]:
    """Runs of unused units, split at clauses and at matches, without filler words."""
    pieces: dict[str, None] = {}
    run: list[_Unit] = []

    def flush() -> None:
        if run:
            piece = _trim_filler(display[run[0].start : run[-1].end].strip())
            if form_key(piece) and normalise(piece) not in FILLER:
                pieces[piece] = None
            run.clear()

    for unit, is_used in zip(units, used, strict=True):
        if is_used or (run and unit.clause != run[-1].clause):
            flush()
        if not is_used:
            run.append(unit)
    flush()
    return list(pieces)


@functools.cache
def _filler_by_length() -> tuple[str, ...]:
    # Longest first, so "我们" is stripped as a word before "我" could leave "们" behind.
    return tuple(sorted(FILLER, key=len, reverse=True))


def _trim_filler(piece: str) -> str:
    """Strip filler words at both edges of a leftover ("我们是做" → "", "的PLC" → "")."""
    changed = True
    while piece and changed:
        changed = False
        # Filler words are lower-case; the display text keeps the user's case.
        folded = piece.lower()
        for word in _filler_by_length():
            if folded.startswith(word):
                piece, changed = piece[len(word) :].strip(), True
                break
            if folded.endswith(word):
                piece, changed = piece[: -len(word)].strip(), True
                break
    return piece


def understand(text: str) -> Understanding:
    """What ``text`` says in taxonomy terms; see the module docstring for the rules."""
    display = _display_text(text)
    folded = display.lower()
    units = _units(folded)
    keys = [form_key(folded[unit.start : unit.end]) for unit in units]
    lexicon = _lexicon()
    found = _Collector()
    used = [False] * len(units)
    index = 0
    while index < len(units):
        unit = units[index]
        match = _longest(lexicon, units, keys, index)
        if match is not None:
            concepts, end = match
            matched = display[unit.start : units[end - 1].end]
            for concept in concepts:
                found.add(concept, matched)
            used[index:end] = [True] * (end - index)
            index = end
            continue
        if unit.latin and _SECTION_CODE.fullmatch(folded[unit.start : unit.end]):
            code = _industry_code(folded[unit.start : unit.end])
            if code is not None:
                found.industry(code, display[unit.start : unit.end])
                used[index] = True
        index += 1
    return Understanding(
        capabilities=tuple(found.capabilities.values()),
        protocols=tuple(found.protocols.values()),
        scenes=tuple(found.scenes.values()),
        pricing_models=tuple(found.pricing.values()),
        industries=tuple(found.industries.values()),
        pain_points=tuple(found.pains.values()),
        not_understood=tuple(_leftovers(display, units, used)),
    )


def _industry_code(word: str) -> str | None:
    try:
        code = normalise_industry_code(word)
    except ValueError:
        return None
    return code if is_known_industry(code) else None


def guess_protocol(*parts: str | None) -> str | None:
    """The protocol a piece of equipment most likely speaks, from its brand and controller.

    Used for inventory rows whose protocol the owner left empty ("西门子" + "S7-1200" →
    ``proto.s7.isotcp``). The parts are read together, so a brand + model phrase wins over the
    brand alone; the most specific protocol found is returned (a family id only when nothing
    narrower was named).
    """
    text = " ".join(part for part in parts if part)
    if not text.strip():
        return None
    found = understand(text).protocol_ids
    return _most_specific(found)


def _most_specific(ids: Iterable[str]) -> str | None:
    candidates = list(ids)
    protocols = taxonomy_vocabulary("protocols")
    for protocol_id in candidates:
        term = protocols.get(protocol_id)
        if term is not None and term.parent is not None:
            return protocol_id
    return candidates[0] if candidates else None
