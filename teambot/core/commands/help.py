"""The help every adapter shows: the whole `/recover` grammar on one screen."""

HELP = """*Teambot: service recovery*
`/recover` open a case with a guided form
`/recover [customer:] what went wrong [wants: what they want] [#category] [!high]` open a case at once
`/recover list` open cases in this team · `/recover mine` cases you own · `/recover home` your own view
`/recover show <case>` the case card · `/recover timeline <case>` everything that happened
`/recover claim <case>` · `/recover handover <case> @person`
`/recover apologise <case> in_person|phone|email|chat [words]`
`/recover grant <case> <gesture> [amount]` (above your limit an approver is asked)
`/recover approvals` · `/recover approve <request>` · `/recover deny <request> [reason]` · `/recover withdraw <request>` (yours)
`/recover step <case> <what> [@owner] [due <when>]` · `/recover done <case>.<step>`
`/recover resolve <case> <what you did> | <root cause>`
`/recover followup <case> satisfied|not <score 1-5> [won|lost]` · `/recover reopen <case>`
`/recover flag <case> <what should change>` · `/recover draft <case>` (written follow-up)
`/recover cause <case>[,<case>] <cause>` file root causes under a cause · `/recover causes [week|month|YYYY-MM|<from>..<to>]` what to fix first, by cost
`/recover action <case> <what will change> [@owner] [due <when>]` · `/recover actions [mine|done|all]` · `/recover action done|drop|snooze|jira <action> ...` (jira: create it in the linked Jira project)
`/recover cancel <case> mistake|duplicate of <case>` (opener, owner, admin) · `/recover category <case> <category>`
`/recover customer <name>` · `/recover note <customer>: <preference>`
`/recover shoutout @person [case] <why>` · `/recover leaderboard` · `/recover digest`
`/recover spend [week|month|YYYY-MM|<from>..<to>]` what compensation cost (leads, managers, admins)
`/recover policy` read the recovery policy; admins: `/recover policy <setting> ...`; admins and managers: `/recover policy cause add|remove|rename|merge ...`
Admins: `/recover api-token create <name> [read|write]` · `list` · `revoke <name>` (the HTTP API at /api/v1)
Admins: `/recover webhook add <https URL> [event,...]` · `list` · `remove <url>` · `test <url>` · `log <url>`
Admins: `/recover export` (the CSV) · `/recover export-customer <name>` · `/recover forget-customer <name>` (erases name and words, keeps figures)"""
