"""The improvement loop: a team's causes (a vocabulary, suggested by meaning), what each costs
(what to fix first), and improvement actions followed to done.

Plain typed entry points for other adapters (an HTTP API, webhooks, a Jira link):
- `costs.list_causes(db, team)`, `costs.causes_with_cost(db, team, start, end)` → `CauseInfo`, `CauseCost`
- `actions.list_actions(db, team, status, owner)`, `actions.get_action(db, team, number)` → `ActionView`
- `actions.create_action(service, team, case, actor, text, owner, due_at)`,
  `actions.close_action(service, team, number, actor, done=True|False, note=...)` → `ActionView`
Creating, finishing and dropping an action publish `action_created`, `action_done`, `action_dropped`
on `CaseEvents` (data: action, action_id, text, owner, due_at, cause_id, outcome) inside the
case's transaction, where an outbox can subscribe.
"""
