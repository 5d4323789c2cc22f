"""The three demo datasets: codes, titles, descriptions and schema documents (the format of
``dagr.catalog.schema``). Latvian and English for every dataset and field."""

from __future__ import annotations

from typing import Any


def _f(
    name: str,
    title_lv: str,
    title_en: str,
    type_: str = "string",
    *,
    description_lv: str,
    description_en: str,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "name": name,
        "title_lv": title_lv,
        "title_en": title_en,
        "type": type_,
        "description_lv": description_lv,
        "description_en": description_en,
        **extra,
    }


ADDRESSES: dict[str, Any] = {
    "code": "demo-address-register",
    "title_lv": "Adrešu reģistrs (demonstrācijas dati)",
    "title_en": "Address register (demo data)",
    "description_lv": (
        "Izdomāts adrešu reģistrs: novadi, pilsētas, pagasti, ciemi, ielas un ēkas ar "
        "deviņciparu adreses kodiem, pasta indeksiem un koordinātām Latvijas teritorijā."
    ),
    "description_en": (
        "A fictitious address register: counties, cities, parishes, villages, streets and "
        "buildings with nine-digit address codes, postcodes and coordinates inside Latvia."
    ),
    "schema": {
        "key": "code",
        "fields": [
            _f(
                "code",
                "Adreses kods",
                "Address code",
                required=True,
                identifier="address_code",
                description_lv="Adresācijas objekta deviņciparu kods.",
                description_en="Nine-digit code of the addressed object.",
            ),
            _f(
                "type",
                "Tips",
                "Type",
                required=True,
                description_lv="county, city, parish, village, street vai building.",
                description_en="county, city, parish, village, street or building.",
            ),
            _f(
                "name",
                "Nosaukums",
                "Name",
                required=True,
                description_lv="Nosaukums vai ēkas numurs.",
                description_en="Name, or the number of a building.",
            ),
            _f(
                "parent_code",
                "Augstāka līmeņa adreses kods",
                "Parent address code",
                identifier="address_code",
                description_lv="Objekta, kurā šis atrodas, adreses kods (novadam nav).",
                description_en="Code of the object this one lies in (none for a county).",
            ),
            _f(
                "full_address",
                "Pilna adrese",
                "Full address",
                description_lv="Adrese vienā rindā, kā to raksta uz aploksnes.",
                description_en="The address on one line, as written on an envelope.",
            ),
            _f(
                "postcode",
                "Pasta indekss",
                "Postcode",
                description_lv="Pasta indekss formātā LV-NNNN.",
                description_en="Postcode in the form LV-NNNN.",
            ),
            _f(
                "latitude",
                "Platums",
                "Latitude",
                "decimal",
                description_lv="Ģeogrāfiskais platums (WGS 84, grādi).",
                description_en="Latitude (WGS 84, degrees).",
            ),
            _f(
                "longitude",
                "Garums",
                "Longitude",
                "decimal",
                description_lv="Ģeogrāfiskais garums (WGS 84, grādi).",
                description_en="Longitude (WGS 84, degrees).",
            ),
        ],
    },
}

PERSONS: dict[str, Any] = {
    "code": "demo-population-register",
    "title_lv": "Iedzīvotāju reģistrs (demonstrācijas dati)",
    "title_en": "Population register (demo data)",
    "description_lv": (
        "Izdomātas personas ar derīgiem personas kodiem (vecā formāta kodi ar kontrolciparu "
        "un jaunā formāta kodi, kas sākas ar 32), dzimumam atbilstošiem vārdiem, dzimšanas "
        "datumu un deklarētās dzīvesvietas adreses kodu no adrešu reģistra."
    ),
    "description_en": (
        "Fictitious persons with valid personal codes (old-format codes with a check digit and "
        "new-format codes starting with 32), names matching their gender, birth date and the "
        "address code of their declared residence from the address register."
    ),
    "schema": {
        "key": "personal_code",
        "fields": [
            _f(
                "personal_code",
                "Personas kods",
                "Personal code",
                required=True,
                personal=True,
                identifier="personal_code",
                description_lv="Personas kods bez defises.",
                description_en="Personal code without the hyphen.",
            ),
            _f(
                "first_name",
                "Vārds",
                "First name",
                required=True,
                personal=True,
                description_lv="Personas vārds.",
                description_en="Given name.",
            ),
            _f(
                "last_name",
                "Uzvārds",
                "Last name",
                required=True,
                personal=True,
                description_lv="Personas uzvārds.",
                description_en="Family name.",
            ),
            _f(
                "gender",
                "Dzimums",
                "Gender",
                required=True,
                personal=True,
                description_lv="male (vīrietis) vai female (sieviete).",
                description_en="male or female.",
            ),
            _f(
                "birth_date",
                "Dzimšanas datums",
                "Birth date",
                "date",
                required=True,
                personal=True,
                description_lv="Dzimšanas datums; vecā formāta kodā tas ir iekodēts.",
                description_en="Date of birth; an old-format code encodes it.",
            ),
            _f(
                "citizenship",
                "Pilsonība",
                "Citizenship",
                personal=True,
                description_lv="Valsts kods (ISO 3166-1 alpha-3).",
                description_en="Country code (ISO 3166-1 alpha-3).",
            ),
            _f(
                "declared_address_code",
                "Deklarētās dzīvesvietas adreses kods",
                "Declared address code",
                personal=True,
                identifier="address_code",
                description_lv="Ēkas adreses kods adrešu reģistrā.",
                description_en="Address code of a building in the address register.",
            ),
        ],
    },
}

COMPANIES: dict[str, Any] = {
    "code": "demo-company-register",
    "title_lv": "Uzņēmumu reģistrs (demonstrācijas dati)",
    "title_en": "Company register (demo data)",
    "description_lv": (
        "Izdomāti komersanti ar derīgiem reģistrācijas numuriem, uzņēmējdarbības formu, "
        "reģistrācijas un darbības izbeigšanas datumiem, juridisko adresi un valdes locekļiem, "
        "kas ir pilngadīgas personas no iedzīvotāju reģistra."
    ),
    "description_en": (
        "Fictitious companies with valid registration numbers, legal form, registration and "
        "termination dates, registered address and board members who are adults of the "
        "population register."
    ),
    "schema": {
        "key": "registration_number",
        "fields": [
            _f(
                "registration_number",
                "Reģistrācijas numurs",
                "Registration number",
                required=True,
                identifier="company_code",
                description_lv="Vienpadsmit ciparu reģistrācijas numurs.",
                description_en="Eleven-digit registration number.",
            ),
            _f(
                "name",
                "Nosaukums",
                "Name",
                required=True,
                description_lv="Komersanta nosaukums ar uzņēmējdarbības formu.",
                description_en="Name of the company with its legal form.",
            ),
            _f(
                "legal_form",
                "Uzņēmējdarbības forma",
                "Legal form",
                required=True,
                description_lv="SIA, AS, IK, ZS, KS vai PS.",
                description_en="SIA, AS, IK, ZS, KS or PS.",
            ),
            _f(
                "registration_date",
                "Reģistrācijas datums",
                "Registration date",
                "date",
                required=True,
                description_lv="Datums, kad komersants reģistrēts.",
                description_en="Date of registration.",
            ),
            _f(
                "termination_date",
                "Darbības izbeigšanas datums",
                "Termination date",
                "date",
                description_lv="Datums, kad darbība izbeigta (darbojošamies nav).",
                description_en="Date the company ceased to exist (none while active).",
            ),
            _f(
                "address_code",
                "Juridiskās adreses kods",
                "Registered address code",
                identifier="address_code",
                description_lv="Ēkas adreses kods adrešu reģistrā.",
                description_en="Address code of a building in the address register.",
            ),
            _f(
                "board_members",
                "Valdes locekļi",
                "Board members",
                "list",
                description_lv="Personas, kas pārstāv komersantu.",
                description_en="Persons who represent the company.",
                fields=[
                    _f(
                        "personal_code",
                        "Personas kods",
                        "Personal code",
                        required=True,
                        personal=True,
                        identifier="personal_code",
                        description_lv="Personas kods iedzīvotāju reģistrā.",
                        description_en="Personal code in the population register.",
                    ),
                    _f(
                        "first_name",
                        "Vārds",
                        "First name",
                        personal=True,
                        description_lv="Personas vārds.",
                        description_en="Given name.",
                    ),
                    _f(
                        "last_name",
                        "Uzvārds",
                        "Last name",
                        personal=True,
                        description_lv="Personas uzvārds.",
                        description_en="Family name.",
                    ),
                    _f(
                        "role",
                        "Amats",
                        "Role",
                        description_lv="Piemēram, valdes loceklis vai īpašnieks.",
                        description_en="For example board member or owner.",
                    ),
                    _f(
                        "since",
                        "Kopš",
                        "Since",
                        "date",
                        required=True,
                        description_lv="Datums, no kura persona ieņem amatu.",
                        description_en="Date from which the person holds the role.",
                    ),
                ],
            ),
        ],
    },
}

DATASETS: tuple[dict[str, Any], ...] = (ADDRESSES, PERSONS, COMPANIES)
