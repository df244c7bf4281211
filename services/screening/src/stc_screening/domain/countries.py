"""Country names as the lists write them (``Korea, North``, ``Iran (Islamic Republic of)``,
``中国`` ...) mapped to ISO 3166-1 alpha-2 codes, so that a party's country can be compared
with an entry's."""

from __future__ import annotations

import re

_TABLE = """
AF afghanistan|AL albania|DZ algeria|AO angola|AR argentina|AM armenia|AU australia
AT austria|AZ azerbaijan|BH bahrain|BD bangladesh|BY belarus|BE belgium|BZ belize|BJ benin
BO bolivia|BA bosnia and herzegovina;bosnia|BR brazil|BG bulgaria|BF burkina faso|BI burundi
KH cambodia|CM cameroon|CA canada|CF central african republic|TD chad|CL chile
CN china;people's republic of china;prc;中国;中华人民共和国|CO colombia|KM comoros
CG congo;republic of the congo;congo, republic of the
CD democratic republic of the congo;congo, democratic republic of the;drc;congo (kinshasa)
CR costa rica|CI cote d'ivoire;ivory coast|HR croatia|CU cuba|CY cyprus|CZ czech republic;czechia
DK denmark|DJ djibouti|DO dominican republic|EC ecuador|EG egypt|SV el salvador|ER eritrea
EE estonia|ET ethiopia|FI finland|FR france|GA gabon|GM gambia;the gambia|GE georgia|DE germany
GH ghana|GR greece|GT guatemala|GN guinea|GW guinea-bissau|HT haiti|HN honduras
HK hong kong;hong kong sar;china, hong kong;香港|HU hungary|IN india|ID indonesia
IR iran;iran (islamic republic of);islamic republic of iran;伊朗|IQ iraq|IE ireland|IL israel
IT italy|JM jamaica|JP japan;日本|JO jordan|KZ kazakhstan|KE kenya
KP north korea;korea, north;democratic people's republic of korea;dprk;朝鲜
KR south korea;korea, south;republic of korea;韩国|KW kuwait|KG kyrgyzstan;kyrgyz republic
LA laos;lao people's democratic republic|LV latvia|LB lebanon|LR liberia|LY libya
LI liechtenstein|LT lithuania|LU luxembourg|MO macau;macao|MY malaysia|MV maldives|ML mali
MT malta|MH marshall islands|MR mauritania|MU mauritius|MX mexico|MD moldova
MN mongolia|ME montenegro|MA morocco|MZ mozambique|MM burma;myanmar|NA namibia|NP nepal
NL netherlands;the netherlands|NZ new zealand|NI nicaragua|NE niger|NG nigeria
MK north macedonia;macedonia|NO norway|OM oman|PK pakistan|PS palestinian;palestine;west bank
PA panama|PY paraguay|PE peru|PH philippines|PL poland|PT portugal|QA qatar|RO romania
RU russia;russian federation;俄罗斯|RW rwanda|KN saint kitts and nevis|SA saudi arabia
SN senegal|RS serbia|SC seychelles|SL sierra leone|SG singapore|SK slovakia|SI slovenia
SO somalia|ZA south africa|SS south sudan|ES spain|LK sri lanka|SD sudan|SE sweden
CH switzerland|SY syria;syrian arab republic|TW taiwan;台湾|TJ tajikistan
TZ tanzania;united republic of tanzania
TH thailand|TG togo|TT trinidad and tobago|TN tunisia|TR turkey;turkiye;türkiye|TM turkmenistan
UG uganda|UA ukraine|AE united arab emirates;uae
GB united kingdom;uk;great britain;united kingdom of great britain and northern ireland
US united states;united states of america;usa;u.s.a.;美国|UY uruguay|UZ uzbekistan
VE venezuela;venezuela (bolivarian republic of)|VN vietnam;viet nam|VG virgin islands, british;british virgin islands
YE yemen|ZM zambia|ZW zimbabwe|BS bahamas|BB barbados|CV cabo verde;cape verde|CY cyprus
"""


def _build() -> dict[str, str]:
    table: dict[str, str] = {}
    for part in re.split(r"[|\n]", _TABLE):
        part = part.strip()
        if not part:
            continue
        code, names = part.split(" ", 1)
        table[code.lower()] = code
        for name in names.split(";"):
            table[name.strip().casefold()] = code
    return table


COUNTRY_CODES: dict[str, str] = _build()


def country_code(text: str) -> str:
    """ISO alpha-2 code for a country name or code; the folded text itself when unknown."""
    key = " ".join(text.strip().casefold().split())
    return COUNTRY_CODES.get(key, key.upper() if len(key) == 2 else key)
