"""Name normalisation for screening: script folding, traditional to simplified Chinese,
legal-form stripping (by suffix, recorded; short forms also misspelt by one edit), Han
characters to pinyin readings (surname readings included), Wade-Giles (also "hs" written
"s") and Cantonese (Hong Kong) romanisation variants, splitting of run-together pinyin
("Xiaoming" -> "xiao ming"), and "&" read as "and" ("X&Y" = "X & Y" = "X and Y").

A name becomes a tuple of ``Unit``s: one per Han character or Latin token. Units that are
Chinese syllables carry the set of pinyin syllables they may stand for (``keys``), so
"Cheung", "Chang" and 张 meet on ``zhang``. Matching (``matching.py``) compares units.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import opencc
from pypinyin import Style, pinyin
from rapidfuzz.distance import OSA

_T2S = opencc.OpenCC("t2s")

# Every standard pinyin syllable (toneless; ü written v), as pypinyin knows them.
PINYIN_SYLLABLES: frozenset[str] = frozenset("""
a ai an ang ao ba bai ban bang bao bei ben beng bi bian biang biao bie bin bing bo bong bu ca
cai can cang cao ce cei cen ceng cha chai chan chang chao che chen cheng chi chong chou chu
chua chuai chuan chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de
dei den deng di dia dian diao die din ding diu dong dou du duan dui dun duo e ei en eng er fa
fan fang fei fen feng fiao fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai
guan guang gui gun guo ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui
hun huo ji jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke
kei ken keng kong kou ku kua kuai kuan kuang kui kun kuo la lai lan lang lao le lei len leng li
lia lian liang liao lie lin ling liu long lou lu luan lun luo lv lve ma mai man mang mao me mei
men meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao ne nei nen neng ni nia
nian niang niao nie nin ning niu nong nou nu nuan nun nuo nv nve o ou pa pai pan pang pao pei
pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu
quan que qun ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa sai san sang sao
se sen seng sha shai shan shang shao she shei shen sheng shi shou shu shua shuai shuan shuang
shui shun shuo si song sou su suan sui sun suo ta tai tan tang tao te tei teng ti tian tiao tie
ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen weng wo wong wu xi xia xian xiang
xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin ying yong you yu yuan yue
yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao zhe zhei zhen zheng zhi zhong
zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui zun zuo
""".split())

# Surname readings that differ from the everyday reading of the character.
SURNAME_READINGS: dict[str, str] = {
    "单": "shan", "曾": "zeng", "区": "ou", "仇": "qiu", "解": "xie", "查": "zha",
    "朴": "piao", "乐": "yue", "盖": "ge", "缪": "miao", "翟": "zhai", "覃": "qin",
    "秘": "bi", "种": "chong", "尉": "yu", "长": "chang", "华": "hua", "任": "ren",
    "纪": "ji", "员": "yun", "宓": "mi", "召": "shao", "繁": "po", "句": "gou", "燕": "yan",
    "冼": "xian", "万": "wan", "沈": "shen", "重": "chong", "藏": "zang", "贲": "ben",
}

# Hong Kong / Macau (Cantonese), Hokkien/Teochew and other common spellings of pinyin
# syllables, mostly for surnames and frequent given-name syllables.
ROMANISATION_VARIANTS: dict[str, tuple[str, ...]] = {
    "zhang": ("chang", "cheung", "cheong", "chong", "teo"),
    "huang": ("hwang", "wong", "hoang", "ng", "oei", "bong"),
    "wang": ("wong", "ong", "heng"),
    "chen": ("chan", "chin", "tan", "chern", "tchen"),
    "li": ("lee", "lei", "lie", "ly", "lai", "lay"),
    "zhou": ("chou", "chow", "chau", "jau", "chew"),
    "wu": ("ng", "woo", "wou", "goh", "ooi", "eng"),
    "zhao": ("chao", "chiu", "chew", "chiew", "jiu"),
    "liu": ("lau", "lao", "lew", "low", "lau", "liew"),
    "yang": ("yeung", "yeong", "young", "yong", "yeo"),
    "xu": ("hsu", "hui", "tsui", "choi", "chui", "koh", "khoo"),
    "lin": ("lam", "lim", "lum", "linn"),
    "he": ("ho", "hoe", "hoh", "hor"),
    "guo": ("kuo", "kwok", "kwek", "quek", "kok"),
    "ma": ("mah", "mar"),
    "luo": ("lo", "law", "loh", "lor"),
    "liang": ("leung", "leong", "neo"),
    "song": ("sung", "soong"),
    "zheng": ("cheng", "chang", "tay", "teh", "jeng"),
    "xie": ("hsieh", "tse", "tze", "chia", "sia", "cheah"),
    "han": ("hon", "hann"),
    "tang": ("tong", "tng"),
    "feng": ("fung", "fong", "foong"),
    "deng": ("teng", "tang", "dang"),
    "cao": ("tsao", "tso", "cho", "chow"),
    "peng": ("pang", "phang"),
    "zeng": ("tseng", "tsang", "chang", "chen", "zang"),
    "xiao": ("hsiao", "siu", "shiu", "seow"),
    "tian": ("tien", "tin"),
    "dong": ("tung", "tong"),
    "pan": ("poon", "pun", "phua"),
    "yuan": ("yuen", "yen", "wan"),
    "cai": ("tsai", "choi", "choy", "chua", "chay", "tsoi"),
    "jiang": ("chiang", "kong", "keung", "cheung", "kang", "tseung"),
    "yu": ("yue", "yee", "yeo", "u", "yue", "jyu"),
    "du": ("tu", "to", "toh"),
    "ye": ("yeh", "yip", "ip", "yap"),
    "cheng": ("ching", "chng", "shing", "sing"),
    "wei": ("wai", "way", "ngai"),
    "su": ("soo", "so", "sou"),
    "lu": ("loo", "lo", "lou", "luk", "lui", "loh"),
    "lv": ("lu", "lui", "leu", "lyu", "lue"),
    "ding": ("ting", "teng"),
    "ren": ("jen", "yam"),
    "shen": ("sham", "shum", "sum", "sim"),
    "yao": ("yiu", "yau"),
    "cui": ("tsui", "chui", "tsuei"),
    "zhong": ("chung", "chong", "cheng"),
    "tan": ("tam", "taam", "tham"),
    "jin": ("chin", "kam", "kim", "gum", "kin"),
    "xue": ("hsueh", "sit", "sih"),
    "yan": ("yen", "yim", "ngan", "gan", "yam"),
    "qian": ("chien", "chin"),
    "guan": ("kuan", "kwan", "kwun"),
    "xiong": ("hsiung", "hung"),
    "zhu": ("chu", "chue", "choo", "chiu", "gee"),
    "qiu": ("chiu", "yau", "khoo", "hiew"),
    "qin": ("chin", "chun"),
    "gao": ("kao", "ko", "kou", "koh"),
    "hu": ("hoo", "woo", "wu", "foo", "oh"),
    "jia": ("chia", "ka", "kah", "kar", "ga"),
    "hong": ("hung", "ang"),
    "kong": ("hung", "khong"),
    "jun": ("chun", "kwan", "chuen"),
    "zhi": ("chih", "chi", "ji", "jee"),
    "qi": ("chi", "chee", "kei", "kee"),
    "xin": ("hsin", "sun"),
    "ming": ("meng",),
    "hua": ("wah", "hwa", "fa"),
    "guang": ("kuang", "kwong"),
    "hai": ("hoi",),
    "jian": ("chien", "kin", "kim", "gin"),
    "xiang": ("hsiang", "heung", "siang"),
    "zhen": ("chen", "chun", "jan"),
    "wen": ("man", "boon"),
    "bin": ("pin", "ban"),
    "bo": ("po", "pak"),
    "de": ("te", "tak", "tek"),
    "fu": ("foo", "hu"),
    "gang": ("kang", "kong"),
    "jie": ("chieh", "kit"),
    "long": ("lung", "loong"),
    "mei": ("may", "mui"),
    "ping": ("peng",),
    "qing": ("ching", "tsing"),
    "sheng": ("shing", "seng"),
    "shi": ("shih", "sze", "see", "si"),
    "tao": ("tou", "to"),
    "yi": ("i", "yee", "ee"),
    "ying": ("yeng",),
    "yong": ("yung", "wing"),
    "zi": ("tzu", "tsz", "chi"),
    "bai": ("pai", "pak"),
    "fang": ("fong",),
    "gu": ("ku", "koo"),
    "kang": ("hong",),
    "lai": ("loi",),
    "mo": ("mok",),
    "ou": ("au", "ow"),
    "shao": ("siu",),
    "shu": ("shue", "shu"),
    "wan": ("man", "maan"),
    "ai": ("oi",),
}

_WG_INITIALS = (("zh", "ch"), ("ch", "ch"), ("sh", "sh"), ("b", "p"), ("p", "p"),
                ("d", "t"), ("t", "t"), ("g", "k"), ("k", "k"), ("j", "ch"), ("q", "ch"),
                ("x", "hs"), ("z", "ts"), ("c", "ts"), ("r", "j"))
_WG_SPECIAL = {"zi": "tzu", "ci": "tzu", "si": "ssu", "er": "erh", "yi": "i", "you": "yu",
               "ye": "yeh", "yan": "yen", "yue": "yueh", "yong": "yung", "ri": "jih",
               "guo": "kuo", "kuo": "kuo", "huo": "huo", "shuo": "shuo", "ge": "ko",
               "ke": "ko", "he": "ho"}


def wade_giles(syllable: str) -> str:
    """Wade-Giles spelling of a toneless pinyin syllable, without apostrophes or umlauts."""
    if syllable in _WG_SPECIAL:
        return _WG_SPECIAL[syllable]
    initial, final = "", syllable
    for py, wg in _WG_INITIALS:
        if syllable.startswith(py):
            initial, final = wg, syllable[len(py):]
            break
    py_initial = syllable[: len(syllable) - len(final)]
    if final == "i" and py_initial in ("zh", "ch", "sh", "r"):
        final = "ih"
    elif final == "ong":
        final = "ung"
    elif final == "iong":
        final = "iung"
    elif final.endswith("ian"):
        final = final[:-3] + "ien"
    elif final in ("ie", "ue", "ve"):
        final = final.replace("v", "u") + "h"
    elif final == "uo":
        final = "o"
    elif final == "ui" and py_initial in ("g", "k"):
        final = "uei"
    elif final == "e" and py_initial in ("g", "k", "h"):
        final = "o"
    return (initial + final).replace("v", "u")


def _build_variant_map() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for syl in PINYIN_SYLLABLES:
        wg = wade_giles(syl)
        for spelling in {syl, syl.replace("v", "u"), syl.replace("v", "yu"), wg}:
            out.setdefault(spelling, set()).add(syl)
        if wg.startswith("hs") and wg[1:] not in PINYIN_SYLLABLES:
            # Wade-Giles "hs" written with one letter less ("Siao-ming" for Hsiao-ming), as
            # Hong Kong and Taiwan passports and many lists do; not where "s..." is itself
            # pinyin (su, sun, suan), which would join two common surnames.
            out.setdefault(wg[1:], set()).add(syl)
    for syl, variants in ROMANISATION_VARIANTS.items():
        for v in variants:
            out.setdefault(v, set()).add(syl)
    return {k: frozenset(v) for k, v in out.items()}


# spelling (pinyin, Wade-Giles, Cantonese ...) -> the pinyin syllables it may stand for
SYLLABLE_KEYS: dict[str, frozenset[str]] = _build_variant_map()
_MAX_SYLLABLE = max(len(s) for s in SYLLABLE_KEYS)

# Legal forms, stripped from the end (and the few that precede the name, from the start).
ZH_LEGAL_SUFFIXES: tuple[str, ...] = tuple(sorted({
    "股份有限公司", "有限责任公司", "有限公司", "集团有限公司", "集团股份有限公司", "集团公司",
    "控股有限公司", "控股集团", "集团", "控股", "株式会社", "总公司", "分公司", "公司",
    "研究所", "研究院", "有限合伙", "合伙企业", "责任公司", "股份公司", "工厂", "厂",
}, key=len, reverse=True))
ZH_LEGAL_PREFIXES: tuple[str, ...] = ("株式会社", "有限会社")

EN_LEGAL_SUFFIXES: tuple[tuple[str, ...], ...] = tuple(sorted({
    ("co",), ("company",), ("ltd",), ("limited",), ("inc",), ("incorporated",), ("corp",),
    ("corporation",), ("group",), ("holdings",), ("holding",), ("llc",), ("l", "l", "c"),
    ("gmbh",), ("jsc",), ("ojsc",), ("cjsc",), ("pjsc",), ("ooo",), ("oao",), ("zao",),
    ("pao",), ("llp",), ("lp",), ("plc",), ("sa",), ("s", "a"), ("sarl",), ("srl",), ("spa",),
    ("bv",), ("nv",), ("ag",), ("kg",), ("pte",), ("pvt",), ("private",), ("sdn", "bhd"),
    ("bhd",), ("fze",), ("fzco",), ("fzc",), ("fz", "llc"), ("kk",), ("kabushiki", "kaisha"),
    ("ab",), ("as",), ("oy",), ("sas",), ("sl",), ("tic", "ltd", "sti"), ("ltd", "sti"),
    ("sti",), ("pty",), ("de", "cv"), ("sa", "de", "cv"), ("jv",), ("co", "ltd"),
}, key=len, reverse=True))
EN_LEGAL_PREFIXES: tuple[tuple[str, ...], ...] = (
    ("ooo",), ("oao",), ("zao",), ("pao",), ("ao",), ("pjsc",), ("jsc",), ("the",),
    ("kabushiki", "kaisha"),
)

# Particles that carry little identity in a name.
STOPWORDS: frozenset[str] = frozenset({
    "al", "el", "bin", "ibn", "bint", "abu", "abd", "de", "del", "da", "di", "do", "dos",
    "van", "von", "der", "la", "le", "of", "the", "and", "for", "y", "e", "und", "et",
})

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RE = re.compile(f"[{_HAN}]")
_TOKEN_RE = re.compile(f"[{_HAN}]|[^\\W_]+", re.UNICODE)
_APOSTROPHES = re.compile(r"[’'ʼ`´‘]")

_CYRILLIC = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґўқғүұңһө",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p",
     "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya",
     "i", "yi", "ye", "g", "u", "k", "g", "u", "u", "n", "h", "o"], strict=True))
_LATIN_EXTRA = {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d",
                "þ": "th", "ı": "i", "ħ": "h"}


@dataclass(frozen=True, slots=True)
class Unit:
    """One comparable piece of a name: a Han character or a (folded) Latin token."""

    text: str
    keys: frozenset[str]
    weight: float
    han: str = ""
    syllable: bool = False
    skeleton: str = ""  # consonant skeleton of a Latin token of six letters or more


@dataclass(frozen=True, slots=True)
class NormalisedName:
    """A name ready for matching, with what was done to it (for the explanation)."""

    original: str
    han: str
    units: tuple[Unit, ...]
    stripped: tuple[str, ...]
    compact: str

    @property
    def display(self) -> str:
        """Readable normalised form, e.g. ``张晓明 [zhang xiao ming]``."""
        latin = " ".join(u.text for u in self.units)
        return f"{self.han} [{latin}]" if self.han else latin

    @property
    def is_han(self) -> bool:
        """True when the name is written (at least partly) in Han characters."""
        return bool(self.han)


def has_han(text: str) -> bool:
    """True when the text contains a Han character."""
    return bool(_HAN_RE.search(text))


def to_simplified(text: str) -> str:
    """Traditional Chinese characters to simplified (OpenCC t2s); other text unchanged."""
    return _T2S.convert(text) if has_han(text) else text


def fold_latin(token: str) -> str:
    """Lower-case, strip diacritics, transliterate Cyrillic; other scripts kept as they are."""
    token = token.casefold()
    out = []
    for ch in unicodedata.normalize("NFKD", token):
        if unicodedata.combining(ch):
            continue
        out.append(_CYRILLIC.get(ch, _LATIN_EXTRA.get(ch, ch)))
    return "".join(out)


@lru_cache(maxsize=65536)
def han_readings(char: str, surname: bool = False) -> tuple[str, ...]:
    """Toneless pinyin readings of one Han character: the usual one, and for a surname
    position the surname reading first. Rare heteronyms are left out on purpose: they
    matched unrelated names far more often than they found real ones."""
    readings = [r for r in pinyin(char, style=Style.NORMAL)[0] if r.isascii()]
    if char in SURNAME_READINGS:
        if surname:
            readings.insert(0, SURNAME_READINGS[char])
        else:
            readings.append(SURNAME_READINGS[char])
    readings = [r.replace("ü", "v") for r in readings]
    return tuple(dict.fromkeys(readings)) or (char,)


@lru_cache(maxsize=65536)
def segment_syllables(token: str) -> tuple[str, ...] | None:
    """Split run-together romanised Chinese ("xiaoming") into 2-4 syllables, or None."""
    n = len(token)
    if n < 4 or n > 4 * _MAX_SYLLABLE or not token.isascii():
        return None
    # best[i] = (syllables, non-pinyin pieces, pieces) covering token[:i]: fewest
    # syllables, then the most standard pinyin ("hanyu" = han yu, not ha nyu).
    best: list[tuple[int, int, tuple[str, ...]] | None] = [None] * (n + 1)
    best[0] = (0, 0, ())
    for i in range(n):
        cur = best[i]
        if cur is None:
            continue
        for j in range(min(n, i + _MAX_SYLLABLE), i, -1):
            piece = token[i:j]
            if piece in SYLLABLE_KEYS and len(piece) >= 2 or piece in ("a", "e", "o"):
                cand = (cur[0] + 1, cur[1] + (piece not in PINYIN_SYLLABLES), (*cur[2], piece))
                old = best[j]
                if old is None or cand[:2] < old[:2]:
                    best[j] = cand
    last = best[n]
    result = last[2] if last is not None else None
    if result is None or not 2 <= len(result) <= 4:
        return None
    return result


def _strip_zh(text: str, stripped: list[str]) -> str:
    changed = True
    while changed:
        changed = False
        core = text.strip(" ·.,()（）-")
        for form in ZH_LEGAL_SUFFIXES:
            if core.endswith(form) and len(core) > len(form):
                stripped.append(form)
                text, changed = core[: -len(form)], True
                break
        core = text.strip(" ·.,()（）-")
        for form in ZH_LEGAL_PREFIXES:
            if core.startswith(form) and len(core) > len(form):
                stripped.append(form)
                text, changed = core[len(form):], True
                break
    return text


_FUZZY_FORMS = ("company", "limited", "corporation", "holdings", "incorporated", "holding",
                "group")
# Short legal forms, also recognised with one letter added, changed or swapped ("LCTD",
# "JLSC", "PZAO"), when the misspelling is not a romanised syllable, a name particle or a
# word that is a name of its own ("zinc", "karl").
# Only consonant clusters: one edit away from "ooo", "zao", "inc" or "the" lie real words
# and syllables ("obo", "par", "ing", "tde" for "tide").
_FUZZY_SHORT_FORMS = ("ltd", "llc", "corp", "jsc", "ojsc", "cjsc", "pjsc", "llp", "plc", "gmbh",
                      "fzco", "pvt")
_FUZZY_SHORT_PREFIXES = ("pjsc", "jsc")
_NOT_FORMS = frozenset({"zinc", "inch", "inca", "incl", "corps", "coral", "karl", "carl",
                        "then", "thee", "they", "them", "tho", "she", "tie", "toe"})


def _is_misspelt_form(token: str, forms: tuple[str, ...] | None = None) -> str:
    """The legal-form word a token misspells by one edit (``compnay``, ``lctd``), or ''."""
    if forms is None and len(token) >= 5:
        for form in _FUZZY_FORMS:
            if abs(len(form) - len(token)) <= 1 and OSA.distance(form, token) <= 1:
                return form
    if (len(token) < 3 or token in SYLLABLE_KEYS or token in STOPWORDS or token in _NOT_FORMS
            or not token.isascii()):
        return ""
    for form in _FUZZY_SHORT_FORMS if forms is None else forms:
        if (len(token) >= len(form) and abs(len(form) - len(token)) <= 1
                and OSA.distance(form, token) <= 1):
            return form
    return ""


def _strip_en(tokens: list[str], stripped: list[str]) -> list[str]:
    changed = True
    while changed and len(tokens) > 1:
        changed = False
        for form in EN_LEGAL_SUFFIXES:
            k = len(form)
            if len(tokens) > k and tuple(tokens[-k:]) == form and not _HAN_RE.match(tokens[-k]):
                stripped.append(" ".join(form))
                tokens, changed = tokens[:-k], True
                break
        if not changed:
            form_word = _is_misspelt_form(tokens[-1])
            if form_word:
                stripped.append(f"{tokens[-1]} (~{form_word})")
                tokens, changed = tokens[:-1], True
                continue
        for form in EN_LEGAL_PREFIXES:
            k = len(form)
            if len(tokens) > k and tuple(tokens[:k]) == form:
                stripped.append(" ".join(form))
                tokens, changed = tokens[k:], True
                break
        if not changed and len(tokens) > 1:
            form_word = _is_misspelt_form(tokens[0], _FUZZY_SHORT_PREFIXES)
            if form_word:
                stripped.append(f"{tokens[0]} (~{form_word})")
                tokens, changed = tokens[1:], True
    return tokens


def _latin_unit(token: str) -> Unit:
    keys = SYLLABLE_KEYS.get(token)
    if keys is not None:
        return Unit(text=token, keys=keys | {token}, weight=3.0, syllable=True)
    weight = 0.5 if token in STOPWORDS else float(max(2, min(len(token), 8)))
    return Unit(text=token, keys=frozenset((token,)), weight=weight,
                skeleton=consonant_skeleton(token) if len(token) >= 6 else "")


@lru_cache(maxsize=200_000)
def normalise_name(name: str) -> NormalisedName:
    """Normalise a name of any script for matching (cached; pure)."""
    text = unicodedata.normalize("NFKC", name)
    text = to_simplified(text)
    text = _APOSTROPHES.sub("", text)
    # "X&Y", "X & Y" and "X and Y" are one name: the ampersand is read as the word.
    text = text.replace("&", " and ")
    stripped: list[str] = []
    if has_han(text):
        text = _strip_zh(text, stripped)
    raw_tokens = [t if _HAN_RE.match(t) else fold_latin(t) for t in _TOKEN_RE.findall(text)]
    raw_tokens = [t for t in raw_tokens if t]
    tokens = _strip_en(raw_tokens, stripped) if raw_tokens else raw_tokens
    if not tokens:
        tokens = raw_tokens
    han_chars = [t for t in tokens if _HAN_RE.match(t)]
    han = "".join(han_chars)
    latin_present = len(han_chars) != len(tokens)
    # Run-together pinyin is split only in names that look Chinese throughout, so that
    # "Zhang Xiaoming" splits but "Anglo Caribbean" keeps its words.
    chinese_looking = all(_HAN_RE.match(t) or t in SYLLABLE_KEYS or segment_syllables(t)
                          for t in tokens)
    units: list[Unit] = []
    for pos, tok in enumerate(tokens):
        if _HAN_RE.match(tok):
            readings = han_readings(tok, surname=(pos == 0 and not latin_present
                                                  and len(han_chars) <= 4))
            units.append(Unit(text=readings[0], keys=frozenset(readings), weight=3.0,
                              han=tok, syllable=True))
            continue
        if tok in SYLLABLE_KEYS or not tok.isascii():
            units.append(_latin_unit(tok))
            continue
        parts = segment_syllables(tok) if chinese_looking else None
        if parts:
            units.extend(_latin_unit(p) for p in parts)
        else:
            units.append(_latin_unit(tok))
    compact = "".join(u.text for u in units)
    return NormalisedName(original=name, han=han, units=tuple(units),
                          stripped=tuple(stripped), compact=compact)


def consonant_skeleton(token: str) -> str:
    """A rough phonetic key: first letter, then consonants with repeats collapsed."""
    if not token:
        return token
    out = [token[0]]
    for ch in token[1:]:
        if ch in "aeiouyhw":
            continue
        if ch != out[-1]:
            out.append(ch)
    return "".join(out)
