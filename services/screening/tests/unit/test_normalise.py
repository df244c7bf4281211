"""Name normalisation: scripts, Chinese variants, romanisations and legal forms."""

from stc_screening.domain.normalise import (
    han_readings,
    normalise_name,
    segment_syllables,
    to_simplified,
    wade_giles,
)


def test_traditional_becomes_simplified():
    assert to_simplified("張曉明國際貿易") == "张晓明国际贸易"
    assert normalise_name("張曉明").han == normalise_name("张晓明").han == "张晓明"


def test_surname_readings():
    assert han_readings("单", surname=True)[0] == "shan"
    assert han_readings("曾", surname=True)[0] == "zeng"
    assert han_readings("区", surname=True)[0] == "ou"
    assert normalise_name("单田芳").units[0].text == "shan"
    # Not in surname position: the everyday reading comes first.
    assert han_readings("单")[0] == "dan"


def test_run_together_hyphenated_and_spaced_pinyin_are_the_same_units():
    texts = {tuple(u.text for u in normalise_name(n).units)
             for n in ("Zhang Xiaoming", "Zhang Xiao-ming", "Zhang Xiao Ming", "ZHANG, Xiaoming")}
    assert texts == {("zhang", "xiao", "ming")}
    assert segment_syllables("hanyu") == ("han", "yu")
    # Words of non-Chinese names are not chopped into syllables.
    assert [u.text for u in normalise_name("Anglo Caribbean").units] == ["anglo", "caribbean"]


def test_romanisation_variants_share_keys():
    def keys(token):
        return normalise_name(token).units[0].keys

    for variant in ("chang", "cheung"):
        assert "zhang" in keys(variant)
    for variant in ("hwang", "wong"):
        assert "huang" in keys(variant)
    assert "chen" in keys("chan") and "li" in keys("lee") and "wu" in keys("ng")
    assert {"zhou"} <= keys("chou") & keys("chow")
    assert wade_giles("zhi") == "chih" and wade_giles("xian") == "hsien"


def test_legal_forms_are_stripped_by_suffix_and_recorded():
    n = normalise_name("Golden Group Trading Holdings Group Co., Ltd.")
    assert [u.text for u in n.units] == ["golden", "group", "trading"]
    assert n.stripped == ("co ltd", "group", "holdings")
    zh = normalise_name("华为技术股份有限公司")
    assert zh.han == "华为技术" and zh.stripped == ("股份有限公司",)
    assert normalise_name("株式会社斯巴鲁").han == "斯巴鲁"
    assert normalise_name("ООО Ромашка").display == "romashka"
    # A misspelt legal form at the end is still a legal form.
    assert normalise_name("Iran Insurance Compnay").display == "iran insurance"
    # A name that is only a legal form keeps it.
    assert normalise_name("Group").display == "group"


def test_diacritics_and_apostrophes_fold():
    assert normalise_name("Müller-Lüdenscheidt").display == "muller ludenscheidt"
    assert normalise_name("Ch'ang Hsiao-ming").display == "chang hsiao ming"
