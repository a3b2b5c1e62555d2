"""Text parts and code tables for the demo pool and the synthetic benchmark catalogue.

Everything described here is fictional. The tables come first (cities, industries, capability
texts, prices, KPIs, certificates); a few pure ``draw_*`` functions at the end turn them into
field values with a caller-supplied ``random.Random``. The loader and the synthesiser both use
those functions, so search benchmarks run over the same kind of text that people see in the demo.
Nothing here touches the database.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from catalog.taxonomy import derive_size, region, vocabulary

T = TypeVar("T")

# Every organisation the demo creates carries this mark, so nobody takes it for a real firm.
DEMO_MARK = "（示例）"
# Synthetic benchmark organisations carry this word instead, with a running number.
SYNTH_WORD = "合成"

# The sector the size rules use for providers (软件和信息技术服务业), per DOMAIN §3.1.
PROVIDER_SIZE_SECTOR = "software_it"

SIZES: tuple[str, ...] = ("micro", "small", "medium", "large")
SIZE_ZH = {"micro": "微型", "small": "小型", "medium": "中型", "large": "大型"}
# How a title addresses its smallest target client ("小型注塑厂云MES").
SIZE_TITLE_WORD = {"micro": "小微", "small": "小型", "medium": "中型", "large": "大中型"}


# The fictional world's "now": every generated date is this instant minus a drawn offset, so two
# loads with the same seed agree to the second.
BASE_TIME = datetime(2026, 6, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- places


@dataclass(frozen=True)
class City:
    code: str
    short: str
    phone_area: str
    # Cities a local provider plausibly sends engineers to; all are shipped region codes.
    nearby: tuple[str, ...] = ()

    @property
    def province(self) -> str:
        return self.code[:2] + "0000"

    @property
    def en(self) -> str:
        found = region(self.code)
        return found.en if found else self.short


CITIES: dict[str, City] = {
    city.code: city
    for city in (
        City("320400", "常州", "0519", ("321100", "320200", "320500")),
        City("320100", "南京", "025", ("321100", "320400")),
        City("320200", "无锡", "0510", ("320400", "320500")),
        City("320500", "苏州", "0512", ("320200", "310000", "320400")),
        City("321100", "镇江", "0511", ("320400", "320100")),
        City("321200", "泰州", "0523", ("320400", "321000")),
        City("320600", "南通", "0513", ("320500", "321200")),
        City("320300", "徐州", "0516", ("320100",)),
        City("441900", "东莞", "0769", ("440300", "441300", "440100")),
        City("440100", "广州", "020", ("441900", "440600")),
        City("440300", "深圳", "0755", ("441900", "441300")),
        City("440600", "佛山", "0757", ("440100", "442000")),
        City("441300", "惠州", "0752", ("441900", "440300")),
        City("442000", "中山", "0760", ("440600", "440400")),
        City("440400", "珠海", "0756", ("442000",)),
        City("310000", "上海", "021", ("320500", "330400")),
        City("110000", "北京", "010", ("120000",)),
        City("120000", "天津", "022", ("110000",)),
        City("330100", "杭州", "0571", ("330400", "330600")),
        City("330200", "宁波", "0574", ("330600",)),
        City("330300", "温州", "0577", ("331000",)),
        City("330400", "嘉兴", "0573", ("330100", "310000")),
        City("500000", "重庆", "023", ()),
    )
}

# The two pilot cities the demo is about, and what counts as "their region".
CHANGZHOU = "320400"
DONGGUAN = "441900"
CHANGZHOU_AREA: tuple[str, ...] = ("320100", "320200", "321100", "321200", "320600")
DONGGUAN_AREA: tuple[str, ...] = ("440100", "440600", "441300", "442000", "440400")
EXTERNAL_CITIES: tuple[tuple[str, float], ...] = (
    ("310000", 5),
    ("110000", 4),
    ("330100", 4),
    ("440300", 5),
    ("320500", 4),
    ("330200", 1.5),
    ("120000", 1),
    ("500000", 1),
)
# Synthetic providers spread over every city above, weighted towards the pilot provinces.
SYNTH_CITY_WEIGHTS: tuple[tuple[str, float], ...] = tuple(
    (code, 6.0 if code in (CHANGZHOU, DONGGUAN) else 2.0 if code[:2] in ("32", "44") else 1.0)
    for code in CITIES
)


# --------------------------------------------------------------------------- names

BRANDS: tuple[str, ...] = (
    "启衡", "云帆", "数擎", "恒拓", "睿控", "远图", "澄明", "鼎岳", "知行", "青禾",
    "博晟", "锐驰", "星拓", "凌云", "海川", "瑞达", "华睿", "天衡", "联拓", "曜石",
    "同频", "麦穗", "芯途", "长河", "沐风", "砺锋", "微澜", "溯源", "匠衡", "汇聚",
    "云栈", "数衍", "沃土", "飞梭", "蓝湾", "润禾", "嘉禾", "衡远", "通明", "致远",
    "卓研", "中拓", "智衡", "易联", "明道", "格物", "新桥", "信实", "承启", "恒锐",
    "朗坤", "聚源", "领航", "思源", "众研", "拓普", "晨曦", "钧衡", "凯捷", "弘毅",
    "载物", "东篱", "南山", "北辰", "西岭", "泽远", "立方", "环宇", "聚力", "千帆",
)  # fmt: skip

BUSINESS_WORDS: dict[str, tuple[str, ...]] = {
    "default": (
        "智能科技", "信息技术", "数字科技", "软件", "自动化科技", "物联网科技",
        "智造科技", "数据科技", "网络科技", "工业软件", "信息系统",
    ),
    "platform": ("工业互联网", "云计算科技", "工业互联网平台", "数字产业"),
    "chain_leader": ("精密机械", "电气", "电子科技", "家居", "装备", "动力"),
    "enabler": ("数字化转型咨询", "智能制造研究院", "工业互联网创新中心", "企业服务"),
}  # fmt: skip
# How running text shortens a business word ("启衡自动化成立于…"); others keep two characters.
SHORT_BUSINESS = {
    "自动化科技": "自动化",
    "物联网科技": "物联网",
    "工业互联网": "工业互联",
    "工业互联网平台": "工业互联",
    "云计算科技": "云科技",
    "数字化转型咨询": "咨询",
    "智能制造研究院": "研究院",
    "工业互联网创新中心": "创新中心",
    "精密机械": "机械",
    "电子科技": "电子",
    "企业服务": "企服",
}
LEGAL_SUFFIXES: tuple[tuple[str, float], ...] = (("有限公司", 8), ("股份有限公司", 2))

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蒋蔡"
GIVEN_NAMES: tuple[str, ...] = (
    "思远", "静怡", "子涵", "建国", "晓东", "海燕", "文博", "丽娟", "志强", "雨欣",
    "明轩", "佳琪", "国栋", "秀英", "宇航", "欣然", "俊杰", "慧敏", "立新", "晨阳",
    "永健", "雅琴", "伟", "敏", "磊", "婷", "洋", "静", "军", "超",
)  # fmt: skip

EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.net", "example.org")


# --------------------------------------------------------------------------- industries


@dataclass(frozen=True)
class IndustryProfile:
    code: str
    word: str  # how titles name the trade ("注塑车间")
    equipment: tuple[str, ...]
    firm: str  # middle of an SME client's name ("精密注塑")
    weight: float


def _industry(code: str, word: str, equipment: str, firm: str, weight: float) -> IndustryProfile:
    return IndustryProfile(code, word, tuple(equipment.split("、")), firm, weight)


# GB/T 4754 manufacturing divisions 13–43 plus the few deeper codes we ship. Weights favour the
# seed sectors of the Changzhou and Dongguan proposals (DOMAIN §1 and §3.2).
INDUSTRIES: dict[str, IndustryProfile] = {
    p.code: p
    for p in (
        _industry("13", "农副食品", "饲料生产线、碾米机、榨油机", "粮油食品", 3),
        _industry("14", "食品", "灌装线、杀菌釜、包装机", "食品", 4),
        _industry("15", "饮料", "灌装线、调配罐、贴标机", "饮料", 3),
        _industry("16", "烟草", "卷接机组、包装机", "烟草机械", 0.3),
        _industry("17", "纺织", "织机、细纱机、染色机", "纺织", 5),
        _industry("18", "服装", "自动裁床、缝纫机、吊挂线", "服饰", 5),
        _industry("19", "制鞋", "成型线、针车、射出机", "鞋业", 1.5),
        _industry("20", "木制品", "热压机、砂光机、锯切线", "木业", 1),
        _industry("21", "家具", "数控开料机、封边机、六面钻", "家具", 5),
        _industry("22", "纸品包装", "瓦楞纸板线、印刷开槽机、分切机", "纸品包装", 4),
        _industry("23", "印刷", "胶印机、模切机、覆膜机", "印务", 1.5),
        _industry("24", "文体用品", "注塑机、喷涂线、装配线", "文体用品", 1),
        _industry("245", "玩具", "注塑机、搪胶机、装配线", "玩具", 3),
        _industry("25", "燃料加工", "加热炉、分馏塔", "能源化工", 0.3),
        _industry("26", "化工", "反应釜、储罐、灌装线", "化工", 4),
        _industry("27", "医药", "压片机、配液罐、包装线", "药业", 2),
        _industry("28", "化纤", "纺丝机、卷绕机、加弹机", "化纤", 1),
        _industry("29", "注塑", "注塑机、挤出机、吹塑机", "精密注塑", 6),
        _industry("30", "建材", "窑炉、压机、搅拌站", "新型建材", 1.5),
        _industry("31", "钢铁", "轧机、加热炉、剪切线", "特钢", 0.5),
        _industry("32", "有色金属", "熔炼炉、挤压机、拉丝机", "铝业", 1),
        _industry("33", "五金", "冲床、折弯机、压铸机", "五金制品", 6),
        _industry("34", "通用设备", "数控车床、加工中心、磨床", "机械", 5),
        _industry("3421", "机床", "数控车床、加工中心、激光切割机", "数控机床", 1.5),
        _industry("3484", "机械零部件", "数控车床、加工中心、热处理炉", "精密零部件", 2),
        _industry("35", "专用设备", "加工中心、焊接机器人、装配线", "专用装备", 5),
        _industry("3525", "模具", "CNC加工中心、电火花机、慢走丝", "精密模具", 4),
        _industry("36", "汽车零部件", "冲压线、焊装线、压铸机", "汽配", 3),
        _industry("37", "轨交船舶配套", "焊接机器人、龙门铣、数控镗床", "轨道装备", 1.5),
        _industry("38", "电机电器", "绕线机、装配线、耐压测试仪", "电气", 6),
        _industry("39", "电子", "SMT贴片机、回流焊、AOI检测仪", "电子科技", 7),
        _industry("391", "计算机", "SMT贴片机、测试工装、老化房", "计算机配件", 1),
        _industry("392", "通信设备", "SMT贴片机、射频测试仪、装配线", "通信设备", 1.5),
        _industry("40", "仪器仪表", "装配线、标定台、数控车床", "仪表", 2),
        _industry("4011", "工控装置", "装配线、老化测试台、贴片机", "自动化设备", 1),
        _industry("41", "其他制造", "装配线、包装机", "制品", 0.5),
        _industry("42", "再生资源", "破碎机、分选线、打包机", "再生资源", 0.5),
        _industry("43", "设备修理", "数控机床、动平衡机", "机电维修", 0.5),
    )
}

# Local industry mix: Changzhou leans to equipment, new-energy electrical and textiles;
# Dongguan to electronics, moulds, furniture, toys, garments and paper (DOMAIN §1).
REGIONAL_INDUSTRY_BOOST: dict[str, dict[str, float]] = {
    "320000": {"34": 3, "35": 3, "33": 2, "38": 3, "36": 2, "17": 2, "3484": 2, "29": 1.5},
    "440000": {"39": 3, "3525": 3, "21": 3, "245": 3, "18": 2, "22": 2, "29": 2, "38": 2},
}

# Titles still need a trade word when a solution serves every industry.
GENERIC_INDUSTRY = IndustryProfile("", "制造", ("生产设备", "数控设备", "产线设备"), "制造", 0)


# --------------------------------------------------------------------------- protocols

# How people write each protocol in a listing; the ids are the protocol vocabulary's.
PROTOCOL_TEXT: dict[str, tuple[str, ...]] = {
    "proto.modbus_tcp": ("Modbus TCP",),
    "proto.modbus_rtu": ("Modbus RTU（RS485）", "RS485串口Modbus"),
    "proto.modbus_rtu_tcp": ("Modbus RTU over TCP",),
    "proto.modbus_ascii": ("Modbus ASCII",),
    "proto.opcua": ("OPC UA",),
    "proto.opc_da": ("OPC DA",),
    "proto.ethernet_ip": ("EtherNet/IP",),
    "proto.s7": ("西门子S7",),
    "proto.s7.isotcp": ("西门子S7-1200", "西门子S7-1500", "S7-200 SMART"),
    "proto.s7.s7_300_400": ("西门子S7-300", "西门子S7-400"),
    "proto.s7.mpi": ("西门子MPI",),
    "proto.s5_fetchwrite": ("S5 Fetch/Write",),
    "proto.ab": ("AB PLC",),
    "proto.ab.logix": ("AB ControlLogix", "CompactLogix"),
    "proto.ab.df1": ("AB DF1",),
    "proto.omron_fins": ("欧姆龙FINS",),
    "proto.mitsubishi_mc": ("三菱MC协议", "三菱Q系列PLC"),
    "proto.iec104": ("IEC 104规约",),
    "proto.iec61850": ("IEC 61850",),
    "proto.dlt645": ("DL/T 645电表",),
    "proto.bacnet": ("BACnet",),
    "proto.mqtt": ("MQTT",),
    "proto.sparkplug_b": ("Sparkplug B",),
    "proto.fanuc_focas": ("FANUC FOCAS", "发那科CNC"),
    "proto.profinet": ("PROFINET",),
}

# The common factory-floor protocols, for capabilities that connect equipment.
_FLOOR_PROTOCOLS = (
    "proto.modbus_tcp", "proto.modbus_rtu", "proto.opcua", "proto.s7.isotcp",
    "proto.s7.s7_300_400", "proto.mitsubishi_mc", "proto.omron_fins", "proto.fanuc_focas",
    "proto.mqtt", "proto.ethernet_ip", "proto.ab.logix", "proto.profinet",
)  # fmt: skip


# --------------------------------------------------------------------------- prices


@dataclass(frozen=True)
class PriceUnit:
    unit: str
    low_yuan: float
    high_yuan: float
    step_yuan: float


# Ranges per pricing model in 元; stored as integer fen. One-off projects stay within 3万–80万元.
PRICE_UNITS: dict[str, tuple[PriceUnit, ...]] = {
    "subscription": (
        PriceUnit("元/月", 300, 20_000, 100),
        PriceUnit("元/年", 3_000, 200_000, 1_000),
        PriceUnit("元/用户/月", 20, 300, 10),
        PriceUnit("元/站点/年", 5_000, 100_000, 1_000),
    ),
    "metered": (
        PriceUnit("元/设备/月", 20, 300, 10),
        PriceUnit("元/点位/月", 1, 8, 1),
    ),
    "one_off": (
        PriceUnit("元/项目", 30_000, 800_000, 5_000),
        PriceUnit("元/套", 30_000, 300_000, 1_000),
    ),
    "lease": (
        PriceUnit("元/设备/月", 80, 600, 10),
        PriceUnit("元/台/月", 150, 1_500, 50),
    ),
    "lease_to_own": (
        PriceUnit("元/设备/月（36期）", 120, 900, 10),
        PriceUnit("元/台/月（24期）", 200, 1_500, 50),
    ),
    "outcome": (PriceUnit("元/百分点良率提升/月", 2_000, 20_000, 500),),
}

PRICE_WORDS = {
    "subscription": "按月订阅",
    "metered": "按接入设备计费",
    "one_off": "一次性买断",
    "lease": "硬件以租代买",
    "lease_to_own": "租满转为企业所有",
    "outcome": "按效果付费",
}


# --------------------------------------------------------------------------- case KPIs


@dataclass(frozen=True)
class Kpi:
    name: str
    unit: str
    before: tuple[float, float]
    # "abs": after drawn from the range; "factor": before × range; "delta": before + range.
    mode: str
    after: tuple[float, float]
    decimals: int = 0
    ceiling: float | None = None


KPIS: dict[str, Kpi] = {
    k.name: k
    for k in (
        Kpi("设备联网率", "%", (8, 40), "abs", (75, 98)),
        Kpi("关键工序数控化率", "%", (30, 55), "abs", (60, 88)),
        Kpi("产品合格率", "%", (91, 97.5), "delta", (0.8, 3.5), 1, 99.9),
        Kpi("单位产值能耗", "吨标煤/万元", (0.08, 0.35), "factor", (0.78, 0.93), 3),
        Kpi("OEE", "%", (42, 62), "delta", (8, 20)),
        Kpi("订单交付周期", "天", (18, 45), "factor", (0.55, 0.85)),
        Kpi("订单准时交付率", "%", (70, 85), "abs", (90, 98)),
        Kpi("库存周转天数", "天", (35, 90), "factor", (0.6, 0.85)),
        Kpi("库存准确率", "%", (82, 93), "abs", (98, 99.8), 1),
        Kpi("计划编制时间", "小时/周", (12, 30), "factor", (0.15, 0.4), 1),
        Kpi("设备故障停机时间", "小时/月", (30, 90), "factor", (0.4, 0.75)),
        Kpi("质检漏检率", "%", (1.5, 5), "factor", (0.1, 0.4), 2),
        Kpi("人均产值", "万元/人", (35, 90), "factor", (1.1, 1.35), 1),
        Kpi("数字化水平评测等级", "级", (1, 1), "abs", (2, 3)),
        Kpi("月度结账时间", "天", (6, 12), "factor", (0.3, 0.6)),
        Kpi("安全隐患整改闭环率", "%", (55, 75), "abs", (92, 100)),
        Kpi("网络故障次数", "次/月", (6, 20), "factor", (0.1, 0.4)),
        Kpi("客户投诉响应时间", "小时", (24, 72), "factor", (0.2, 0.5)),
        Kpi("审批平均耗时", "天", (2, 5), "factor", (0.2, 0.5), 1),
        Kpi("员工数字技能持证人数", "人", (0, 5), "abs", (15, 60)),
        Kpi("等保测评得分", "分", (55, 68), "abs", (78, 92)),
        Kpi("新产品研发周期", "天", (90, 180), "factor", (0.6, 0.85)),
        Kpi("采购周期", "天", (10, 25), "factor", (0.5, 0.8)),
        Kpi("销售回款周期", "天", (60, 120), "factor", (0.7, 0.9)),
        Kpi("工资核算用时", "天", (3, 6), "factor", (0.15, 0.4), 1),
        Kpi("报表编制用时", "小时/周", (10, 24), "factor", (0.1, 0.3), 1),
    )
}


# --------------------------------------------------------------------------- capabilities


@dataclass(frozen=True)
class CapabilityText:
    """How listings of one capability read, and which codes they typically carry.

    Templates may use {ind} (trade word), {equip} (a machine), {proto} (one protocol as written),
    {protos} (several), {size} (smallest client size word) and {days} (delivery days).
    """

    titles: tuple[str, ...]
    summaries: tuple[str, ...]
    pains: tuple[str, ...]
    features: tuple[str, ...]
    benefits: tuple[str, ...]
    project: str  # case title ending ("设备联网与OEE提升项目")
    kpis: tuple[str, ...]
    deployments: tuple[str, ...]
    pricing: tuple[str, ...]  # most typical first
    levels: tuple[int, int]  # scene levels the listing helps reach
    delivery_days: tuple[int, int]
    extras: tuple[str, ...] = ()  # capabilities often sold alongside
    protocols: tuple[str, ...] = ()
    price_units: Mapping[str, tuple[PriceUnit, ...]] = field(default_factory=dict)


CAPABILITY_TEXTS: dict[str, CapabilityText] = {
    "cap.data_acquisition": CapabilityText(
        titles=(
            "{ind}车间设备联网与OEE看板",
            "{equip}数据采集与产量实时统计",
            "老旧设备数采改造套件（支持{proto}）",
            "{size}企业机联网“一周上线”方案",
            "多品牌PLC/CNC统一数采服务",
            "{ind}设备联网与生产透明化",
        ),
        summaries=(
            "为{size}{ind}企业提供即插即用的设备联网与数据采集，{equip}开停机、产量、报警实时上屏。",
            "免改PLC程序接入{protos}等协议，{days}天完成车间设备联网。",
        ),
        pains=(
            "车间{equip}品牌多、接口多样、协议不一致，设备数据拿不到，产量靠人工抄报。",
            "管理者不清楚设备真实稼动率，停机原因说不清，改善无从下手。",
        ),
        features=(
            "边缘网关直连{protos}，无需改动原有PLC程序即可采集开停机、产量、节拍和报警数据。",
            "对没有通讯口的老旧{equip}，加装电流互感器和IO模块采集运行状态。",
            "内置OEE、稼动率和停机原因分析报表，手机和车间大屏同步查看。",
            "数据通过MQTT上送云端，也可部署在本地服务器，满足数据不出厂的要求。",
            "提供点位表梳理和现场接线服务，{days}天内完成首批设备联网。",
        ),
        benefits=(
            "设备联网率可从不足三成提高到九成以上，为数字化水平评测的“设备联网率”打基础。",
            "车间管理从“跑现场看”变为“看数据管”，异常停机响应明显加快。",
        ),
        project="设备联网与OEE提升项目",
        kpis=("设备联网率", "OEE", "设备故障停机时间"),
        deployments=("saas", "edge_device", "hybrid", "on_premises"),
        pricing=("metered", "subscription", "lease", "one_off", "lease_to_own"),
        levels=(2, 3),
        delivery_days=(7, 45),
        extras=("cap.edge_gateway", "cap.scada_hmi", "cap.bi"),
        protocols=_FLOOR_PROTOCOLS,
    ),
    "cap.edge_gateway": CapabilityText(
        titles=(
            "工业边缘网关（{proto}转MQTT）",
            "{ind}产线边缘计算盒子",
            "多协议工业网关租赁服务",
            "边缘网关与本地数据缓存一体机",
            "{equip}边缘采集与断网续传",
        ),
        summaries=(
            "一台网关接入{protos}等协议，边缘侧完成清洗、计算和断网缓存，按台租用降低投入。",
            "面向{size}企业的软硬一体边缘盒子，{days}天部署，支持本地规则告警。",
        ),
        pains=(
            "现场既有串口设备又有以太网PLC，协议转换靠人工写程序，维护困难。",
            "车间网络不稳定，数据经常断传，报表对不上。",
        ),
        features=(
            "网关内置{protos}等驱动，单台可同时接入30台以上设备。",
            "边缘规则引擎在本地完成数据过滤、单位换算和超限报警，断网时缓存7天数据。",
            "北向支持MQTT、HTTP和OPC UA Server，可对接企业自有平台或公有云。",
            "支持远程配置和固件升级，不必派工程师到现场。",
            "工业级宽温设计，适应{ind}车间的粉尘、油污和电磁干扰环境。",
        ),
        benefits=(
            "以租代买，每台网关每月几百元即可用上，减少一次性硬件投入。",
            "解决“接口多样、协议不一”造成的设备互联难题。",
        ),
        project="边缘网关部署与协议转换项目",
        kpis=("设备联网率", "设备故障停机时间"),
        deployments=("edge_device", "hybrid"),
        pricing=("lease", "lease_to_own", "one_off", "metered"),
        levels=(2, 3),
        delivery_days=(5, 30),
        extras=("cap.data_acquisition", "cap.iiot_platform"),
        protocols=(
            *_FLOOR_PROTOCOLS,
            "proto.modbus_rtu_tcp",
            "proto.modbus_ascii",
            "proto.opc_da",
            "proto.s7.mpi",
            "proto.s5_fetchwrite",
            "proto.ab.df1",
            "proto.sparkplug_b",
            "proto.bacnet",
            "proto.dlt645",
            "proto.iec104",
            "proto.s7",
            "proto.ab",
        ),
    ),  # fmt: skip
    "cap.iiot_platform": CapabilityText(
        titles=(
            "{ind}行业工业互联网平台（SaaS版）",
            "轻量化工业互联网平台“{ind}云”",
            "设备上云与工业APP订阅平台",
            "中小企业工业互联网平台接入服务",
            "{ind}产业集群工业互联网平台",
        ),
        summaries=(
            "提供设备接入、数据建模、工业APP和低代码开发能力，中小企业按月订阅即可使用。",
            "面向{ind}产业集群的行业平台，汇聚{equip}等设备数据与生产管理应用。",
        ),
        pains=(
            "企业想上平台却没有开发团队，自建系统成本高、周期长。",
            "多套系统各自为政，设备、生产和经营数据无法贯通。",
        ),
        features=(
            "平台提供设备接入、物模型、规则引擎、可视化和低代码应用搭建，支持{protos}接入。",
            "内置{ind}行业工业APP：设备管理、生产报工、能耗分析和质量追溯，可按需开通。",
            "多租户架构，数据按企业隔离，也支持私有化部署与混合云。",
            "开放API与工业APP市场，便于对接企业已有的ERP、MES。",
        ),
        benefits=(
            "企业不用自建机房和开发团队，以较低成本实现“上云用数赋智”。",
            "平台沉淀的行业模型可在同类企业间快速复制。",
        ),
        project="工业互联网平台应用项目",
        kpis=("设备联网率", "OEE", "人均产值"),
        deployments=("saas", "hybrid", "on_premises"),
        pricing=("subscription", "metered", "one_off"),
        levels=(3, 4),
        delivery_days=(14, 90),
        extras=("cap.data_acquisition", "cap.bi", "cap.energy_mgmt", "cap.mes"),
        protocols=(
            "proto.mqtt",
            "proto.opcua",
            "proto.modbus_tcp",
            "proto.s7.isotcp",
            "proto.sparkplug_b",
            "proto.mitsubishi_mc",
            "proto.s7",
        ),
    ),  # fmt: skip
    "cap.cloud_migration": CapabilityText(
        titles=(
            "中小企业上云套餐（云主机+云办公）",
            "{size}企业“上云用数”服务包",
            "业务系统迁移上云与运维托管",
            "上云券适配服务包",
            "财务与办公系统SaaS化迁移",
        ),
        summaries=(
            "云主机、云存储、云数据库和SaaS应用组合，可使用上云券抵扣，按月付费。",
            "把本地服务器上的ERP、财务和OA迁移上云，{days}天完成切换并提供托管运维。",
        ),
        pains=(
            "机房里的服务器已超期服役，硬盘故障时有发生，数据没有备份。",
            "员工出差无法访问公司系统，审批和报销拖延。",
        ),
        features=(
            "评估现有服务器和业务系统，制定迁移方案，周末窗口完成切换，业务不停机。",
            "提供云主机、对象存储、云数据库和备份容灾组合，按实际用量计费。",
            "开通企业邮箱、云盘和协同办公SaaS，员工用手机即可办公。",
            "7×24小时云上运维值守，每月出具资源使用与安全报告。",
        ),
        benefits=(
            "省去机房建设和硬件更新费用，IT支出从一次性投入变为按月付费。",
            "符合上云券、算力券等政策的使用范围，企业实际支出进一步降低。",
        ),
        project="企业上云项目",
        kpis=("审批平均耗时", "月度结账时间"),
        deployments=("saas", "hybrid"),
        pricing=("subscription", "metered"),
        levels=(2, 3),
        delivery_days=(3, 30),
        extras=("cap.oa_hr", "cap.erp", "cap.security"),
        price_units={"metered": (PriceUnit("元/云主机/月", 100, 2_000, 50),)},
    ),
    "cap.mes": CapabilityText(
        titles=(
            "{size}{ind}厂云MES（按月订阅）",
            "{ind}车间MES与扫码报工",
            "轻量化MES：工单、报工、追溯一体化",
            "{ind}行业MES私有化部署方案",
            "{equip}车间生产执行系统（MES）",
        ),
        summaries=(
            "工单下达、扫码报工、进度看板和质量追溯一套搞定，{days}天上线，按月订阅。",
            "面向{ind}行业的MES，打通计划、生产、质检和仓库，支持与ERP双向集成。",
        ),
        pains=(
            "生产靠纸质工单流转，进度要跑车间问，客户催单时答不上来。",
            "出现质量投诉时查不到批次和操作人，只能整批返工。",
        ),
        features=(
            "工单电子化下发到工位平板，工人扫码报工，生产进度实时可见。",
            "支持按批次或单件正反向追溯，几分钟即可查到原料批次和操作人。",
            "与{equip}采集数据联动，自动计算产量、良率和工时。",
            "提供标准接口对接主流ERP（如用友U8、金蝶云星空），避免重复录入。",
            "移动端审批和异常上报，车间问题当班闭环。",
        ),
        benefits=(
            "生产管理从纸质单据转向系统管控，帮助“生产管控”场景达到二级以上。",
            "在制品和交期一目了然，订单交付周期明显缩短。",
        ),
        project="MES上线项目",
        kpis=("订单交付周期", "产品合格率", "人均产值"),
        deployments=("saas", "on_premises", "hybrid"),
        pricing=("subscription", "one_off"),
        levels=(2, 3),
        delivery_days=(20, 120),
        extras=("cap.data_acquisition", "cap.qms", "cap.aps", "cap.wms"),
        protocols=("proto.opcua", "proto.modbus_tcp", "proto.mqtt"),
    ),
    "cap.erp": CapabilityText(
        titles=(
            "{size}制造企业ERP（业财一体化）",
            "{ind}行业进销存与财务一体化",
            "云ERP订阅服务（生产版）",
            "ERP选型实施与数据迁移",
            "{ind}企业订单到收款一体化",
        ),
        summaries=(
            "覆盖销售、采购、库存、生产和财务的云ERP，适合{size}制造企业，按用户按月付费。",
            "帮助{ind}企业打通订单、采购、库存与财务，实现业财一体化。",
        ),
        pains=(
            "销售、仓库、财务各记各的账，月底对账要一周，库存数常对不上。",
            "老板看不到实时利润，报价和采购全凭经验。",
        ),
        features=(
            "销售订单自动生成采购建议和生产计划，库存实时可查。",
            "业财一体化：出入库自动生成凭证，月底结账从一周缩短到两天。",
            "支持多组织、多仓库和批次管理，满足{ind}行业的批号追溯要求。",
            "手机端查看订单、库存和应收账款。",
            "提供历史数据迁移和关键用户培训。",
        ),
        benefits=(
            "财务数据与业务实时一致，经营者随时看到真实利润。",
            "减少手工对账和重复录入，财务和仓库人员工作量明显下降。",
        ),
        project="ERP业财一体化项目",
        kpis=("库存周转天数", "月度结账时间", "订单交付周期"),
        deployments=("saas", "on_premises", "hybrid"),
        pricing=("subscription", "one_off"),
        levels=(2, 3),
        delivery_days=(30, 150),
        extras=("cap.wms", "cap.supply_chain", "cap.bi", "cap.crm"),
    ),
    "cap.wms": CapabilityText(
        titles=(
            "条码仓储管理系统（WMS）",
            "{ind}企业原料与成品仓数字化",
            "PDA扫码出入库与库位管理",
            "仓储管理与厂内物流配送方案",
        ),
        summaries=(
            "PDA扫码收发料、库位管理和先进先出，库存账实相符，{days}天上线。",
            "面向{ind}企业的WMS，与ERP、MES联动，支持批次追溯和补货提醒。",
        ),
        pains=(
            "仓库靠手工记账，找料靠记忆，错发漏发时有发生。",
            "盘点一次要停工两天，呆滞料越积越多。",
        ),
        features=(
            "来料贴码、扫码上架、扫码拣货，杜绝错发漏发。",
            "库位可视化与先进先出控制，呆滞料自动预警。",
            "与MES联动按工单配料，产线缺料提前提醒。",
            "支持手持PDA、固定式扫码枪和电子标签拣货。",
        ),
        benefits=(
            "库存准确率提高到98%以上，盘点时间从两天缩短到半天。",
            "减少找料时间和错发造成的客户投诉。",
        ),
        project="仓储数字化项目",
        kpis=("库存准确率", "库存周转天数"),
        deployments=("saas", "on_premises"),
        pricing=("subscription", "one_off"),
        levels=(2, 3),
        delivery_days=(15, 60),
        extras=("cap.erp", "cap.mes", "cap.supply_chain"),
    ),
    "cap.qms": CapabilityText(
        titles=(
            "质量管理与追溯系统（QMS）",
            "{ind}产品质量追溯与SPC分析",
            "来料、过程、出货检验数字化",
            "{ind}企业质量体系数字化（含SPC）",
        ),
        summaries=(
            "检验标准、检验记录和不合格品处理线上化，关键参数SPC实时监控，支持一物一码追溯。",
            "帮助{ind}企业建立从原料到成品的质量追溯，满足主机厂审核要求。",
        ),
        pains=(
            "检验记录写在纸上，数据无法统计，同样的质量问题反复出现。",
            "客户审核要求全程追溯，现有手段难以满足。",
        ),
        features=(
            "来料检、首检、巡检、终检线上记录，检验员用平板录入，数据自动汇总。",
            "关键尺寸和工艺参数SPC控制图，超出控制限立即报警。",
            "不合格品评审与8D流程线上闭环。",
            "一物一码追溯，扫码即可查看原料批次、工艺参数和检验结果。",
        ),
        benefits=(
            "质量管理从“事后追责”变为“过程预防”，产品合格率稳步提升。",
            "满足汽车、电子等行业客户的质量追溯审核要求。",
        ),
        project="质量追溯系统项目",
        kpis=("产品合格率", "质检漏检率"),
        deployments=("saas", "on_premises", "hybrid"),
        pricing=("subscription", "one_off"),
        levels=(2, 3),
        delivery_days=(20, 90),
        extras=("cap.mes", "cap.quality_vision", "cap.data_acquisition"),
    ),
    "cap.plm_cad": CapabilityText(
        titles=(
            "图文档与BOM管理（PDM）",
            "{ind}企业研发设计协同平台（PLM）",
            "三维CAD正版化与设计规范服务",
            "CAPP工艺设计与工艺知识库",
            "{ind}产品CAE仿真分析服务",
        ),
        summaries=(
            "统一管理图纸、BOM和设计变更，研发与工艺、生产数据保持一致。",
            "为{ind}企业提供三维设计、工艺编制与仿真分析工具及实施服务。",
        ),
        pains=(
            "图纸散落在个人电脑里，版本混乱，车间常按旧图生产。",
            "新产品开发依赖老师傅经验，试制返工多、周期长。",
        ),
        features=(
            "图纸与BOM集中管理，版本和权限清晰，告别“图纸满天飞”。",
            "设计变更线上审批，变更自动通知工艺和采购。",
            "建立标准件库和典型工艺库，新产品设计周期缩短。",
            "支持主流三维CAD格式轻量化浏览，车间扫码看图。",
            "提供CAE结构与模流分析，减少试模次数。",
        ),
        benefits=(
            "研发数据规范管理，帮助“产品设计”“工艺设计”场景达到二级或三级。",
            "新品开发周期缩短，试制返工减少。",
        ),
        project="研发设计数字化项目",
        kpis=("新产品研发周期", "产品合格率"),
        deployments=("saas", "on_premises"),
        pricing=("subscription", "one_off"),
        levels=(2, 3),
        delivery_days=(20, 120),
        extras=("cap.mes", "cap.erp"),
    ),
    "cap.scada_hmi": CapabilityText(
        titles=(
            "车间SCADA监控与组态",
            "{ind}产线集中监控系统",
            "{equip}远程监控与报警推送",
            "组态软件与上位机定制开发",
            "工厂数字孪生可视化大屏",
        ),
        summaries=(
            "实时监控{equip}等设备运行参数，异常报警推送到手机，支持{protos}。",
            "为{ind}产线提供SCADA组态、上位机和可视化大屏。",
        ),
        pains=(
            "设备分散在多个车间，巡检靠人跑，异常往往发现得太晚。",
            "工艺参数没有记录，出了质量问题无从追查。",
        ),
        features=(
            "组态画面展示设备状态、工艺参数和报警，可查询历史曲线。",
            "报警分级推送到微信和短信，值班人员及时处置。",
            "驱动覆盖{protos}，可接入多品牌PLC和仪表。",
            "B/S架构，办公室和手机都能远程查看。",
        ),
        benefits=(
            "减少巡检人员往返车间，异常发现更早。",
            "工艺参数留痕，方便质量追溯与工艺优化。",
        ),
        project="产线集中监控项目",
        kpis=("设备故障停机时间", "OEE"),
        deployments=("on_premises", "hybrid", "edge_device"),
        pricing=("one_off", "subscription"),
        levels=(2, 3),
        delivery_days=(15, 90),
        extras=("cap.data_acquisition", "cap.edge_gateway"),
        protocols=(
            "proto.s7.isotcp",
            "proto.s7.s7_300_400",
            "proto.modbus_tcp",
            "proto.modbus_rtu",
            "proto.opcua",
            "proto.opc_da",
            "proto.omron_fins",
            "proto.mitsubishi_mc",
            "proto.ab.logix",
            "proto.profinet",
            "proto.ethernet_ip",
            "proto.iec104",
            "proto.bacnet",
        ),
    ),  # fmt: skip
    "cap.energy_mgmt": CapabilityText(
        titles=(
            "能耗在线监测与节能分析",
            "{ind}企业能源管理系统（EMS）",
            "空压站节能改造（按效果付费）",
            "碳排放核算与碳管理平台",
            "水电气分项计量与能效看板",
        ),
        summaries=(
            "分项计量水、电、气，设备级能耗分析找出浪费点，可按节能收益分成付费。",
            "为{ind}企业搭建能耗监测与碳管理平台，支撑绿色工厂申报。",
        ),
        pains=(
            "电费逐年上涨，却不知道电用在了哪里，只能每月看总表。",
            "客户要求提供产品碳足迹，企业缺少能耗和碳排放数据。",
        ),
        features=(
            "加装智能电表和水气流量计，通过DL/T 645和Modbus RTU采集，15分钟出能耗曲线。",
            "按车间、产线、设备分项统计能耗，自动计算单位产值能耗。",
            "峰谷用电分析与负荷优化建议，降低电费。",
            "自动生成碳排放核算报表，满足重点用能单位上报要求。",
            "空压机、冷却塔等重点设备群控优化。",
        ),
        benefits=(
            "用能情况清清楚楚，单位产值能耗下降5%–15%。",
            "节能收益分成模式下企业零投入即可启动。",
        ),
        project="能源管理与节能改造项目",
        kpis=("单位产值能耗",),
        deployments=("saas", "hybrid", "edge_device"),
        pricing=("outcome", "subscription", "one_off", "metered", "lease_to_own"),
        levels=(2, 4),
        delivery_days=(10, 60),
        extras=("cap.data_acquisition", "cap.bi"),
        protocols=(
            "proto.dlt645",
            "proto.modbus_rtu",
            "proto.modbus_tcp",
            "proto.iec104",
            "proto.iec61850",
            "proto.bacnet",
            "proto.mqtt",
            "proto.opcua",
        ),
        price_units={"outcome": (PriceUnit("元/万千瓦时节电量", 800, 3_000, 100),)},
    ),  # fmt: skip
    "cap.predictive_maint": CapabilityText(
        titles=(
            "设备健康监测与预测性维护",
            "{equip}振动监测与故障预警",
            "关键设备远程运维服务",
            "空压机与风机预测性维护（按台订阅）",
            "设备点检、维修与备件管理",
        ),
        summaries=(
            "振动、温度传感器加AI模型，提前发现{equip}等关键设备的故障征兆，减少非计划停机。",
            "远程运维团队7×24小时监测设备健康，按台按月付费。",
        ),
        pains=(
            "关键设备突然停机，一停就是几天，交期被打乱。",
            "维修全靠老师傅经验，备件要么积压要么缺货。",
        ),
        features=(
            "无线振动温度传感器磁吸安装，不停机即可部署。",
            "基于设备机理和历史故障数据训练模型，提前数天预警轴承、齿轮等故障。",
            "维修工单、点检计划和备件库存线上管理。",
            "远程专家诊断，疑难故障可视频指导处理。",
            "统计OEE、MTBF和MTTR，量化设备管理水平。",
        ),
        benefits=(
            "非计划停机时间减少三到五成，维修从“坏了再修”变为“预知维护”。",
            "备件库存更合理，降低资金占用。",
        ),
        project="设备预测性维护项目",
        kpis=("设备故障停机时间", "OEE"),
        deployments=("saas", "hybrid", "edge_device"),
        pricing=("subscription", "metered", "outcome"),
        levels=(3, 4),
        delivery_days=(10, 60),
        extras=("cap.data_acquisition", "cap.iiot_platform"),
        protocols=(
            "proto.opcua",
            "proto.modbus_tcp",
            "proto.mqtt",
            "proto.s7.isotcp",
            "proto.fanuc_focas",
        ),
        price_units={"outcome": (PriceUnit("元/设备/月（可用率达标后）", 100, 800, 10),)},
    ),  # fmt: skip
    "cap.quality_vision": CapabilityText(
        titles=(
            "{ind}产品AI视觉缺陷检测",
            "{equip}在线视觉检测工位",
            "外观缺陷AI质检一体机",
            "视觉尺寸测量与读码追溯",
        ),
        summaries=(
            "工业相机加深度学习模型在线检测外观缺陷，替代人工目检，结果自动写入质量系统。",
            "针对{ind}产品的外观、尺寸和字符检测，小样本快速建模，{days}天上线。",
        ),
        pains=(
            "外观检验全靠人工目检，工人疲劳后漏检多，客户退货时有发生。",
            "检验标准因人而异，质检人员招不到、留不住。",
        ),
        features=(
            "小样本训练：几百张缺陷图片即可建立模型，新缺陷类型可持续学习。",
            "检测节拍可达每分钟上百件，漏检率低于0.1%。",
            "检测结果与MES、QMS联动，不良品自动剔除并可追溯。",
            "软硬一体交付，含相机、光源、工控机和剔除机构，通过{proto}与产线PLC联动。",
        ),
        benefits=(
            "节省目检人员，质检标准统一，不再受人员疲劳影响。",
            "缺陷数据沉淀后可反向优化工艺，提升一次合格率。",
        ),
        project="AI视觉质检项目",
        kpis=("质检漏检率", "产品合格率"),
        deployments=("edge_device", "on_premises", "hybrid"),
        pricing=("one_off", "lease", "subscription", "outcome", "lease_to_own"),
        levels=(3, 4),
        delivery_days=(20, 75),
        extras=("cap.qms", "cap.mes"),
        protocols=(
            "proto.s7.isotcp",
            "proto.modbus_tcp",
            "proto.omron_fins",
            "proto.mitsubishi_mc",
            "proto.profinet",
        ),
    ),  # fmt: skip
    "cap.aps": CapabilityText(
        titles=(
            "高级计划排程（APS）",
            "{ind}智能排产系统",
            "订单交期评估与动态排程",
            "多工序有限产能排程（云APS）",
        ),
        summaries=(
            "在设备产能、物料齐套和交期约束下自动排产，插单后分钟级重排。",
            "为{ind}企业提供智能排程，计划员告别手工Excel排产。",
        ),
        pains=(
            "计划员用Excel排产，一插急单全盘重排，常常排到深夜。",
            "交期承诺靠拍脑袋，订单经常延误。",
        ),
        features=(
            "基于有限产能和工艺路线自动生成工序级计划，甘特图可拖拽调整。",
            "物料齐套检查，缺料提前预警并生成采购建议。",
            "急单插单模拟，快速回复客户交期。",
            "与ERP、MES集成，计划下达到工位自动执行。",
        ),
        benefits=(
            "计划编制从半天缩短到半小时，订单准时交付率提升。",
            "帮助“计划排程”场景从二级提升到三级甚至四级。",
        ),
        project="智能排产项目",
        kpis=("计划编制时间", "订单交付周期", "订单准时交付率"),
        deployments=("saas", "on_premises"),
        pricing=("subscription", "one_off"),
        levels=(3, 4),
        delivery_days=(30, 120),
        extras=("cap.mes", "cap.erp"),
    ),
    "cap.supply_chain": CapabilityText(
        titles=(
            "供应商协同平台（SRM）",
            "{ind}产业链采购协同",
            "链主企业供应商数字化协同",
            "询比价与采购寻源平台",
        ),
        summaries=(
            "供应商门户、在线询比价、订单协同和对账结算，采购全流程透明。",
            "链主企业带动上下游{size}供应商上平台，订单、送货和质量数据在线协同。",
        ),
        pains=(
            "采购订单靠电话和微信确认，交期变更无人通知，产线经常停工待料。",
            "供应商数量多，质量和交付表现缺少数据评价。",
        ),
        features=(
            "供应商注册、准入和绩效评价线上管理。",
            "采购订单、交期确认、送货单和对账全流程在线协同。",
            "在线询比价与招投标，采购过程留痕可审计。",
            "供应商交付和质量绩效自动评分，作为分配订单的依据。",
        ),
        benefits=(
            "采购周期缩短，采购成本降低3%–8%。",
            "中小供应商零成本接入链主平台，获得稳定订单。",
        ),
        project="供应链协同项目",
        kpis=("采购周期", "库存周转天数", "订单交付周期"),
        deployments=("saas", "hybrid"),
        pricing=("subscription", "one_off", "metered"),
        levels=(2, 3),
        delivery_days=(20, 90),
        extras=("cap.erp", "cap.wms"),
        price_units={"metered": (PriceUnit("元/供应商/年", 100, 2_000, 50),)},
    ),
    "cap.network_5g": CapabilityText(
        titles=(
            "工厂5G专网部署",
            "车间工业以太网与无线网络改造",
            "{ind}园区5G+工业互联网",
            "工厂内网改造与网络运维",
        ),
        summaries=(
            "为工厂部署5G专网或工业Wi-Fi，满足AGV、视觉检测和设备联网的低时延需求。",
            "车间网络重新规划布线，IT与OT网络分区隔离，并提供运维托管。",
        ),
        pains=(
            "车间网络是多年来临时拉的线，信号死角多，设备联网经常掉线。",
            "办公网与生产网混在一起，一台电脑中毒就影响整个车间。",
        ),
        features=(
            "现场勘测信号覆盖和设备点位，出具网络规划方案。",
            "5G专网数据不出园区，时延满足AGV调度和远程控制要求。",
            "工业交换机环网冗余，单点故障不影响生产。",
            "IT网络与OT网络分区，配合工控安全要求。",
        ),
        benefits=(
            "打牢设备联网的网络基础，“网络建设”评测项可取得较高分值。",
            "减少车间布线，产线调整更灵活。",
        ),
        project="工厂网络改造项目",
        kpis=("网络故障次数", "设备联网率"),
        deployments=("on_premises", "hybrid", "edge_device"),
        pricing=("one_off", "subscription", "lease"),
        levels=(2, 3),
        delivery_days=(15, 90),
        extras=("cap.data_acquisition", "cap.edge_gateway"),
        protocols=("proto.profinet", "proto.ethernet_ip", "proto.mqtt"),
    ),
    "cap.security": CapabilityText(
        titles=(
            "等保2.0三级建设与测评辅导",
            "工控安全防护与主机加固",
            "中小企业网络安全托管服务",
            "数据备份与勒索病毒防护",
        ),
        summaries=(
            "从差距评估、安全加固到测评辅导，一站式帮助企业通过等保测评。",
            "工控网络边界防护、主机白名单和安全审计，保障生产系统安全。",
        ),
        pains=(
            "客户和监管要求通过等保测评，企业没有专职安全人员。",
            "车间电脑系统老旧、从不打补丁，曾因病毒导致停产。",
        ),
        features=(
            "开展等保差距分析，出具整改清单和加固方案。",
            "部署工业防火墙和主机白名单，阻断病毒在车间网络扩散。",
            "7×24小时安全监测，发现威胁及时处置并出具月报。",
            "重要数据定期异地备份，遭遇勒索病毒后可快速恢复。",
        ),
        benefits=(
            "帮助企业在“信息安全”评测项取得分数，满足客户和监管的安全要求。",
            "以订阅方式获得专业安全团队支持。",
        ),
        project="网络安全等级保护项目",
        kpis=("等保测评得分", "网络故障次数"),
        deployments=("on_premises", "saas", "hybrid"),
        pricing=("one_off", "subscription"),
        levels=(2, 3),
        delivery_days=(15, 90),
        extras=("cap.scada_hmi", "cap.cloud_migration"),
        protocols=("proto.s7.isotcp", "proto.modbus_tcp", "proto.opcua"),
    ),
    "cap.diagnosis": CapabilityText(
        titles=(
            "中小企业数字化水平诊断评测",
            "智改数转诊断与改造方案编制",
            "{ind}企业数字化转型规划咨询",
            "两化融合管理体系贯标咨询",
            "数字化改造项目监理与成效评估",
        ),
        summaries=(
            "对照中小企业数字化水平评测指标开展诊断，出具现状等级、短板和改造需求清单。",
            "专家团队进厂诊断，结合{ind}行业特点制定分步改造路线和投资测算。",
        ),
        pains=(
            "企业想转型又不知从何下手，担心投入打水漂，处于“不想、不敢、不会”的观望状态。",
            "以前上过的系统没用起来，老板对数字化投入心存顾虑。",
        ),
        features=(
            "线上问卷与专家现场调研结合，覆盖研发、生产、质量、供应链和管理等场景。",
            "出具诊断报告：数字化水平等级、各场景短板、改造优先级和预算建议。",
            "协助企业编制改造需求清单，对接合适的服务商并参与方案评审。",
            "改造完成后开展复评，量化成效，支撑补贴申报材料。",
        ),
        benefits=(
            "企业先看清楚再投入，避免“重硬件、轻软件”和盲目上系统。",
            "改造目标可量化、可验收，符合试点城市“改造后达到二级以上”的要求。",
        ),
        project="数字化诊断与改造规划项目",
        kpis=("数字化水平评测等级", "关键工序数控化率"),
        deployments=("on_premises", "saas"),
        pricing=("one_off", "subscription"),
        levels=(2, 3),
        delivery_days=(7, 45),
        extras=("cap.training",),
        price_units={
            "one_off": (PriceUnit("元/项目", 30_000, 150_000, 1_000),),
            "subscription": (PriceUnit("元/年", 10_000, 60_000, 1_000),),
        },
    ),
    "cap.training": CapabilityText(
        titles=(
            "智能制造与工业互联网人才培训",
            "车间数字化应用实操培训",
            "企业数字化转型领导力研修班",
            "工业数据分析实训营",
        ),
        summaries=(
            "面向企业管理层和一线骨干的数字化培训，课程结合本地案例和实操。",
            "在实训基地开展PLC、数采、MES等系统操作实训，考核合格发放结业证书。",
        ),
        pains=(
            "系统上线后没人会用，懂OT又懂IT的人才招不到。",
            "管理层对数字化认识不足，转型推进缺少带头人。",
        ),
        features=(
            "课程覆盖数字化转型认知、设备联网、MES应用和数据分析等内容。",
            "采用“理论+实训+参观”方式，学员可到示范工厂现场学习。",
            "可按企业需求定制内训，送教上门。",
            "培训后跟踪学员在岗应用情况，形成能力档案。",
        ),
        benefits=(
            "解决“不会转”的问题，帮助企业培养自己的OT+IT复合人才。",
            "满足“人才建设”评测项要求，为后续系统上线打下基础。",
        ),
        project="数字化人才培养项目",
        kpis=("员工数字技能持证人数",),
        deployments=("on_premises", "saas"),
        pricing=("one_off", "subscription"),
        levels=(2, 2),
        delivery_days=(3, 30),
        extras=("cap.diagnosis", "cap.mes"),
        price_units={
            "one_off": (
                PriceUnit("元/人", 800, 6_000, 100),
                PriceUnit("元/期", 30_000, 150_000, 1_000),
            ),
            "subscription": (PriceUnit("元/用户/年", 300, 3_000, 100),),
        },
    ),
    "cap.crm": CapabilityText(
        titles=(
            "制造业CRM与销售管理",
            "售后服务工单系统",
            "经销商与客户门户",
            "{ind}企业客户管理与报价系统",
        ),
        summaries=(
            "客户、商机、报价、合同和回款一体化管理，销售过程透明可控。",
            "售后报修、派工、备件和回访线上闭环，客户扫码即可报修。",
        ),
        pains=(
            "客户资料在业务员手机里，人一走客户就流失。",
            "售后报修靠电话，派工和备件没有记录，客户抱怨响应慢。",
        ),
        features=(
            "客户和商机集中管理，销售离职客户不流失。",
            "报价模板与审批流程，快速给客户出价。",
            "售后工单自动派发，工程师手机接单、签到和反馈。",
            "与ERP同步订单和回款，应收账款一目了然。",
        ),
        benefits=(
            "销售预测更准，订单与生产计划衔接更顺。",
            "客户满意度提升，售后响应时间缩短。",
        ),
        project="客户与售后服务数字化项目",
        kpis=("客户投诉响应时间", "销售回款周期"),
        deployments=("saas",),
        pricing=("subscription",),
        levels=(2, 3),
        delivery_days=(7, 45),
        extras=("cap.erp", "cap.predictive_maint"),
    ),
    "cap.safety": CapabilityText(
        titles=(
            "安全生产信息化管理平台",
            "危险化学品与危废全流程管理",
            "隐患排查与作业许可系统",
            "{ind}企业安全风险监测预警",
        ),
        summaries=(
            "隐患排查、作业许可、安全培训和危废台账线上管理，风险实时预警。",
            "为{ind}企业提供危险源在线监测、危废跟踪和应急预案管理。",
        ),
        pains=(
            "隐患排查靠纸质记录，整改情况无法跟踪，检查时材料难以提供。",
            "危化品和危废台账手工登记，数量对不上。",
        ),
        features=(
            "隐患随手拍上报、整改派单和复查闭环。",
            "动火、受限空间等特殊作业许可线上审批。",
            "可燃气体、温度和压力在线监测，超限时声光和手机报警。",
            "危废产生、贮存、转移全过程台账，对接监管平台。",
        ),
        benefits=(
            "安全管理有据可查，满足应急管理部门检查要求。",
            "风险早发现、早处置，事故隐患明显减少。",
        ),
        project="安全生产信息化项目",
        kpis=("安全隐患整改闭环率",),
        deployments=("saas", "hybrid"),
        pricing=("subscription", "one_off"),
        levels=(2, 3),
        delivery_days=(10, 60),
        extras=("cap.data_acquisition",),
        protocols=("proto.modbus_rtu", "proto.modbus_tcp", "proto.mqtt"),
    ),
    "cap.oa_hr": CapabilityText(
        titles=(
            "协同办公与流程审批（OA）",
            "制造业人力资源与考勤薪酬系统",
            "计件工资与车间考勤一体化",
            "移动办公与企业通讯录",
        ),
        summaries=(
            "审批、公文、会议和知识管理线上化，与业务系统单点登录。",
            "考勤、排班和计件工资自动核算，员工用手机查工资。",
        ),
        pains=(
            "请假、报销都要找领导签字，领导出差时流程就停了。",
            "计件工资靠统计员手工汇总，每月发薪前加班核对，员工仍有异议。",
        ),
        features=(
            "请假、报销、采购等审批流程可视化配置，手机随时处理。",
            "车间人脸考勤与排班，计件数据从MES自动取数。",
            "薪酬、社保和个税自动核算，工资条电子化推送。",
            "与ERP、MES统一账号登录，消息集中提醒。",
        ),
        benefits=(
            "审批效率提升，纸质单据大幅减少。",
            "计件工资核算从几天缩短到几小时，差错和纠纷减少。",
        ),
        project="协同办公与人力数字化项目",
        kpis=("审批平均耗时", "工资核算用时"),
        deployments=("saas", "on_premises"),
        pricing=("subscription", "one_off"),
        levels=(2, 3),
        delivery_days=(5, 45),
        extras=("cap.cloud_migration",),
    ),
    "cap.bi": CapabilityText(
        titles=(
            "经营驾驶舱与数据看板",
            "{ind}企业BI数据分析平台",
            "工厂数据中台与指标体系建设",
            "经营日报移动看板",
        ),
        summaries=(
            "汇聚ERP、MES和设备数据，自动生成经营驾驶舱和管理报表。",
            "为{ind}企业建立指标体系与数据中台，支持预测与预警分析。",
        ),
        pains=(
            "每月经营报表要财务和统计员手工做好几天，出来时已经过时。",
            "各系统数据口径不一，开会时各说各的数。",
        ),
        features=(
            "预置制造业常用指标：产值、订单、库存、良率、能耗和设备效率。",
            "拖拽式自助分析，业务人员不写代码也能做报表。",
            "异常指标自动预警，推送到管理者手机。",
            "基于历史数据预测销量与产能，辅助经营决策。",
        ),
        benefits=(
            "管理者每天看一屏数据就能掌握经营全貌。",
            "决策从“拍脑袋”转向“看数据”。",
        ),
        project="经营数据分析项目",
        kpis=("报表编制用时", "人均产值"),
        deployments=("saas", "on_premises", "hybrid"),
        pricing=("subscription", "one_off"),
        levels=(2, 4),
        delivery_days=(10, 60),
        extras=("cap.erp", "cap.mes", "cap.iiot_platform"),
    ),
}

# Capabilities that rarely depend on the client's trade, so listings often leave industry open.
INDUSTRY_NEUTRAL: frozenset[str] = frozenset(
    {
        "cap.erp", "cap.oa_hr", "cap.crm", "cap.cloud_migration", "cap.security",
        "cap.training", "cap.bi", "cap.diagnosis", "cap.network_5g",
    }
)  # fmt: skip

# Where each provider type concentrates (weights over capability ids; unlisted ones get 1).
TYPE_FOCUS: dict[str, dict[str, float]] = {
    "product": {"cap.diagnosis": 0.3, "cap.training": 0.3, "cap.network_5g": 0.5},
    "integrator": {
        "cap.mes": 4, "cap.erp": 3, "cap.data_acquisition": 4, "cap.scada_hmi": 3,
        "cap.wms": 2, "cap.network_5g": 2, "cap.security": 2, "cap.training": 0.5,
    },
    "platform": {
        "cap.iiot_platform": 8, "cap.cloud_migration": 5, "cap.bi": 3,
        "cap.data_acquisition": 3, "cap.energy_mgmt": 2, "cap.predictive_maint": 2,
        "cap.network_5g": 2,
    },
    "chain_leader": {
        "cap.supply_chain": 8, "cap.mes": 3, "cap.qms": 3, "cap.erp": 2,
        "cap.quality_vision": 2, "cap.training": 0.3, "cap.diagnosis": 0.3,
    },
    "enabler": {"cap.diagnosis": 10, "cap.training": 8, "cap.security": 2, "cap.bi": 1},
    "lead_unit": {"cap.diagnosis": 4, "cap.iiot_platform": 4, "cap.mes": 3, "cap.erp": 2},
    "partner": {},
}  # fmt: skip

TYPE_PHRASES_ZH = {
    "product": "专注“小快轻准”数字化产品的工业软件企业",
    "integrator": "面向{ind}等细分行业的综合集成服务商",
    "platform": "工业互联网平台运营商",
    "chain_leader": "{ind}行业龙头制造企业，沿供应链输出自身数字化经验",
    "enabler": "为中小企业提供数字化诊断、评测和培训的赋能机构",
    "lead_unit": "数字化牵引单位，牵头组建生态联合体并发布产品和服务目录",
    "partner": "数字化牵引单位生态联合体成员",
    "expert": "个人专家工作室",
}
TYPE_PHRASES_EN = {
    "product": "software company with small, fast, light and precise products",
    "integrator": "full-stack integrator",
    "platform": "industrial internet platform operator",
    "chain_leader": "anchor manufacturer sharing its own solutions along its supply chain",
    "enabler": "enabling institution for diagnosis, evaluation and training",
    "lead_unit": "digital lead unit with a partner consortium",
    "partner": "member of a lead unit's consortium",
    "expert": "independent expert",
}

# Headcount range per provider type; revenue follows from revenue per head (万元/人).
HEADCOUNT: dict[str, tuple[int, int]] = {
    "product": (5, 180),
    "integrator": (25, 600),
    "platform": (80, 3_000),
    "chain_leader": (300, 5_000),
    "enabler": (6, 200),
    "lead_unit": (150, 2_000),
    "partner": (8, 300),
    "expert": (1, 5),
}
PATENTS: dict[str, tuple[int, int]] = {
    "product": (2, 40),
    "integrator": (5, 80),
    "platform": (20, 300),
    "chain_leader": (30, 500),
    "enabler": (0, 15),
    "lead_unit": (20, 200),
    "partner": (1, 40),
    "expert": (0, 3),
}
POLICY_TAG_ODDS: tuple[tuple[str, float], ...] = (
    ("high_tech", 0.55),
    ("tech_sme", 0.4),
    ("innovative_sme", 0.3),
    ("zjtx", 0.25),
    ("lianghua_ms", 0.15),
    ("dcmm", 0.08),
    ("little_giant", 0.06),
)


# --------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class CertSpec:
    name: str
    issuer: str  # may use {province}; every issuer is fictional and says so
    number_prefix: str
    policy_tag: str | None = None


CERTIFICATES: tuple[CertSpec, ...] = (
    CertSpec("ISO 9001质量管理体系认证", "华信质量认证有限公司（示例）", "QMS"),
    CertSpec("ISO/IEC 27001信息安全管理体系认证", "安衡认证中心（示例）", "ISMS"),
    CertSpec("CMMI 3级评估", "软件能力成熟度评估机构（示例）", "CMMI"),
    CertSpec("两化融合管理体系评定证书", "两化融合评定机构（示例）", "LHRH", "lianghua_ms"),
    CertSpec("网络安全等级保护三级测评报告", "等级保护测评中心（示例）", "DBCP"),
    CertSpec("高新技术企业证书", "{province}高新技术企业认定机构（示例）", "GR", "high_tech"),
    CertSpec("ITSS信息技术服务运维标准符合性证书（三级）", "ITSS评估机构（示例）", "ITSS"),
    CertSpec("DCMM数据管理能力成熟度二级", "DCMM评估机构（示例）", "DCMM", "dcmm"),
)


# --------------------------------------------------------------------------- drafts


@dataclass
class ProviderDraft:
    name: str
    short_name: str
    city: City
    provider_type: str
    focus: tuple[str, ...]
    industries: tuple[str, ...]
    employees: int
    revenue_wan: int | None
    assets_wan: int | None
    size: str | None
    founded_year: int
    policy_tags: list[str]
    patents_count: int
    capacity: int
    contact_name: str
    contact_phone: str
    contact_email: str
    website: str
    service_regions: list[str]
    on_site_regions: list[str]
    description_zh: str
    description_en: str | None


@dataclass(frozen=True)
class PriceDraft:
    model: str
    min_fen: int
    max_fen: int | None
    unit: str


@dataclass
class SolutionDraft:
    title: str
    summary: str
    description: str
    delivery_days: int
    capabilities: list[str]
    industries: list[str]
    sizes: list[str]
    protocols: list[str]
    deployments: list[str]
    scenes: list[tuple[str, int]]
    prices: list[PriceDraft]

    def facets(self) -> list[tuple[str, str, int]]:
        """(facet, code, position) rows in the order the solution lists them."""
        rows: list[tuple[str, str, int]] = []
        for facet, codes in (
            ("capability", self.capabilities),
            ("industry", self.industries),
            ("size", self.sizes),
            ("protocol", self.protocols),
            ("deployment", self.deployments),
        ):
            rows.extend((facet, code, position) for position, code in enumerate(codes))
        return rows


@dataclass
class CaseDraft:
    title: str
    client_name: str | None
    client_industry: str
    client_size: str
    region_code: str
    problem: str
    solution_text: str
    outcomes: list[dict[str, float | str]]


@dataclass(frozen=True)
class CertDraft:
    name: str
    issuer: str
    number: str
    valid_for_days: int  # from the caller's base date; negative means already expired


# --------------------------------------------------------------------------- helpers


def weighted(rng: random.Random, pairs: Sequence[tuple[T, float]]) -> T:
    """One item drawn by weight; a linear scan, since every table here is short."""
    total = sum(weight for _, weight in pairs)
    mark = rng.random() * total
    for item, weight in pairs:
        mark -= weight
        if mark < 0:
            return item
    return pairs[-1][0]


def weighted_distinct(rng: random.Random, pairs: Sequence[tuple[T, float]], count: int) -> list[T]:
    pool = list(pairs)
    chosen: list[T] = []
    while pool and len(chosen) < count:
        item = weighted(rng, pool)
        chosen.append(item)
        pool = [pair for pair in pool if pair[0] != item]
    return chosen


def _round_to(value: float, step: float) -> float:
    return max(step, round(value / step) * step)


def _capability_ids() -> tuple[str, ...]:
    return tuple(term.id for term in vocabulary("capabilities"))


def _capability_scenes(capability: str) -> tuple[str, ...]:
    term = vocabulary("capabilities").get(capability)
    return tuple(term.extra.get("scenes", ())) if term else ()


def industry_profile(code: str) -> IndustryProfile:
    return INDUSTRIES.get(code) or INDUSTRIES.get(code[:2]) or GENERIC_INDUSTRY


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)


def phone_number(rng: random.Random, city: City) -> str:
    # Three-digit area codes go with eight-digit numbers, four-digit ones here too for simplicity.
    return f"{city.phone_area}-{rng.choice('568')}{rng.randrange(10**7):07d}"


def company_name(rng: random.Random, city: City, provider_type: str) -> tuple[str, str]:
    """(full legal name without any mark, short name used in running text)."""
    brand = rng.choice(BRANDS)
    words = BUSINESS_WORDS.get(provider_type, BUSINESS_WORDS["default"])
    business = rng.choice(words)
    # Consultancies and institutes are limited companies, hardly ever joint-stock ones.
    suffix = "有限公司" if provider_type == "enabler" else weighted(rng, LEGAL_SUFFIXES)
    short = brand + SHORT_BUSINESS.get(business, business[:2])
    return f"{city.short}{brand}{business}{suffix}", short


def client_company_name(rng: random.Random, city: City, industry: IndustryProfile) -> str:
    return f"{city.short}{rng.choice(BRANDS)}{industry.firm}有限公司"


def _industry_pool(city: City) -> list[tuple[str, float]]:
    boost = REGIONAL_INDUSTRY_BOOST.get(city.province, {})
    return [(code, p.weight * boost.get(code, 1.0)) for code, p in INDUSTRIES.items()]


def _service_regions(rng: random.Random, city: City) -> tuple[list[str], list[str]]:
    """(service regions, on-site regions): locals cover their area; some outsiders fly in."""
    service = [city.code, city.province] if city.province != city.code else [city.code]
    on_site = [city.code, *rng.sample(city.nearby, k=rng.randint(0, len(city.nearby)))]
    for pilot in (CHANGZHOU, DONGGUAN):
        if pilot in on_site:
            continue
        pilot_province = pilot[:2] + "0000"
        if city.province == pilot_province:
            odds = 0.25  # elsewhere in the same province: a short trip
        elif city.province in ("320000", "440000"):
            odds = 0.05  # the other pilot's province: Changzhou firms rarely staff Dongguan
        else:
            odds = 0.33  # outside firms courting the pilot programmes (内引外联)
        if rng.random() < odds:
            on_site.append(pilot)
            if pilot_province not in service:
                service.append(pilot_province)
    return service, on_site


def draw_provider(
    rng: random.Random,
    *,
    city_code: str,
    slug: str,
    provider_type: str | None = None,
    primary: str | None = None,
) -> ProviderDraft:
    """A provider profile (without identifiers) registered in ``city_code``.

    ``slug`` makes its contact e-mail and website unique; ``primary`` forces the first focus
    capability so a caller can make sure every capability is offered by someone.
    """
    city = CITIES[city_code]
    if provider_type is None:
        types: list[tuple[str, float]] = [
            ("product", 45), ("integrator", 30), ("platform", 8), ("chain_leader", 6),
            ("enabler", 6),
        ]  # fmt: skip
        if city.code[:2] == "44":
            # Dongguan's lead units and their consortium partners (DOMAIN §2).
            types += [("lead_unit", 3), ("partner", 5)]
        provider_type = weighted(rng, types)
    name, short = company_name(rng, city, provider_type)

    focus_weights = TYPE_FOCUS.get(provider_type, {})
    pairs = [(cap, focus_weights.get(cap, 1.0)) for cap in _capability_ids() if cap != primary]
    focus = weighted_distinct(rng, pairs, rng.randint(2, 4))
    if primary is not None:
        focus = [primary, *focus[:3]]
    industries = weighted_distinct(rng, _industry_pool(city), rng.randint(2, 4))

    low, high = HEADCOUNT[provider_type]
    # Log-uniform headcount: many small firms, a few large ones.
    employees = int(round(low * (high / low) ** rng.random()))
    revenue_wan: int | None = int(employees * rng.uniform(12, 70))
    assets_wan: int | None = int((revenue_wan or 0) * rng.uniform(0.4, 1.6))
    if rng.random() < 0.04:
        # A few providers have not declared revenue yet, so their size stays unknown.
        revenue_wan = assets_wan = None
    size = derive_size(
        sector=PROVIDER_SIZE_SECTOR,
        employees=employees,
        revenue_wan=revenue_wan,
        assets_wan=assets_wan,
    )
    # Platform operators are a post-2010 business; the others range from old automation firms on.
    platform = provider_type == "platform"
    founded_year = rng.randint(2010, 2020) if platform else rng.randint(1996, 2022)
    tags = [tag for tag, odds in POLICY_TAG_ODDS if rng.random() < odds]
    if size == "large" and rng.random() < 0.3:
        tags.append("single_champion")
    if "little_giant" in tags and "zjtx" not in tags:
        tags.append("zjtx")  # 小巨人 are chosen from among the 专精特新 firms
    patent_low, patent_high = PATENTS[provider_type]
    patents = rng.randint(patent_low, patent_high)
    capacity = max(2, min(30, employees // 10 + rng.randint(1, 5)))
    service, on_site = _service_regions(rng, city)

    cap_names = [vocabulary("capabilities").get(cap) for cap in focus]
    zh_caps = "、".join(term.zh for term in cap_names[:3] if term)
    en_caps = ", ".join(term.en for term in cap_names[:2] if term)
    ind_words = "、".join(industry_profile(code).word for code in industries[:3])
    ind_term = vocabulary("industries").get(industries[0][:2])
    type_zh = TYPE_PHRASES_ZH.get(provider_type, "数字化服务商").format(
        ind=industry_profile(industries[0]).word
    )
    sentences = [
        f"{short}成立于{founded_year}年，总部位于{city.short}，是一家{type_zh}。",
        f"主要提供{zh_caps}等服务，客户集中在{ind_words}等行业的中小企业。",
    ]
    if rng.random() < 0.7:
        sentences.append(f"拥有专利和软件著作权{patents}项，可提供驻场实施和7×24小时远程运维。")
    if rng.random() < 0.6:
        served = rng.randint(12, 400)
        sentences.append(f"已为{city.short}及周边{served}家企业完成数字化改造，老客户续约率较高。")
    description_en = None
    if rng.random() < 0.35:
        ind_en = ind_term.en.lower() if ind_term else "manufacturing"
        description_en = (
            f"Fictional {TYPE_PHRASES_EN.get(provider_type, 'provider')} based in {city.en}, "
            f"offering {en_caps} to SMEs in {ind_en} and related trades."
        )
    domain = EMAIL_DOMAINS[sum(map(ord, slug)) % len(EMAIL_DOMAINS)]
    return ProviderDraft(
        name=name,
        short_name=short,
        city=city,
        provider_type=provider_type,
        focus=tuple(focus),
        industries=tuple(industries),
        employees=employees,
        revenue_wan=revenue_wan,
        assets_wan=assets_wan,
        size=size,
        founded_year=founded_year,
        policy_tags=tags,
        patents_count=patents,
        capacity=capacity,
        contact_name=person_name(rng),
        contact_phone=phone_number(rng, city),
        contact_email=f"contact.{slug}@{domain}",
        website=f"https://example.com/{slug}",
        service_regions=service,
        on_site_regions=on_site,
        description_zh="".join(sentences),
        description_en=description_en,
    )


def draw_certifications(rng: random.Random, provider: ProviderDraft) -> list[CertDraft]:
    """0–4 certificates, consistent with the provider's policy tags where a tag has one."""
    wanted = [spec for spec in CERTIFICATES if spec.policy_tag in provider.policy_tags]
    others = [spec for spec in CERTIFICATES if spec not in wanted]
    count = weighted(rng, [(0, 2), (1, 3), (2, 3), (3, 2), (4, 1)])
    # A tag that implies a certificate always brings it; random ones make up the count.
    extra = rng.sample(others, k=min(len(others), max(0, count - len(wanted))))
    chosen = wanted + extra
    province = region(provider.city.province)
    province_zh = province.zh if province else provider.city.short
    drafts = []
    for spec in chosen[:4]:
        year = rng.randint(2021, 2025)
        serial = rng.randrange(10**6)
        if spec.number_prefix == "GR":
            number = f"GR{year}{provider.city.code[:2]}{serial:06d}"
        else:
            number = f"{spec.number_prefix}-{year}-{serial:06d}"
        drafts.append(
            CertDraft(
                name=spec.name,
                issuer=spec.issuer.format(province=province_zh),
                number=number,
                # About a quarter lapsed before the base date: curators must notice those.
                valid_for_days=rng.randint(-420, 1_100),
            )
        )
    return drafts


def _pick_sizes(rng: random.Random, provider_type: str) -> list[str]:
    if provider_type in ("integrator", "platform", "lead_unit"):
        start = weighted(rng, [(0, 1), (1, 5), (2, 4)])
    else:
        start = weighted(rng, [(0, 4), (1, 5), (2, 1)])
    span = rng.randint(1, 3)
    return list(SIZES[start : min(len(SIZES), start + span)])


def _pick_industries(rng: random.Random, provider: ProviderDraft, capability: str) -> list[str]:
    if rng.random() < (0.4 if capability in INDUSTRY_NEUTRAL else 0.1):
        return []  # serves any trade
    count = min(len(provider.industries), weighted(rng, [(1, 4), (2, 3), (3, 1)]))
    return rng.sample(list(provider.industries), k=count)


def _draw_price(rng: random.Random, model: str, text: CapabilityText) -> PriceDraft:
    spec = rng.choice(text.price_units.get(model) or PRICE_UNITS[model])
    # The floor lands in the lower half of the range so a ceiling above it still fits.
    middle = spec.low_yuan + (spec.high_yuan - spec.low_yuan) / 2
    low = _round_to(rng.uniform(spec.low_yuan, middle), spec.step_yuan)
    high: float | None = None
    if rng.random() < 0.8:
        high = min(spec.high_yuan, _round_to(low * rng.uniform(1.3, 3.0), spec.step_yuan))
        high = max(high, low)
    return PriceDraft(
        model=model,
        min_fen=int(round(low * 100)),
        max_fen=None if high is None else int(round(high * 100)),
        unit=spec.unit,
    )


def _price_text(price: PriceDraft) -> str:
    low = price.min_fen / 100
    shown = f"{low:g}" if low < 10_000 else f"{low / 10_000:g}万"
    unit = price.unit.removeprefix("元")
    return f"{PRICE_WORDS[price.model]}，{shown}元{unit}起"


def draw_solution(rng: random.Random, provider: ProviderDraft, capability: str) -> SolutionDraft:
    """One listing whose primary capability is ``capability``, in the provider's voice."""
    text = CAPABILITY_TEXTS[capability]
    capabilities = [capability]
    own_scenes = _capability_scenes(capability)
    extras = list(text.extras)
    rng.shuffle(extras)
    extra_count = rng.randint(0, min(2, len(extras)))
    if not own_scenes:
        # A capability with no MIIT scene of its own (network, security, training) is sold with
        # one that has, so the listing can still say which scene it lifts.
        extra_count = max(1, extra_count)
    capabilities += extras[:extra_count]

    industries = _pick_industries(rng, provider, capability)
    profile = industry_profile(industries[0]) if industries else GENERIC_INDUSTRY
    sizes = _pick_sizes(rng, provider.provider_type)
    protocols: list[str] = []
    if text.protocols and (capability != "cap.mes" or rng.random() < 0.4):
        protocols = rng.sample(list(text.protocols), k=min(len(text.protocols), rng.randint(2, 6)))
    deploy_count = rng.randint(1, min(2, len(text.deployments)))
    deployments = rng.sample(list(text.deployments), k=deploy_count)

    scene_pool = list(dict.fromkeys(s for cap in capabilities for s in _capability_scenes(cap)))
    first = [s for s in scene_pool if s in own_scenes][:1] or scene_pool[:1]
    rest = [s for s in scene_pool if s not in first]
    chosen_scenes = first + rng.sample(rest, k=min(len(rest), rng.randint(0, 2)))
    low_level, high_level = text.levels
    scenes = [(scene, rng.randint(low_level, high_level)) for scene in chosen_scenes]

    models = [text.pricing[0]] if rng.random() < 0.5 else [rng.choice(text.pricing)]
    if len(text.pricing) > 1 and rng.random() < 0.35:
        second = rng.choice([m for m in text.pricing if m != models[0]])
        models.append(second)
    prices = [_draw_price(rng, model, text) for model in models]

    days = rng.randint(*text.delivery_days)
    phrases = [rng.choice(PROTOCOL_TEXT[p]) for p in protocols] or ["Modbus TCP", "OPC UA"]
    values = {
        "ind": profile.word,
        "equip": rng.choice(profile.equipment),
        "proto": phrases[0],
        "protos": "、".join(phrases[:4]),
        "size": SIZE_TITLE_WORD[sizes[0]],
        "days": days,
    }
    title = rng.choice(text.titles).format(**values)
    summary = rng.choice(text.summaries).format(**values)
    features = rng.sample(list(text.features), k=rng.randint(2, 3))
    parts = [
        rng.choice(text.pains).format(**values),
        *(feature.format(**values) for feature in features),
        rng.choice(text.benefits).format(**values),
        f"典型交付周期约{days}天，{_price_text(prices[0])}。",
    ]
    return SolutionDraft(
        title=title,
        summary=summary,
        description="".join(parts),
        delivery_days=days,
        capabilities=capabilities,
        industries=industries,
        sizes=sizes,
        protocols=protocols,
        deployments=deployments,
        scenes=scenes,
        prices=prices,
    )


def _kpi_outcome(rng: random.Random, kpi: Kpi) -> dict[str, float | str]:
    before = rng.uniform(*kpi.before)
    if kpi.mode == "abs":
        after = rng.uniform(*kpi.after)
    elif kpi.mode == "factor":
        after = before * rng.uniform(*kpi.after)
    else:
        after = before + rng.uniform(*kpi.after)
    if kpi.ceiling is not None:
        after = min(after, kpi.ceiling)
    return {
        "kpi": kpi.name,
        "before": round(before, kpi.decimals),
        "after": round(after, kpi.decimals),
        "unit": kpi.unit,
    }


def draw_case(
    rng: random.Random,
    provider: ProviderDraft,
    solutions: Sequence[SolutionDraft],
    *,
    mark: str,
) -> CaseDraft:
    """A delivered project built on ``solutions`` (1–2 of the provider's own listings)."""
    lead = solutions[0]
    capability = lead.capabilities[0]
    text = CAPABILITY_TEXTS[capability]
    codes = lead.industries or list(provider.industries)
    industry = rng.choice(codes)
    profile = industry_profile(industry)
    client_sizes = [s for s in lead.sizes if s != "large"] or ["medium"]
    client_size = rng.choice(client_sizes)
    region_code = rng.choice(provider.on_site_regions)
    client_city = CITIES.get(region_code, provider.city)
    equipment = rng.choice(profile.equipment)
    phrases = [rng.choice(PROTOCOL_TEXT[p]) for p in lead.protocols] or ["Modbus TCP", "OPC UA"]
    values = {
        "ind": profile.word,
        "equip": equipment,
        "proto": phrases[0],
        "protos": "、".join(phrases[:4]),
        "size": SIZE_TITLE_WORD[client_size],
        "days": lead.delivery_days,
    }
    client_name = None
    if rng.random() < 0.35:
        client_name = client_company_name(rng, client_city, profile) + mark
    machines = rng.randint(12, 260)
    problem = (
        f"该企业是一家{SIZE_ZH[client_size]}{profile.word}企业，拥有{equipment}等生产设备约"
        f"{machines}台。" + rng.choice(text.pains).format(**values)
    )
    used = "与".join(f"“{s.title}”" for s in solutions)
    features = rng.sample(list(text.features), k=2)
    weeks = max(1, lead.delivery_days // 7 + rng.randint(0, 4))
    solution_text = (
        f"{provider.short_name}采用{used}方案："
        + "".join(feature.format(**values) for feature in features)
        + f"项目历时{weeks}周完成验收，企业安排专人负责后续运维。"
    )
    kpi_names = rng.sample(list(text.kpis), k=rng.randint(1, min(3, len(text.kpis))))
    return CaseDraft(
        title=f"{client_city.short}某{profile.word}企业{text.project}",
        client_name=client_name,
        client_industry=industry,
        client_size=client_size,
        region_code=region_code,
        problem=problem,
        solution_text=solution_text,
        outcomes=[_kpi_outcome(rng, KPIS[name]) for name in kpi_names],
    )
