"""The platform's glossary (``/glossary/``): each term in Latvian and English with its own
definition in each language (written for the language, not translated word for word), an anchor
and, where one explains it further, the help article. Content, like the help articles, so it is
kept here in both languages rather than in the message catalogue."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    anchor: str
    term_lv: str
    term_en: str
    text_lv: str
    text_en: str
    article: str = ""  # a help article's slug

    def term(self, language: str) -> str:
        return self.term_en if language == "en" else self.term_lv

    def other(self, language: str) -> str:
        """The term in the other language (shown next to it)."""
        return self.term_lv if language == "en" else self.term_en

    def text(self, language: str) -> str:
        return self.text_en if language == "en" else self.text_lv


TERMS: tuple[Term, ...] = (
    Term(
        "access-grant", "piekļuves atļauja", "access grant",
        "Atļauja vienai datu ņēmēja iestādei lasīt vienu datu kopu: kuri lauki, kādiem "
        "nosacījumiem jāatbilst ierakstiem, derīguma termiņš un dienas kvota.",
        "Permission for one recipient institution to read one dataset: which fields, which "
        "conditions the records must meet, the validity period and a daily quota.",
        "request-access",
    ),
    Term(
        "access-token", "piekļuves žetons", "access token",
        "Īslaicīga atslēga, ko sistēma saņem ar savu tehnisko savienojumu un sūta katrā API "
        "izsaukumā galvenē Authorization.",
        "A short-lived key a system gets with its technical connection and sends in the "
        "Authorization header of every API call.",
        "get-token",
    ),
    Term(
        "anonymisation", "anonimizēšana", "anonymisation",
        "Personas datu aizstāšana ar ticamām, bet izdomātām vērtībām tā, ka personu vairs "
        "nevar atpazīt; tā top testa datu kopas.",
        "Replacing personal data with plausible, invented values so that nobody can be "
        "recognised any more; this is how test datasets are made.",
        "build-test-data",
    ),
    Term(
        "audit", "audits", "audit",
        "Pieraksts par katru piekļuvi datiem (kas, kad, kuru ierakstu un kurus laukus lasīja, ar "
        "kādu mērķi) un par katru administratīvo izmaiņu. Ja auditu nevar ierakstīt, dati netiek "
        "izsniegti.",
        "The record of every access to data (who read which record and fields, when, for what "
        "purpose) and of every administrative change. No audit entry, no data.",
        "dataset-audit",
    ),
    Term(
        "change-feed", "izmaiņu plūsma", "change feed",
        "API pakalpojums, kas dod datu kopas izveidotos, mainītos un dzēstos ierakstus kopš "
        "iepriekšējā izsaukuma kursora; no sākuma lasīts, tas ir arī pilna sākotnējā ielāde.",
        "The API service that returns a dataset's created, updated and deleted records since the "
        "previous call's cursor; read from the start, it is also the full initial load.",
        "change-feed",
    ),
    Term(
        "client-id", "klienta identifikators", "client id",
        "Tehniskā savienojuma publiskais nosaukums (piemēram, dagr-3c38f7…), ar ko sistēma "
        "piesakās žetona saņemšanai.",
        "The public name of a technical connection (such as dagr-3c38f7…) with which a system "
        "asks for a token.",
        "register-connection",
    ),
    Term(
        "condition", "nosacījums", "condition",
        "Atļaujas vai ierakstu kopas noteikums par ieraksta lauka vērtību (vienāds, viens no, "
        "lielāks, mazāks, jaunāks vai vecāks par datumu vai vecumu).",
        "A rule of a grant or record set on a record's field value (equals, one of, greater, "
        "less, newer or older than a date or an age).",
        "request-access",
    ),
    Term(
        "cursor", "kursors", "cursor",
        "Atzīme izmaiņu plūsmā vai lappušu sarakstā (`next_cursor`), no kuras turpināt nākamajā "
        "izsaukumā.",
        "A bookmark in the change feed or a paged list (`next_cursor`) to continue from on the "
        "next call.",
        "change-feed",
    ),
    Term(
        "data-provider", "datu devējs", "data provider",
        "Iestāde, kas uztur reģistru un publicē tā datu kopu DAGR, ielādē datus un lemj par "
        "piekļuvi tiem.",
        "The institution that keeps a register, publishes its dataset in DAGR, loads the data "
        "and decides on access to it.",
        "define-dataset",
    ),
    Term(
        "data-recipient", "datu ņēmējs", "data recipient",
        "Iestāde, kas ar tiesisku pamatu saņem datus no DAGR savām informācijas sistēmām.",
        "An institution that, with a legal basis, receives data from DAGR for its information "
        "systems.",
        "request-access",
    ),
    Term(
        "data-subject", "datu subjekts", "data subject",
        "Cilvēks, par kuru ir dati; viņam ir tiesības uzzināt, kuras iestādes tos lasīja.",
        "The person the data is about, who has the right to know which institutions read it.",
        "who-read-my-data",
    ),
    Term(
        "data-viewer", "datu skatītājs", "data viewer",
        "Portāla lapa, kur datu ņēmēja pārstāvis redz tieši tos datus, ko atļauj viņa iestādes "
        "atļaujas — to pašu, ko atgrieztu API.",
        "The portal page where a recipient representative sees exactly the data their "
        "institution's grants allow — what the API would return.",
        "data-viewer",
    ),
    Term(
        "dataset", "datu kopa", "dataset",
        "Viena reģistra dati DAGR ar aprakstītu struktūru (shēmu); tai ir kods, nosaukumi, "
        "apraksts un datu devējs.",
        "One register's data in DAGR with a documented structure (schema); it has a code, "
        "titles, a description and a provider.",
        "what-is-dagr",
    ),
    Term(
        "field", "lauks", "field",
        "Viena ieraksta vērtība ar nosaukumu un tipu (teksts, skaitlis, datums, saraksts u. c.); "
        "atļauja nosaka, kurus laukus var lasīt.",
        "One named, typed value of a record (text, number, date, list …); a grant says which "
        "fields may be read.",
        "define-dataset",
    ),
    Term(
        "identifier", "objekta identifikators", "object identifier",
        "Lauks, pēc kura ierakstu var atrast: personas kods, uzņēmuma reģistrācijas numurs, "
        "adreses kods vai cits. Datu kopai var būt vairāki.",
        "A field a record can be found by: a personal code, company registration number, address "
        "code or another. A dataset may have several.",
        "dataset-identifiers",
    ),
    Term(
        "idempotency-key", "idempotences atslēga", "idempotency key",
        "Galvene Idempotency-Key datu ielādē: atkārtots pieprasījums ar to pašu atslēgu neko "
        "neielādē otrreiz.",
        "The Idempotency-Key header of a load: a repeated request with the same key loads "
        "nothing twice.",
        "provider-api",
    ),
    Term(
        "legal-basis", "tiesiskais pamats", "legal basis",
        "Normatīvā akta norma, kas iestādei dod tiesības saņemt konkrētos datus; bez tā piekļuvi "
        "nepiešķir.",
        "The provision of law that entitles an institution to the data; no access without it.",
        "legal-basis",
    ),
    Term(
        "load", "ielāde", "load",
        "Viena datu ievietošana datu kopā (caur API, failu vai savienotāju); tā ir atomāra — vai "
        "nu viss, vai nekas — un paliek vēsturē.",
        "One delivery of data into a dataset (through the API, a file or a connector); it is "
        "atomic — all or nothing — and stays in the history.",
        "upload-file",
    ),
    Term(
        "permission-number", "atļaujas numurs", "permission number",
        "Ārējā saskaņojuma numurs, ko datu devējs piešķir atļaujai; sistēma to sūta katrā datu "
        "izsaukumā galvenē X-Permission-Number.",
        "The number of the external approval, given to a grant by the provider; systems send it "
        "with every data call in the X-Permission-Number header.",
        "legal-basis",
    ),
    Term(
        "personal-code", "personas kods", "personal code",
        "Iedzīvotāja identifikators: vecais formāts DDMMGG-CNNNK ar kontrolciparu, jaunais "
        "(kopš 2017. gada) sākas ar 32–39.",
        "A resident's identifier: the old format DDMMYY-CNNNQ with a check digit; the new one "
        "(since 2017) starts with 32–39.",
        "dataset-identifiers",
    ),
    Term(
        "personal-data", "personas dati", "personal data",
        "Informācija par identificētu vai identificējamu cilvēku; shēmā šādi lauki ir atzīmēti, "
        "un tiem piemēro stingrākus noteikumus.",
        "Information about an identified or identifiable person; the schema marks such fields, "
        "and stricter rules apply to them.",
        "legal-basis",
    ),
    Term(
        "problem-json", "problem+json", "problem+json",
        "API kļūdas atbildes formāts (RFC 9457) ar stabilu kodu laukā code, pēc kura programma "
        "zina, ko darīt.",
        "The API's error format (RFC 9457), with a stable code in the code member that tells a "
        "program what to do.",
        "api-errors",
    ),
    Term(
        "production", "ražošana", "production",
        "Datu kopas statuss, kad tā ir publiska katalogā un tai var pieprasīt piekļuvi; uz "
        "ražošanu datu kopu pārceļ administrators.",
        "The status of a dataset that is public in the catalogue and open to access requests; an "
        "administrator promotes it there.",
        "define-dataset",
    ),
    Term(
        "purpose", "mērķis", "purpose",
        "Kādēļ dati vajadzīgi: norādīts atļaujā un, ja vēlas, katrā izsaukumā galvenē "
        "X-Purpose; redzams auditā.",
        "Why the data is needed: stated on the grant and optionally on each call in the "
        "X-Purpose header; shown in the audit.",
        "legal-basis",
    ),
    Term(
        "quota", "kvota", "quota",
        "Atļaujas pieļaujamais pieprasījumu skaits dienā; pēc tā API atbild 429 quota_exceeded.",
        "The number of requests a grant allows per day; beyond it the API answers 429 "
        "quota_exceeded.",
        "statistics",
    ),
    Term(
        "record", "ieraksts", "record",
        "Viens datu kopas objekts — persona, uzņēmums, adrese — ar atslēgu un versiju vēsturi.",
        "One object of a dataset — a person, a company, an address — with a key and a version "
        "history.",
        "what-is-dagr",
    ),
    Term(
        "record-set", "ierakstu kopa", "record set",
        "Datu ņēmēja izvēlēti ieraksti (identifikatoru saraksts un/vai nosacījumi), par kuru "
        "izmaiņām tas saņem ziņas.",
        "The records a recipient chose to watch (a list of identifiers and/or conditions), whose "
        "changes it is told about.",
        "record-sets",
    ),
    Term(
        "sandbox", "smilškaste", "sandbox",
        "Jaunas datu kopas sākuma statuss: to redz tikai datu devējs un administratori; testa "
        "datu kopas ir publiskas smilškastes datu kopas.",
        "A new dataset's first status, seen only by its provider and the administrators; test "
        "datasets are public sandbox datasets.",
        "define-dataset",
    ),
    Term(
        "schema", "shēma", "schema",
        "Datu kopas struktūras apraksts YAML formātā: lauki, to tipi, personas datu atzīmes, "
        "identifikatori un atslēga. Katrs labojums ir jauna versija.",
        "The description of a dataset's structure in YAML: fields, types, personal-data marks, "
        "identifiers and the key. Every change is a new version.",
        "define-dataset",
    ),
    Term(
        "signatory", "paraksttiesīgā kontaktpersona", "signatory contact person",
        "Iestādes pārstāvis, kas apstiprina savas iestādes darbinieku pieteikumus un pārvalda to "
        "lomas portālā.",
        "The institution's representative who approves its staff's applications and manages "
        "their roles in the portal.",
        "manage-users",
    ),
    Term(
        "sync-connector", "sinhronizācijas savienotājs", "sync connector",
        "Programma dagr sync, kas datu ņēmēja datubāzē uztur tabulu atbilstoši DAGR datu kopai "
        "bez programmēšanas.",
        "The dagr sync program, which keeps a table in the recipient's database in step with a "
        "DAGR dataset without programming.",
        "sync-connector",
    ),
    Term(
        "technical-connection", "tehniskais savienojums", "technical connection",
        "Informācijas sistēmas konts DAGR: klienta identifikators un noslēpums vai X.509 "
        "sertifikāts, veids (datu devēja vai ņēmēja sistēma) un žetona derīgums.",
        "An information system's account in DAGR: a client id and a secret or an X.509 "
        "certificate, a kind (provider or recipient system) and a token lifetime.",
        "register-connection",
    ),
    Term(
        "test-dataset", "testa datu kopa", "test dataset",
        "Anonimizēta datu kopas kopija ar tādu pašu struktūru un derīga izskata vērtībām, bet "
        "bez īstu personu datiem; publiska.",
        "An anonymised copy of a dataset with the same structure and valid-looking values but "
        "no real person's data; public.",
        "test-datasets",
    ),
    Term(
        "two-factor", "divpakāpju autentifikācija", "two-factor authentication",
        "Pieslēgšanās ar paroli un kodu no tālruņa lietotnes; obligāta administratoriem un "
        "paraksttiesīgajām personām.",
        "Logging in with a password plus a code from a phone app; mandatory for administrators "
        "and signatories.",
        "two-factor-authentication",
    ),
    Term(
        "webhook", "tīmekļa āķis", "webhook",
        "Adrese jūsu serverī, uz kuru DAGR pats sūta parakstītus paziņojumus par ierakstu kopas "
        "izmaiņām.",
        "An address on your server to which DAGR itself sends signed messages about a record "
        "set's changes.",
        "webhooks",
    ),
)  # fmt: skip


def terms_sorted(language: str) -> list[Term]:
    """In the alphabetical order of the language (Latvian letters after their base letter)."""
    return sorted(TERMS, key=lambda t: _collation_key(t.term(language)))


_LV_ORDER = "aābcčdeēfgģhiījkķlļmnņoprsštuūvzž"


def _collation_key(text: str) -> list[tuple[int, str]]:
    return [(_LV_ORDER.find(ch) if ch in _LV_ORDER else 100 + ord(ch), ch) for ch in text.lower()]
