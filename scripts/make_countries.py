#!/usr/bin/env python3
"""Writes schema/countries.json: every ISO 3166-1 country's short name in
English and Slovenian, from Debian's iso-codes package (its JSON and its
Slovenian translation). Run it again when iso-codes changes; the file it
writes is what Haven ships, reviewed like any source file. The few names
iso-codes does not translate are given below.
Usage: scripts/make_countries.py > schema/countries.json"""
import gettext
import json

ISO = "/usr/share/iso-codes/json/iso_3166-1.json"
# Short names where iso-codes has only the formal one, and names its Slovenian
# catalogue leaves in English (checked by hand).
ENGLISH = {"CD": "Democratic Republic of the Congo", "FM": "Micronesia", "PS": "Palestine",
           "VG": "British Virgin Islands", "VI": "U.S. Virgin Islands"}
SLOVENIAN = {"CZ": "Češka", "MK": "Severna Makedonija", "PS": "Palestina", "SZ": "Esvatini",
             "TR": "Turčija", "VE": "Venezuela"}

sl = gettext.translation("iso_3166-1", localedir="/usr/share/locale", languages=["sl"])
countries = {}
for c in json.load(open(ISO, encoding="utf-8"))["3166-1"]:
    name = c.get("common_name", c["name"])
    local = sl.gettext(name)
    if local == name and "common_name" in c:
        local = sl.gettext(c["name"])
    code = c["alpha_2"]
    countries[code] = {"en": ENGLISH.get(code, name), "sl": SLOVENIAN.get(code, local)}
lines = [f'  "{code}": {json.dumps(names, ensure_ascii=False)}' for code, names in sorted(countries.items())]
print("{\n" + ",\n".join(lines) + "\n}")
