"""Deterministic fake people for the demo county: names, phone numbers, certificate numbers.

Every helper takes a ``random.Random`` and draws from it only, so the same seed always yields the
same roster. Nothing here identifies a real person: names are random surname + given-name
combinations, and phone numbers sit in one fixed ``1990000xxxx`` block used only for demo data.
"""

import random
import re

# Common surnames with their approximate share of the population in per mille (2020 census order:
# 王 李 张 刘 陈 杨 黄 赵 吴 周 ...), plus a few that are common in coastal Zhejiang.
SURNAME_WEIGHTS: dict[str, float] = {
    "王": 71.2, "李": 69.6, "张": 63.8, "刘": 53.4, "陈": 46.3, "杨": 31.0, "黄": 22.7, "赵": 21.6,
    "吴": 20.6, "周": 19.5, "徐": 15.1, "孙": 14.9, "马": 13.0, "朱": 12.6, "胡": 12.0, "郭": 11.4,
    "何": 11.0, "林": 10.5, "罗": 10.2, "高": 10.1, "郑": 9.1, "梁": 8.8, "谢": 7.9, "宋": 7.0,
    "唐": 6.9, "许": 6.5, "韩": 6.1, "冯": 5.9, "邓": 5.9, "曹": 5.8, "彭": 5.6, "曾": 5.4,
    "肖": 5.3, "田": 5.0, "董": 4.9, "袁": 4.6, "潘": 4.5, "于": 4.4, "蒋": 4.3, "蔡": 4.3,
    "余": 4.2, "杜": 4.1, "叶": 4.0, "程": 3.8, "苏": 3.7, "魏": 3.6, "吕": 3.5, "丁": 3.5,
    "任": 3.4, "沈": 3.3, "姚": 3.1, "卢": 3.1, "姜": 3.0, "崔": 3.0, "钟": 2.9, "谭": 2.8,
    "陆": 2.7, "汪": 2.6, "范": 2.6, "金": 2.5, "石": 2.5, "廖": 2.4, "贾": 2.4, "夏": 2.3,
    "韦": 2.3, "方": 2.2, "傅": 2.0, "邵": 1.9, "俞": 1.6, "应": 1.2, "鲍": 1.0, "舒": 0.9,
}  # fmt: skip

# Characters common in given names, by the gender they usually suggest; a given name is one or two
# characters from the same list, so the two halves of a name go together.
MALE_NAME_CHARS: str = (
    "伟强磊军洋勇杰涛明超刚华平辉鹏建国志文斌宇浩俊峰海波晨阳轩诚宏亮立新永福德胜利民家荣鑫"
    "睿哲昊天博凯逸飞宁远宸铭泽安康成君东林栋毅航"
)
FEMALE_NAME_CHARS: str = (
    "芳娜敏静丽艳娟秀霞桂英玉兰萍红佳颖欣怡梓涵雨婷思琪春梅晓燕丹凤雪琳慧倩婧琦瑶晶莉蕾露婉清月蓉洁琴薇"
)
GIVEN_NAME_CHARS: str = "".join(dict.fromkeys(MALE_NAME_CHARS + FEMALE_NAME_CHARS))

# Share of women among the generated people (enforcement rosters skew male).
FEMALE_SHARE = 0.35

_SURNAMES = list(SURNAME_WEIGHTS)
_MALE = list(dict.fromkeys(MALE_NAME_CHARS))
_FEMALE = list(dict.fromkeys(FEMALE_NAME_CHARS))
_CUM_WEIGHTS: list[float] = []
_total = 0.0
for _w in SURNAME_WEIGHTS.values():
    _total += _w
    _CUM_WEIGHTS.append(_total)
del _total, _w

# Share of two-character given names among working-age adults (the rest have one character).
TWO_CHAR_GIVEN_NAME_SHARE = 0.75

DEMO_PHONE_PREFIX = "1990000"


def surname(rng: random.Random) -> str:
    """A surname drawn with the weights of ``SURNAME_WEIGHTS``."""
    return rng.choices(_SURNAMES, cum_weights=_CUM_WEIGHTS, k=1)[0]


def given_name(rng: random.Random, female: bool) -> str:
    """A one- or two-character given name (no character repeated, e.g. no 伟伟)."""
    chars = _FEMALE if female else _MALE
    if rng.random() < TWO_CHAR_GIVEN_NAME_SHARE:
        return "".join(rng.sample(chars, 2))
    return rng.choice(chars)


def person_name(rng: random.Random, female_share: float = FEMALE_SHARE) -> str:
    """A full Chinese name such as 王建国 or 陈静."""
    family = surname(rng)
    return family + given_name(rng, female=rng.random() < female_share)


def unique_names(rng: random.Random, n: int) -> list[str]:
    """``n`` pairwise distinct names, in draw order (repeats are redrawn)."""
    seen: set[str] = set()
    names: list[str] = []
    while len(names) < n:
        name = person_name(rng)
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def phone(rng: random.Random) -> str:
    """A fake 11-digit mobile number in the demo block ``1990000xxxx``."""
    return f"{DEMO_PHONE_PREFIX}{rng.randrange(10_000):04d}"


def is_demo_phone(number: str) -> bool:
    return len(number) == 11 and number.startswith(DEMO_PHONE_PREFIX) and number.isdigit()


_COUNTY_CODE = re.compile(r"\d{6}")


def certificate_no(rng: random.Random, county_code: str, seq: int) -> str:
    """A Zhejiang-style law-enforcement certificate number: the 6-digit county code, "00" for the
    county-level issuing office, and a 5-digit serial, e.g. ``3302250000042``.

    The number is fully determined by ``county_code`` and ``seq`` so that distinct serials give
    distinct numbers (certificate numbers are unique in the roster); ``rng`` is accepted so that
    all helpers here share one calling convention, and is not drawn from.
    """
    if not _COUNTY_CODE.fullmatch(county_code):
        raise ValueError(f"county_code must be 6 digits, got {county_code!r}")
    if not 0 < seq < 100_000:
        raise ValueError(f"seq must be in 1..99999, got {seq}")
    return f"{county_code}00{seq:05d}"
