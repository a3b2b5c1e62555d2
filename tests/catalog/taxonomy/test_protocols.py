import pytest

from catalog.taxonomy import (
    normalise_protocol_text,
    protocol_covers,
    resolve_protocol,
    vocabulary,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("OPC-UA", "opcua"),
        ("opc ua", "opcua"),
        ("OPCUA", "opcua"),
        ("OPC_UA", "opcua"),
        ("ＯＰＣ　ＵＡ", "opcua"),  # full-width letters and ideographic space
        ("EtherNet/IP", "ethernetip"),
        ("S7-1200", "s71200"),
        ("西门子 S7", "西门子s7"),
    ],
)
def test_protocol_text_normalisation(raw: str, expected: str) -> None:
    assert normalise_protocol_text(raw) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("西门子S7", "proto.s7"),
        ("西门子 s7", "proto.s7"),
        ("S7协议", "proto.s7"),
        ("200smart", "proto.s7.isotcp"),
        ("S7-200 SMART", "proto.s7.isotcp"),
        ("s7 1500", "proto.s7.isotcp"),
        ("S7-300", "proto.s7.s7_300_400"),
        ("MPI", "proto.s7.mpi"),
        ("S5", "proto.s5_fetchwrite"),
        ("施耐德Modbus", "proto.modbus_tcp"),
        ("modbus", "proto.modbus_tcp"),
        ("Modbus TCP", "proto.modbus_tcp"),
        ("RS-485", "proto.modbus_rtu"),
        ("串口Modbus", "proto.modbus_rtu"),
        ("串口服务器透传", "proto.modbus_rtu_tcp"),
        ("Modbus ASCII", "proto.modbus_ascii"),
        ("发那科", "proto.fanuc_focas"),
        ("FOCAS2", "proto.fanuc_focas"),
        ("OPC统一架构", "proto.opcua"),
        ("opc-ua", "proto.opcua"),
        ("OPC DA", "proto.opc_da"),
        ("Ethernet IP", "proto.ethernet_ip"),
        ("CompactLogix", "proto.ab.logix"),
        ("DF1", "proto.ab.df1"),
        ("AB PLC", "proto.ab"),
        ("欧姆龙", "proto.omron_fins"),
        ("Host Link", "proto.omron_fins"),
        ("三菱", "proto.mitsubishi_mc"),
        ("3E帧", "proto.mitsubishi_mc"),
        ("104规约", "proto.iec104"),
        ("IEC 60870-5-104", "proto.iec104"),
        ("61850", "proto.iec61850"),
        ("DL/T 645-2007", "proto.dlt645"),
        ("电表协议", "proto.dlt645"),
        ("BACnet/IP", "proto.bacnet"),
        ("楼宇自控", "proto.bacnet"),
        ("mqtt", "proto.mqtt"),
        ("spB", "proto.sparkplug_b"),
        ("Profinet IO", "proto.profinet"),
        ("PN", "proto.profinet"),
    ],
)
def test_user_text_resolves_to_protocol_id(typed: str, expected: str) -> None:
    assert resolve_protocol(typed) == expected


def test_ids_resolve_to_themselves() -> None:
    for protocol_id in vocabulary("protocols").ids():
        assert resolve_protocol(protocol_id) == protocol_id
    assert resolve_protocol("modbus_tcp") == "proto.modbus_tcp"


def test_every_alias_resolves_to_its_own_protocol() -> None:
    for term in vocabulary("protocols"):
        for alias in term.synonyms:
            assert resolve_protocol(alias) == term.id, alias


@pytest.mark.parametrize("typed", ["", "   ", "数据采集", "设备联网", "HTTP"])
def test_unknown_text_resolves_to_none(typed: str) -> None:
    # 数采 / 设备联网 are capabilities, not protocols.
    assert resolve_protocol(typed) is None


def test_family_covers_its_children() -> None:
    assert protocol_covers("proto.s7", "proto.s7.isotcp")
    assert protocol_covers("proto.s7", "proto.s7.s7_300_400")
    assert protocol_covers("proto.s7", "proto.s7.mpi")
    assert protocol_covers("proto.ab", "proto.ab.logix")


def test_equal_ids_cover_each_other() -> None:
    assert protocol_covers("proto.s7.isotcp", "proto.s7.isotcp")
    assert protocol_covers("proto.mqtt", "proto.mqtt")


def test_child_covers_neither_parent_nor_sibling() -> None:
    assert not protocol_covers("proto.s7.isotcp", "proto.s7")
    assert not protocol_covers("proto.s7.isotcp", "proto.s7.s7_300_400")
    assert not protocol_covers("proto.s7", "proto.s5_fetchwrite")
    assert not protocol_covers("proto.modbus_tcp", "proto.modbus_rtu")
    assert not protocol_covers("proto.s7", "proto.unknown")
