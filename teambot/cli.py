"""`teambot run | serve | shell | worker | digest | db upgrade | export --csv`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from teambot.config import ConfigError, Settings, load_settings
from teambot.core.errors import DomainError
from teambot.logs import configure


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="teambot", description="Service recovery from Slack and Microsoft Teams."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser(
        "run",
        help="serve every configured platform, or open the local shell when none is configured",
        description="The main job. With Slack or Teams credentials it serves HTTP on $PORT; "
        "with none it opens the local shell so you can try Teambot at once.",
    )
    sub.add_parser("serve", help="serve HTTP only (/healthz and whatever platform is configured)")
    shell = sub.add_parser("shell", help="the local shell chat only, no chat workspace needed")
    shell.add_argument("--user", default="you", help="who you are at the start (default: you)")
    shell.add_argument("--channel", default="general", help="the channel you are in (default: general)")
    shell.add_argument("--lang", help="your language, as a chat app would say it: de, fr, es, nl, pt, en")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply Alembic migrations up to the latest schema")
    sub.add_parser(
        "worker",
        help="run only the scheduler: send due nudges and digests (scale web and workers apart)",
        description="Runs the scheduler alone: sweeps the due nudges, digests and pattern alerts "
        "from the database and sends them. Run one or more beside web processes started with "
        "TEAMBOT_SCHEDULER=off.",
    )
    sub.add_parser(
        "doctor",
        help="check this deployment's settings end to end: one line per check, exit 1 on any FAIL",
        description="Checks the database, TEAMBOT_SECRET, Slack, Teams, SMTP, TEAMBOT_PUBLIC_URL and the "
        "worker mode with the settings this process would run with; prints OK, WARN, FAIL (or SKIP) and "
        "the fix.",
    )
    dg = sub.add_parser("digest", help="print a team's weekly digest")
    dg.add_argument(
        "--team", required=True, help="the team (Slack workspace or Teams tenant id; shell: 'shell')"
    )
    dg.add_argument("--week", help="ISO week such as 2026-W47 (default: this week so far)")
    dg.add_argument("--preview", action="store_true", help="this week so far (the default without --week)")
    dg.add_argument("--json", action="store_true", help="the digest as JSON data instead of text")
    export = sub.add_parser("export", help="export every case with its figures")
    export.add_argument("--csv", action="store_true", required=True, help="CSV (the only format)")
    export.add_argument("--team", help="only this team (Slack workspace or Teams tenant id)")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    jira = sub.add_parser("jira", help="link a team to a Jira Cloud project (improvement actions)")
    jira_sub = jira.add_subparsers(dest="jira_command", required=True, metavar="ACTION")
    link = jira_sub.add_parser(
        "link", help="link a team to a Jira Cloud project",
        description="The API token is read from standard input or JIRA_API_TOKEN (never typed in chat) and kept "
        "encrypted with a key derived from TEAMBOT_SECRET.",
    )  # fmt: skip
    link.add_argument(
        "--team", required=True, help="the team (Slack workspace or Teams tenant id; shell: 'shell')"
    )
    link.add_argument("--site", required=True, help="<name>.atlassian.net")
    link.add_argument("--project", required=True, help="the project key, such as OPS")
    link.add_argument("--email", required=True, help="the Atlassian account the token belongs to")
    teams = sub.add_parser("teams-package", help="build the Teams app package zip to upload or sideload")
    teams.add_argument(
        "--output", "-o", default="teambot-teams.zip", help="zip to write (default: %(default)s)"
    )
    teams.add_argument("--app-id", help="the bot's Microsoft app id (default: $MICROSOFT_APP_ID)")
    teams.add_argument("--version", help="the app version to stamp, e.g. 1.0.1 (default: the manifest's)")
    return parser


async def _shell(
    settings: Settings, user: str = "you", channel: str = "general", lang: str | None = None
) -> None:
    from teambot.bootstrap import build
    from teambot.shell.session import ShellClock, ShellSession

    container = await build(settings, clock=ShellClock())
    session = ShellSession(container, user=user, channel=channel, lang=lang)
    scheduler = _start_scheduler(container)
    runner = await _serve_beside_shell(container)
    try:
        if await _until_stopped(session.run()):
            session.say("Bye.")
    finally:
        steps = [step for step in (runner and runner.cleanup, scheduler and scheduler.stop) if step]
        await _stop_within(container, *steps, container.close, deadline=SHELL_STOP_DEADLINE)


async def _serve_beside_shell(container: Any) -> Any:
    """The shell serves HTTP too (the customer's feedback page, /healthz), so the whole loop
    works locally; a busy port costs only the page, never the shell."""
    from teambot.server import serve

    try:
        runner = await serve(container)
    except OSError as exc:
        print(f"Feedback page not served: port {container.settings.port} is busy ({exc.strerror}); "
              "set PORT to another one.", file=sys.stderr)  # fmt: skip
        return None
    s = container.settings
    where = f"the outbox folder {s.outbox_dir}" if s.smtp_url is None else "SMTP"
    print(f"Feedback pages at {s.public_url}/feedback/...; follow-up mails go to {where}.", file=sys.stderr)
    return runner


def _start_scheduler(container: Any) -> Any:
    """In-process scheduler unless TEAMBOT_SCHEDULER=off (then run `teambot worker` apart)."""
    if not container.settings.scheduler_enabled:
        return None
    scheduler = container.scheduler
    scheduler.start()
    return scheduler


async def _until_stopped(work: Awaitable[None] | None = None) -> bool:
    """Wait for SIGTERM or SIGINT (a deploy, a scale-down, Ctrl-C), or for `work` to end (the
    shell's session, cancelled by the signal): the caller then shuts down cleanly. True when a
    signal stopped it."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    waiting = [asyncio.ensure_future(stop.wait())]
    if work is not None:
        waiting.append(asyncio.ensure_future(work))
    try:
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waiting:
            task.cancel()
        await asyncio.wait(waiting, timeout=1.0)  # a command cut mid-statement unwinds; the stop is bounded
    if work is not None and not stop.is_set():
        waiting[1].result()  # the session's own failure, if any, is raised here
        return False
    after_ctrl_c = "\n" if sys.stderr.isatty() else ""  # the terminal echoed ^C on the prompt's line
    print(f"{after_ctrl_c}Teambot: stopping (signal received).", file=sys.stderr)
    return True


STOP_DEADLINE = 9.0  # seconds from SIGTERM to exit: a deploy must not wait on Teambot longer than 10 s
SHELL_STOP_DEADLINE = 1.5  # the shell is left by a person waiting for their prompt back: within 2 s
_GUARDS: list[threading.Timer] = []  # armed by a stop, disarmed by `main` once asyncio.run returned


def _hard_exit() -> None:
    import os

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


async def _stop_within(
    container: Any, *steps: Callable[[], Awaitable[Any]], deadline: float = STOP_DEADLINE
) -> None:
    """Run the clean stop steps in order within `deadline`. Past it, what is still held is handed
    back (the next process takes it at once) and the process ends; a thread guards the end (event
    loop teardown included, until `main` returns) in case the event loop itself is stuck."""
    guard = threading.Timer(deadline + min(0.7, deadline / 4), _hard_exit)
    guard.daemon = True
    guard.start()
    _GUARDS.append(guard)
    tail = min(1.5, deadline / 3)  # kept for handing back and closing when the clean steps overran

    async def clean() -> None:
        for step in steps:
            await step()

    try:
        await asyncio.wait_for(clean(), deadline - tail)
    except Exception as exc:  # TimeoutError included
        reason = "took too long" if isinstance(exc, TimeoutError) else f"failed ({type(exc).__name__})"
        print(f"Teambot: clean stop {reason}; handing held work back and exiting.", file=sys.stderr)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(container.intake.release_all(), tail * 2 / 3)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(container.close(), tail / 3)


async def _worker(settings: Settings) -> None:
    from teambot.bootstrap import build

    container = await build(settings)
    # Mounting the platforms registers their notifiers (nothing is served): without them every
    # nudge went to the null notifier and was marked sent.
    from teambot.server import create_app

    create_app(container)
    scheduler = container.scheduler
    scheduler.start()
    # Runs what web processes deferred (TEAMBOT_WORK=worker) and takes over requests and cards a
    # dead or stopped web process left.
    container.intake.run_as_worker(slots=container.settings.worker_slots)
    container.intake.start()
    from teambot.web.ops import start_worker_ops

    stop_ops = await start_worker_ops(container)  # heartbeat (doctor, /metrics) and METRICS_PORT
    print(f"Teambot worker {scheduler.deadlines.worker_id}: running deferred and left requests, nudges and digests.",
          file=sys.stderr)  # fmt: skip
    try:
        await _until_stopped()
    finally:
        await _stop_within(container, scheduler.stop, lambda: container.intake.stop(grace=5.0), stop_ops,
                           container.close)  # fmt: skip


async def _digest(settings: Settings, team: str, week: str | None, as_json: bool) -> str:
    import json

    from teambot.bootstrap import build
    from teambot.core.insights import digest as digests

    container = await build(settings)
    try:
        now = container.clock.now()
        async with container.db.session() as s:
            from teambot.core.policy.models import Policy

            policy = await s.get(Policy, team)
        tz = policy.digest_timezone if policy else "UTC"
        monday = digests.parse_week(week) if week else digests.current_monday(now, tz)
        this_week = digests.current_monday(now, tz)
        result = await digests.compute(container.db, team, monday, now, preview=monday >= this_week)
        return json.dumps(result.as_data(), indent=2, default=str) if as_json else digests.digest_text(result)
    finally:
        await container.close()


async def _serve(settings: Settings) -> None:
    from teambot.bootstrap import build
    from teambot.server import serve

    container = await build(settings)
    runner = await serve(container)
    scheduler = _start_scheduler(container)
    try:
        await _until_stopped()
    finally:
        steps = [scheduler.stop] if scheduler is not None else []
        await _stop_within(container, *steps, runner.cleanup, container.close)


def _jira_token() -> str:
    """JIRA_API_TOKEN, else standard input (piped, or typed without echo)."""
    import getpass
    import os

    token = os.environ.get("JIRA_API_TOKEN", "").strip()
    if token:
        return token
    if sys.stdin.isatty():
        return getpass.getpass("Jira API token (not shown): ").strip()
    return sys.stdin.readline().strip()


async def _jira_link(settings: Settings, args: argparse.Namespace, token: str) -> str:
    from teambot.bootstrap import build
    from teambot.core.jira.ports import JiraError

    container = await build(settings)
    try:
        try:
            link, secret = await container.jira.link(args.team, args.site, args.project, args.email, token)
        except JiraError as err:
            raise ConfigError(f"Jira did not accept the link: {err}") from None
        hook = f"{settings.public_url}/jira/webhook/{args.team}"
        return (
            f"Linked team {args.team} to {link.site}, project {link.project}.\n"
            f"In Jira (Settings → System → WebHooks), add a webhook for 'Issue updated' to {hook}\n"
            f"with this secret (shown once): {secret}\n"
            "Without it, Teambot still sees issues done within 15 minutes (it polls)."
        )
    finally:
        await container.close()


async def _export(settings: Settings, team: str | None) -> tuple[int, str]:
    from teambot.bootstrap import build
    from teambot.core.insights.export import export_csv

    container = await build(settings)
    try:
        buffer = io.StringIO()
        count = await export_csv(container.db, buffer, team)
        return count, buffer.getvalue()
    finally:
        await container.close()


class _Refused(Exception):
    """A command cannot go on: its message is printed on stderr and the exit status is 2."""


def _db(settings: Settings, args: argparse.Namespace) -> None:
    from teambot.core.migrate import upgrade

    upgrade(settings.database_url)
    print("Database is at the latest schema.")


def _run(settings: Settings, args: argparse.Namespace) -> None:
    if settings.slack_configured or settings.teams_configured:
        asyncio.run(_serve(settings))
        return
    print("No Slack or Teams credentials set: starting the local shell.", file=sys.stderr)
    asyncio.run(_shell(settings))


def _teams_package(settings: Settings, args: argparse.Namespace) -> None:
    from teambot.teams.package import PackageError, build_package

    try:
        out = build_package(
            Path(args.output), args.app_id or settings.microsoft_app_id or "", version=args.version
        )
    except PackageError as err:
        raise _Refused(f"Cannot build the Teams package: {err}") from err
    print(f"Wrote {out}: upload it in Teams (Apps > Manage your apps > Upload an app).")


def _jira(settings: Settings, args: argparse.Namespace) -> None:
    token = _jira_token()
    if not token:
        raise _Refused("No Jira API token: pipe it on standard input or set JIRA_API_TOKEN.")
    print(asyncio.run(_jira_link(settings, args, token)))


def _export_command(settings: Settings, args: argparse.Namespace) -> None:
    count, text = asyncio.run(_export(settings, args.team))
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    print(f"Exported {count} cases.", file=sys.stderr)


# What each subcommand runs, once settings have loaded (`doctor` runs before: it reports bad settings).
_COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], None]] = {
    "db": _db,
    "shell": lambda settings, args: asyncio.run(_shell(settings, args.user, args.channel, args.lang)),
    "serve": lambda settings, args: asyncio.run(_serve(settings)),
    "run": _run,
    "teams-package": _teams_package,
    "jira": _jira,
    "worker": lambda settings, args: asyncio.run(_worker(settings)),
    "digest": lambda settings, args: print(asyncio.run(_digest(settings, args.team, args.week, args.json))),
    "export": _export_command,
}


def _doctor() -> int:
    from teambot.ops.doctor import main as doctor

    status, report = doctor()
    print(report)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "doctor":  # reports settings that do not load as its own FAIL lines
        return _doctor()
    try:
        settings = load_settings()
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    # The shell is a chat in the terminal: Teambot's INFO lines would interleave with it (LOG_LEVEL still wins).
    platforms = settings.slack_configured or settings.teams_configured
    shell = args.command == "shell" or (args.command == "run" and not platforms)
    configure(
        settings.log_level if not shell or "log_level" in settings.model_fields_set else "WARNING",
        settings.log_format,
    )
    try:
        _COMMANDS[args.command](settings, args)
    except (ConfigError, DomainError, _Refused) as err:
        print(err, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        for guard in _GUARDS:  # the process ended in time: an in-process caller (a test) lives on
            guard.cancel()
        _GUARDS.clear()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
