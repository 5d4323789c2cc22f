"""The shipped texts of every notification kind, Latvian and English: in force while no edited
version of a (kind, language) is saved. The text part is derived from the HTML (empty here).
Each uses only its kind's documented variables (tests/notifications check that they validate)."""

from __future__ import annotations

# kind → language → (subject, html)
DEFAULTS: dict[str, dict[str, tuple[str, str]]] = {
    "application_received": {
        "lv": (
            "Jauns konta pieteikums: {{ applicant_name }} ({{ institution_name }})",
            "<p>Labdien, {{ recipient_name }}!</p>"
            "<p>{{ applicant_name }} ({{ applicant_email }}) piesakās DAGR kontam iestādē "
            "<strong>{{ institution_name }}</strong> ar lomām: {{ roles }}.</p>"
            '<p><a href="{{ url }}">Izskatīt pieteikumu</a></p>',
        ),
        "en": (
            "New account application: {{ applicant_name }} ({{ institution_name }})",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>{{ applicant_name }} ({{ applicant_email }}) applies for a DAGR account at "
            "<strong>{{ institution_name }}</strong> with the roles: {{ roles }}.</p>"
            '<p><a href="{{ url }}">Review the application</a></p>',
        ),
    },
    "application_acknowledged": {
        "lv": (
            "Jūsu DAGR konta pieteikums ir saņemts",
            "<p>Labdien, {{ recipient_name }}!</p>"
            "<p>Esam saņēmuši jūsu pieteikumu DAGR kontam iestādē "
            "<strong>{{ institution_name }}</strong> (lomas: {{ roles }}). Iestādes paraksttiesīgā "
            "kontaktpersona to izskatīs, un par lēmumu jūs saņemsiet e-pastu.</p>",
        ),
        "en": (
            "Your DAGR account application has been received",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>We have received your application for a DAGR account at "
            "<strong>{{ institution_name }}</strong> (roles: {{ roles }}). The institution's "
            "signatory will review it and you will get an e-mail about the decision.</p>",
        ),
    },
    "application_approved": {
        "lv": (
            "Jūsu DAGR konts ir apstiprināts",
            "<p>Labdien, {{ recipient_name }}!</p>"
            "<p>Jūsu pieteikums iestādē <strong>{{ institution_name }}</strong> ir apstiprināts. "
            "Piešķirtās lomas: {{ roles }}.</p>"
            "{% if note %}<p>Piezīme: {{ note }}</p>{% endif %}"
            '<p><a href="{{ url }}">Pieslēgties DAGR</a></p>',
        ),
        "en": (
            "Your DAGR account has been approved",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>Your application at <strong>{{ institution_name }}</strong> has been approved. "
            "Roles granted: {{ roles }}.</p>"
            "{% if note %}<p>Note: {{ note }}</p>{% endif %}"
            '<p><a href="{{ url }}">Log in to DAGR</a></p>',
        ),
    },
    "application_rejected": {
        "lv": (
            "Jūsu DAGR konta pieteikums ir noraidīts",
            "<p>Labdien, {{ recipient_name }}!</p>"
            "<p>Diemžēl jūsu pieteikums DAGR kontam iestādē <strong>{{ institution_name }}"
            "</strong> ir noraidīts.</p>"
            "{% if note %}<p>Pamatojums: {{ note }}</p>{% endif %}"
            "<p>Ja domājat, ka tā ir kļūda, sazinieties ar savas iestādes paraksttiesīgo "
            "kontaktpersonu.</p>",
        ),
        "en": (
            "Your DAGR account application has been rejected",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>Unfortunately your application for a DAGR account at <strong>"
            "{{ institution_name }}</strong> has been rejected.</p>"
            "{% if note %}<p>Reason: {{ note }}</p>{% endif %}"
            "<p>If you think this is a mistake, please contact your institution's signatory.</p>",
        ),
    },
    "role_granted": {
        "lv": (
            "Jums piešķirta loma: {{ role }}",
            "<p>Labdien, {{ recipient_name }}!</p>"
            "<p>Iestādē <strong>{{ institution_name }}</strong> jums piešķirta loma "
            "„{{ role }}”.</p>"
            '<p><a href="{{ url }}">Skatīt savu profilu</a></p>',
        ),
        "en": (
            "You have been given a role: {{ role }}",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>At <strong>{{ institution_name }}</strong> you have been given the role "
            "“{{ role }}”.</p>"
            '<p><a href="{{ url }}">View your profile</a></p>',
        ),
    },
    "role_revoked": {
        "lv": (
            "Jūsu loma atsaukta: {{ role }}",
            "<p>Labdien, {{ recipient_name }}!</p>"
            "<p>Iestādē <strong>{{ institution_name }}</strong> jūsu loma „{{ role }}” ir "
            "atsaukta. Ja tas nav gaidīts, sazinieties ar iestādes paraksttiesīgo "
            "kontaktpersonu.</p>",
        ),
        "en": (
            "Your role has been withdrawn: {{ role }}",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>At <strong>{{ institution_name }}</strong> your role “{{ role }}” has been "
            "withdrawn. If you did not expect this, please contact your institution's "
            "signatory.</p>",
        ),
    },
    "access_requested": {
        "lv": (
            "Jauns piekļuves pieprasījums: {{ dataset_title }}",
            "<p>Labdien, {{ recipient_name }}!</p>"
            "<p><strong>{{ recipient_institution }}</strong> pieprasa piekļuvi datu kopai "
            "„{{ dataset_title }}” ({{ dataset_code }}).</p>"
            '<p><a href="{{ url }}">Izskatīt pieprasījumu</a></p>',
        ),
        "en": (
            "New access request: {{ dataset_title }}",
            "<p>Hello {{ recipient_name }},</p>"
            "<p><strong>{{ recipient_institution }}</strong> requests access to the dataset "
            "“{{ dataset_title }}” ({{ dataset_code }}).</p>"
            '<p><a href="{{ url }}">Review the request</a></p>',
        ),
    },
    "request_approved": {
        "lv": (
            "Piekļuve apstiprināta: {{ dataset_title }}",
            "<p>Labdien, {{ recipient_name }}!</p>"
            "<p>{{ provider_institution }} ir apstiprinājusi iestādes "
            "<strong>{{ recipient_institution }}</strong> pieprasījumu piekļūt datu kopai "
            "„{{ dataset_title }}”."
            "{% if valid_until %} Piekļuve ir spēkā līdz {{ valid_until }}.{% endif %}</p>"
            "{% if note %}<p>Piezīme: {{ note }}</p>{% endif %}"
            '<p><a href="{{ url }}">Skatīt piekļuves atļauju</a></p>',
        ),
        "en": (
            "Access approved: {{ dataset_title }}",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>{{ provider_institution }} has approved the request of "
            "<strong>{{ recipient_institution }}</strong> for access to the dataset "
            "“{{ dataset_title }}”."
            "{% if valid_until %} The access is valid until {{ valid_until }}.{% endif %}</p>"
            "{% if note %}<p>Note: {{ note }}</p>{% endif %}"
            '<p><a href="{{ url }}">View the access grant</a></p>',
        ),
    },
    "request_narrowed": {
        "lv": (
            "Piekļuve apstiprināta daļēji: {{ dataset_title }}",
            "<p>Labdien, {{ recipient_name }}!</p>"
            "<p>{{ provider_institution }} ir apstiprinājusi iestādes "
            "<strong>{{ recipient_institution }}</strong> pieprasījumu datu kopai "
            "„{{ dataset_title }}” šaurākā apjomā, nekā pieprasīts (mazāk lauku vai stingrāki "
            "nosacījumi).</p>"
            "{% if note %}<p>Piezīme: {{ note }}</p>{% endif %}"
            '<p><a href="{{ url }}">Skatīt, kas apstiprināts</a></p>',
        ),
        "en": (
            "Access approved in part: {{ dataset_title }}",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>{{ provider_institution }} has approved the request of "
            "<strong>{{ recipient_institution }}</strong> for the dataset "
            "“{{ dataset_title }}” in a narrower scope than requested (fewer fields or stricter "
            "conditions).</p>"
            "{% if note %}<p>Note: {{ note }}</p>{% endif %}"
            '<p><a href="{{ url }}">See what was approved</a></p>',
        ),
    },
    "request_rejected": {
        "lv": (
            "Piekļuves pieprasījums noraidīts: {{ dataset_title }}",
            "<p>Labdien, {{ recipient_name }}!</p>"
            "<p>{{ provider_institution }} ir noraidījusi iestādes "
            "<strong>{{ recipient_institution }}</strong> pieprasījumu piekļūt datu kopai "
            "„{{ dataset_title }}”.</p>"
            "{% if note %}<p>Pamatojums: {{ note }}</p>{% endif %}"
            '<p><a href="{{ url }}">Skatīt pieprasījumu</a></p>',
        ),
        "en": (
            "Access request rejected: {{ dataset_title }}",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>{{ provider_institution }} has rejected the request of "
            "<strong>{{ recipient_institution }}</strong> for access to the dataset "
            "“{{ dataset_title }}”.</p>"
            "{% if note %}<p>Reason: {{ note }}</p>{% endif %}"
            '<p><a href="{{ url }}">View the request</a></p>',
        ),
    },
    "grant_expiring": {
        "lv": (
            "Piekļuve datu kopai „{{ dataset_title }}” beigsies pēc {{ days }} dienām",
            "<p>Labdien, {{ recipient_name }}!</p>"
            "<p>Iestādes <strong>{{ recipient_institution }}</strong> piekļuve datu kopai "
            "„{{ dataset_title }}” ir spēkā līdz {{ valid_until }} (vēl {{ days }} dienas). Ja "
            "dati būs vajadzīgi arī pēc tam, laikus iesniedziet jaunu pieprasījumu.</p>"
            '<p><a href="{{ url }}">Skatīt piekļuves atļauju</a></p>',
        ),
        "en": (
            "Access to “{{ dataset_title }}” ends in {{ days }} days",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>The access of <strong>{{ recipient_institution }}</strong> to the dataset "
            "“{{ dataset_title }}” is valid until {{ valid_until }} ({{ days }} days left). If "
            "you need the data after that, please submit a new request in good time.</p>"
            '<p><a href="{{ url }}">View the access grant</a></p>',
        ),
    },
    "grant_quota": {
        "lv": (
            "Izmantoti 80 % no dienas pieprasījumu limita: {{ dataset_title }}",
            "<p>Labdien, {{ recipient_name }}!</p>"
            "<p>Šodien iestāde <strong>{{ recipient_institution }}</strong> datu kopai "
            "„{{ dataset_title }}” ir veikusi {{ used }} no {{ quota }} atļautajiem "
            "pieprasījumiem. Kad limits būs sasniegts, pieprasījumi līdz dienas beigām tiks "
            "atteikti.</p>"
            '<p><a href="{{ url }}">Skatīt piekļuves atļauju</a></p>',
        ),
        "en": (
            "80 % of the daily request quota used: {{ dataset_title }}",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>Today <strong>{{ recipient_institution }}</strong> has made {{ used }} of the "
            "{{ quota }} requests allowed for the dataset “{{ dataset_title }}”. Once the quota "
            "is reached, requests are refused until the end of the day.</p>"
            '<p><a href="{{ url }}">View the access grant</a></p>',
        ),
    },
    "dataset_stale": {
        "lv": (
            "Datu kopa „{{ dataset_title }}” nav atjaunota 24 stundas",
            "<p>Labdien, {{ recipient_name }}!</p>"
            "<p>Datu kopā „{{ dataset_title }}” ({{ dataset_code }}) pēdējās 24 stundās nav "
            "ielādēti jauni dati."
            "{% if last_loaded %} Pēdējā veiksmīgā ielāde: {{ last_loaded }}.{% endif %} "
            "Lūdzu, pārbaudiet datu piegādi.</p>"
            '<p><a href="{{ url }}">Atvērt datu kopas pārvaldību</a></p>',
        ),
        "en": (
            "Dataset “{{ dataset_title }}” not refreshed for 24 hours",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>No new data has been loaded into the dataset “{{ dataset_title }}” "
            "({{ dataset_code }}) in the last 24 hours."
            "{% if last_loaded %} Last successful load: {{ last_loaded }}.{% endif %} "
            "Please check the data supply.</p>"
            '<p><a href="{{ url }}">Open the dataset management</a></p>',
        ),
    },
    "webhook_suspended": {
        "lv": (
            "Tīmekļa āķis apturēts: {{ record_set_name }}",
            "<p>Labdien, {{ recipient_name }}!</p>"
            "<p>Ierakstu kopas „{{ record_set_name }}” tīmekļa āķis ({{ webhook_url }}) pēc "
            "atkārtotām neveiksmīgām piegādēm ir apturēts (iemesls: {{ reason }}). Izmaiņas "
            "netiek zaudētas: kad adrese atkal darbojas, atsāciet āķi, un piegāde turpināsies.</p>"
            '<p><a href="{{ url }}">Atvērt tīmekļa āķi</a></p>',
        ),
        "en": (
            "Webhook suspended: {{ record_set_name }}",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>The webhook of the record set “{{ record_set_name }}” ({{ webhook_url }}) has "
            "been suspended after repeated failed deliveries (reason: {{ reason }}). No changes "
            "are lost: once the address works again, resume the webhook and delivery "
            "continues.</p>"
            '<p><a href="{{ url }}">Open the webhook</a></p>',
        ),
    },
    "release_published": {
        "lv": (
            "Publicēta testa datu versija: {{ release_label }}",
            "<p>Labdien, {{ recipient_name }}!</p>"
            "<p>Datu kopai {{ dataset_code }} ir publicēta anonimizētu testa datu versija "
            "„{{ release_label }}”.</p>"
            '<p><a href="{{ url }}">Atvērt datu kopu</a></p>',
        ),
        "en": (
            "Test data release published: {{ release_label }}",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>An anonymised test data release “{{ release_label }}” has been published for "
            "the dataset {{ dataset_code }}.</p>"
            '<p><a href="{{ url }}">Open the dataset</a></p>',
        ),
    },
    "connector_run_failed": {
        "lv": (
            "Savienotāja darbība neizdevās: {{ connector_name }}",
            "<p>Labdien, {{ recipient_name }}!</p>"
            "<p>Savienotāja „{{ connector_name }}” darbība neizdevās: {{ error }}</p>"
            '<p><a href="{{ url }}">Atvērt darbības žurnālu</a></p>',
        ),
        "en": (
            "Connector run failed: {{ connector_name }}",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>The run of the connector “{{ connector_name }}” failed: {{ error }}</p>"
            '<p><a href="{{ url }}">Open the run log</a></p>',
        ),
    },
}
