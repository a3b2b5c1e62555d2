import pytest

from catalog.taxonomy import (
    Region,
    cities_of,
    is_known_region,
    province_of,
    region,
    same_province,
    vocabulary,
)

JIANGSU_CITIES = {
    "320100": "南京市",
    "320200": "无锡市",
    "320300": "徐州市",
    "320400": "常州市",
    "320500": "苏州市",
    "320600": "南通市",
    "320700": "连云港市",
    "320800": "淮安市",
    "320900": "盐城市",
    "321000": "扬州市",
    "321100": "镇江市",
    "321200": "泰州市",
    "321300": "宿迁市",
}

GUANGDONG_CITIES = {
    "440100": "广州市",
    "440200": "韶关市",
    "440300": "深圳市",
    "440400": "珠海市",
    "440500": "汕头市",
    "440600": "佛山市",
    "440700": "江门市",
    "440800": "湛江市",
    "440900": "茂名市",
    "441200": "肇庆市",
    "441300": "惠州市",
    "441400": "梅州市",
    "441500": "汕尾市",
    "441600": "河源市",
    "441700": "阳江市",
    "441800": "清远市",
    "441900": "东莞市",
    "442000": "中山市",
    "445100": "潮州市",
    "445200": "揭阳市",
    "445300": "云浮市",
}


def test_seed_cities_and_provinces_have_their_codes() -> None:
    assert region("320400") == Region("320400", "常州市", "Changzhou", "city", "320000")
    assert region("441900") == Region("441900", "东莞市", "Dongguan", "city", "440000")
    assert region("320000") == Region("320000", "江苏省", "Jiangsu", "province", None)
    guangdong = region("440000")
    assert guangdong is not None
    assert guangdong.zh == "广东省"


def test_all_34_provincial_divisions_are_present() -> None:
    provinces = [t for t in vocabulary("regions") if t.extra["level"] == "province"]
    assert len(provinces) == 34
    codes = {t.id for t in provinces}
    assert {"710000", "810000", "820000", "110000", "500000", "650000"} <= codes
    assert all(code.endswith("0000") for code in codes)


@pytest.mark.parametrize(
    ("province", "expected"),
    [("320000", JIANGSU_CITIES), ("440000", GUANGDONG_CITIES)],
)
def test_every_city_of_the_pilot_provinces_is_present(
    province: str, expected: dict[str, str]
) -> None:
    cities = cities_of(province)
    assert {city.code: city.zh for city in cities} == expected
    assert all(city.parent == province and city.level == "city" for city in cities)
    assert [city.code for city in cities] == sorted(expected)


def test_zhejiang_has_eleven_cities() -> None:
    assert len(cities_of("330000")) == 11


def test_municipalities_have_no_city_level() -> None:
    assert cities_of("110000") == []
    assert cities_of("310000") == []


def test_province_of_known_and_unlisted_codes() -> None:
    assert province_of("320400") == "320000"
    assert province_of("320412") == "320000"  # a district we do not ship
    assert province_of("370200") == "370000"  # a city of a province without city data
    assert province_of("440000") == "440000"


@pytest.mark.parametrize("code", ["990000", "32040", "3204000", "abcdef", ""])
def test_province_of_rejects_bad_codes(code: str) -> None:
    with pytest.raises(ValueError, match="region code"):
        province_of(code)


def test_same_province() -> None:
    assert same_province("320400", "320500")
    assert same_province("320400", "320000")
    assert not same_province("320400", "441900")


def test_known_region_accepts_shipped_codes_only() -> None:
    assert is_known_region("320400")
    assert is_known_region(" 441900 ")
    assert not is_known_region("320412")
    assert not is_known_region("999999")
    assert region("999999") is None
