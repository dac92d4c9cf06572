"""The help every adapter shows: the whole `/recover` grammar on one screen, in the reader's language.

Each line is one catalogue entry; what is between backticks is the command and stays English in
every language (a test holds translations to that): one grammar to teach, type and parse.
"""

from teambot.core.i18n import N_, SOURCE, current
from teambot.core.i18n import gettext as _

HELP_LINES = (
    N_("*Teambot: service recovery*"),
    N_("`/recover` open a case with a guided form"),
    N_("`/recover [customer:] what went wrong [wants: what they want] [#category] [!high] [lang:de]` open a case at once (`lang:` the customer's language)"),
    N_("`/recover list` open cases in this team · `/recover mine` cases you own · `/recover home` your own view"),
    N_("`/recover show <case>` the case card · `/recover timeline <case>` everything that happened"),
    N_("`/recover claim <case>` · `/recover handover <case> @person`"),
    N_("`/recover apologise <case> in_person|phone|email|chat [words]`"),
    N_("`/recover grant <case> <gesture> [amount]` (above your limit an approver is asked)"),
    N_("`/recover approvals` · `/recover approve <request>` · `/recover deny <request> [reason]` · `/recover withdraw <request>` (yours)"),
    N_("`/recover step <case> <what> [@owner] [due <when>]` · `/recover done <case>.<step>`"),
    N_("`/recover resolve <case> <what you did> | <root cause>`"),
    N_("`/recover followup <case> satisfied|not <score 1-5> [won|lost]` · `/recover reopen <case>`"),
    N_("`/recover flag <case> <what should change>` · `/recover draft <case>` (written follow-up)"),
    N_("`/recover cause <case>[,<case>] <cause>` file root causes under a cause · `/recover causes [week|month|YYYY-MM|<from>..<to>]` what to fix first, by cost"),
    N_("`/recover action <case> <what will change> [@owner] [due <when>]` · `/recover actions [mine|done|all]` · `/recover action done|drop|snooze|jira <action> ...` (jira: create it in the linked Jira project)"),
    N_("`/recover cancel <case> mistake|duplicate of <case>` (opener, owner, admin) · `/recover category <case> <category>`"),
    N_("`/recover customer <name>` · `/recover note <customer>: <preference>`"),
    N_("`/recover shoutout @person [case] <why>` · `/recover leaderboard` · `/recover digest`"),
    N_("`/recover spend [week|month|YYYY-MM|<from>..<to>]` what compensation cost (leads, managers, admins)"),
    N_("`/recover policy` read the recovery policy; admins: `/recover policy <setting> ...`; admins and managers: `/recover policy cause add|remove|rename|merge ...`"),
    N_("`/recover policy my language de` the language Teambot speaks with you · admins: `/recover policy language de` the team's"),
    N_("Admins: `/recover api-token create <name> [read|write]` · `list` · `revoke <name>` (the HTTP API at /api/v1)"),
    N_("Admins: `/recover webhook add <https URL> [event,...]` · `list` · `remove <url>` · `test <url>` · `log <url>`"),
    N_("Admins: `/recover export` (the CSV) · `/recover export-customer <name>` · `/recover forget-customer <name>` (erases name and words, keeps figures)"),
)  # fmt: skip
COMMANDS_STAY_ENGLISH = N_(
    "Commands stay in English in every language, so the whole team shares one way to type them and "
    "Teambot reads them the same for everyone. Everything Teambot says back is in your language."
)


def help_text() -> str:
    """The help in the current language; a translated help says why the commands stay English."""
    lines = [_(line) for line in HELP_LINES]
    if current() != SOURCE:
        lines.insert(1, "_" + _(COMMANDS_STAY_ENGLISH) + "_")
    return "\n".join(lines)


HELP = "\n".join(HELP_LINES)
"""The help in English, the source (`help_text()` is what people read)."""
