"""Text the sample traffic is made of: support questions with answers and their human
corrections, and support tickets with summaries. Written to read like a real product's logs."""

from __future__ import annotations

# (question, answer, corrected answer): the correction is what a support lead wrote instead.
SUPPORT_QA: list[tuple[str, str, str]] = [
    (
        "How do I get a refund for my last invoice?",
        "You can request a refund from Billing → Invoices within 30 days of the charge. Refunds "
        "reach your card in 5 business days.",
        "You can request a refund from Billing → Invoices within 14 days of the charge. Refunds "
        "reach your card in 5 to 10 business days.",
    ),
    (
        "My server has been unreachable since this morning, what should I do?",
        "Please restart the server from the dashboard. If that does not help, open a ticket.",
        "First check status.acme.example for an ongoing incident. If there is none, reboot the "
        "server from the dashboard and, if it is still unreachable, open a priority ticket with "
        "its ID.",
    ),
    (
        "Can I upgrade my plan without downtime?",
        "Yes. Plan upgrades are applied live and take effect within a minute.",
        "Yes for CPU and memory: they are applied live within a minute. Disk upgrades need a "
        "reboot of about 30 seconds.",
    ),
    (
        "How do I add a teammate to my account?",
        "Go to Settings → Team and click Invite. They receive an email to join.",
        "Go to Settings → Team, click Invite and choose a role (Viewer, Developer or Admin). "
        "They receive an email that is valid for 7 days.",
    ),
    (
        "Why was my card declined?",
        "Your bank declined the payment. Please try another card.",
        "Your bank declined the payment; the most common causes are 3-D Secure not being "
        "completed or an expired card. Please retry from Billing → Payment methods or use "
        "another card.",
    ),
    (
        "Do you offer backups?",
        "Yes, daily backups are included with every plan.",
        "Daily backups are included in the Pro and Business plans and kept for 7 days; on the "
        "Starter plan they are an add-on at $2 per month.",
    ),
    (
        "How can I change the region of my database?",
        "You cannot change the region of a database.",
        "A database's region is fixed, but you can create a read replica in the new region, "
        "promote it, and then delete the old primary. The switch takes under a minute.",
    ),
    (
        "Is my data encrypted at rest?",
        "Yes, all volumes are encrypted at rest with AES-256.",
        "Yes, all volumes and backups are encrypted at rest with AES-256; keys are rotated "
        "every 90 days.",
    ),
    (
        "I was charged twice this month.",
        "Sorry about that. A duplicate charge is refunded automatically within 7 days.",
        "Sorry about that. One of the two charges is usually a pre-authorization that drops off "
        "within 3 days; if both are still there after that, reply with the invoice numbers and "
        "we refund the duplicate.",
    ),
    (
        "How do I set up two-factor authentication?",
        "Go to Settings → Security and enable 2FA with an authenticator app.",
        "Go to Settings → Security → Two-factor, scan the QR code with an authenticator app and "
        "save the 10 recovery codes somewhere safe.",
    ),
    (
        "Can I get an invoice with my company's VAT number?",
        "Add your VAT number in Billing → Details; it will appear on future invoices.",
        "Add your VAT number in Billing → Details; it appears on future invoices, and you can "
        "regenerate the invoices of the last 12 months from the same page.",
    ),
    (
        "Pourquoi mon site est-il lent depuis la mise à jour ?",
        "Cela peut venir du cache. Videz le cache de votre application.",
        "Après une mise à jour, le cache est reconstruit pendant environ 10 minutes. Si le site "
        "reste lent, vérifiez l'onglet Monitoring et ouvrez un ticket avec l'heure du début.",
    ),
    (
        "サーバーのIPアドレスを変更できますか？",
        "はい、ダッシュボードから変更できます。",
        "はい。ダッシュボードの「ネットワーク」から新しいIPを割り当てられますが、古いIPは24時間後に解放されます。",
    ),
]

# Questions the example eval sets do not cover (so that exports have something to export):
# "{slots}" are filled per request by the generator, the same value in all three texts.
SUPPORT_QA_UNCURATED: list[tuple[str, str, str]] = [
    (
        "My SSL certificate for {domain} expires in {days} days, will it renew by itself?",
        "Yes, certificates renew automatically.",
        "Yes: certificates issued through Acme Cloud renew automatically 30 days before expiry, "
        "so {domain} will renew on its own; an uploaded custom certificate must be renewed by you.",
    ),
    (
        "I changed the DNS records of {domain} an hour ago and nothing happened. Why?",
        "DNS changes are instant on our side; clear your browser cache.",
        "Our nameservers apply changes within a minute, but resolvers may cache the old records "
        "for up to the record's TTL (often 1 to 24 hours). Check {domain} with `dig` against "
        "ns1.acme.example to confirm the new value.",
    ),
    (
        "What is the API rate limit? I get 429 errors above {rps} requests per second.",
        "The API allows 100 requests per second.",
        "The API allows 20 requests per second per token with bursts of 40; above that it "
        "answers 429 with a Retry-After header. At {rps} requests per second, spread the load "
        "over several tokens or ask us for a higher limit.",
    ),
    (
        "How do I export all my personal data before closing my account?",
        "Open a ticket and we send you a copy of your data.",
        "Go to Settings → Privacy → Export data; you get a download link by email within 24 "
        "hours. Close the account only after downloading, as deletion is final after 30 days.",
    ),
    (
        "Can I pay in euros instead of dollars?",
        "No, all invoices are in US dollars.",
        "Yes: set the billing currency to EUR in Billing → Details before the next invoice; "
        "invoices already issued stay in USD.",
    ),
    (
        "Do you have a discount for students or non-profits?",
        "We do not offer discounts.",
        "Yes: non-profits get 30% off any plan and students get $50 in credits per year; apply "
        "from Billing → Programs with proof of status.",
    ),
    (
        "Our site was down for {minutes} minutes yesterday. Do we get SLA credits?",
        "Yes, SLA credits are applied automatically.",
        "For {minutes} minutes of downtime you may be eligible: request the credit within 30 days "
        "from Billing → SLA claims, giving the incident ID. Credits are 10% of the month's fee "
        "per 0.1% below 99.95% uptime.",
    ),
    (
        "How much does object storage cost for {gb} GB?",
        "Object storage costs $0.02 per GB.",
        "Object storage is $5 per month for the first 250 GB, then $0.02 per GB; {gb} GB "
        "costs what that works out to, with egress of 1 TB per month included.",
    ),
    (
        "How do I upgrade my Kubernetes cluster to the next version?",
        "Click Upgrade in the cluster page.",
        "In the cluster page choose Upgrade; nodes are replaced one at a time with a surge node, "
        "so workloads with two or more replicas stay up. Check deprecated APIs first with the "
        "upgrade report shown there.",
    ),
    (
        "Which ports are open by default on a new server?",
        "All ports are open by default.",
        "Only 22 (SSH), 80 and 443 are open by default; everything else is closed by the cloud "
        "firewall until you add a rule in Networking → Firewalls.",
    ),
    (
        "I did not receive the password reset email.",
        "Please check your spam folder.",
        "Check your spam folder first; reset emails come from no-reply@acme.example and expire "
        "after 1 hour. If nothing arrives within 10 minutes, reply here and we verify your "
        "identity another way.",
    ),
    (
        "Can I transfer my domain {domain} to Acme Cloud?",
        "Yes, start the transfer in Domains.",
        "Yes: unlock {domain} at your current registrar, get its auth code, and start the "
        "transfer in Domains → Transfer. It takes up to 5 days and adds a year to the expiry.",
    ),
]

SLOT_VALUES: dict[str, list[str]] = {
    "domain": ["shop.example.com", "blog.example.org", "api.example.net", "example.io",
               "tienda.example.es", "kaisha.example.jp"],
    "days": ["3", "7", "12", "20"],
    "rps": ["25", "60", "150"],
    "minutes": ["12", "35", "47", "90"],
    "gb": ["40", "500", "1,200", "8,000"],
}

# Phrases a warmer tone puts before the answer.
FRIENDLY_OPENERS = [
    "Thanks for reaching out! ",
    "I understand how frustrating that is. ",
    "Good question! ",
    "Happy to help with that. ",
]

ORDER_IDS = ["A-10293", "A-20931", "B-55120", "C-00917", None, None, None]

# Strings that look like personal data, planted in some inputs (all fake).
PII_SNIPPETS = [
    " You can reach me at jane.doe@example.com.",
    " My phone is +1 415 555 0132.",
    " Call me back on +44 20 7946 0958 please.",
    " Email: li.wei+billing@example.org",
    " (account owner: carlos.mendez@example.net, tel. +34 612 345 678)",
]

TICKETS: list[tuple[str, str, str]] = [
    (
        "Customer reports that deployments to the eu-west cluster have failed since 09:10 UTC "
        "with 'image pull backoff'. They rolled back once, which worked, but the next deploy "
        "failed again. They use a private registry with token auth.",
        "Deployments to eu-west fail since 09:10 UTC with image pull backoff from a private "
        "registry. A rollback worked but the next deploy failed.",
        "Deploys to eu-west fail since 09:10 UTC with image pull backoff; likely an expired "
        "registry token, since a rollback (cached image) worked.",
    ),
    (
        "The customer's Postgres database hit 100% disk at 02:00, writes are failing, and the "
        "nightly vacuum did not run. They ask whether we can expand the disk immediately and "
        "whether data was lost.",
        "A Postgres database is at 100% disk since 02:00 and writes fail. The customer wants an "
        "immediate disk expansion and to know if data was lost.",
        "Postgres at 100% disk since 02:00, writes failing, vacuum skipped; expand the disk now "
        "and confirm no committed data was lost.",
    ),
    (
        "User cannot log in after enabling two-factor authentication; the codes from their "
        "authenticator app are rejected. Their phone clock might be off. They have not saved "
        "recovery codes.",
        "A user is locked out after enabling 2FA because codes are rejected, possibly due to "
        "phone clock drift. No recovery codes were saved.",
        "User locked out after enabling 2FA: codes rejected, probably phone clock drift, no "
        "recovery codes; needs identity check and a 2FA reset.",
    ),
    (
        "Invoices for October show a charge for 3 load balancers, but the customer says they "
        "only ever had 2. One was created by a Terraform run that failed halfway.",
        "The October invoice charges 3 load balancers while the customer expected 2; one was "
        "created by a failed Terraform run.",
        "October invoice bills 3 load balancers, customer expected 2; the third came from a "
        "half-failed Terraform run and should be credited.",
    ),
    (
        "After the 14:00 maintenance window, p95 API latency for the customer went from 120 ms "
        "to 900 ms. CPU is normal. They suspect the new connection pooler.",
        "Since the 14:00 maintenance, the customer's p95 API latency rose from 120 ms to 900 ms "
        "with normal CPU, possibly because of the new connection pooler.",
        "p95 latency up from 120 ms to 900 ms after the 14:00 maintenance with normal CPU; "
        "suspect the new connection pooler's pool size.",
    ),
    (
        "Le client signale que les e-mails de réinitialisation de mot de passe n'arrivent plus "
        "depuis hier soir. Les logs SMTP montrent des rejets 550 de la part de Gmail.",
        "Les e-mails de réinitialisation ne sont plus délivrés depuis hier soir ; Gmail les "
        "rejette avec des erreurs 550.",
        "E-mails de réinitialisation bloqués depuis hier soir par Gmail (550) : vérifier SPF et "
        "DKIM du domaine d'envoi.",
    ),
]
