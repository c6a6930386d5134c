"""The coordinators' physician directory: invites with the validity chosen when made, the open invites
(cancellable), the physicians with their referral counts and a revoke button that asks first.

An invite's code is sent directly and never stored (only its hash is). A cancelled invite can no longer be
redeemed; cancelling is an ``invite_cancelled`` event, so records/rebuild.py proves the row. A revocation
by button is the same ``physician_revoked`` event as ``/revoke``, and removes the physician's command menu.
"""

from __future__ import annotations

import sqlite_utils
from telegram import Update

from bot.i18n import Plural, _, plural
from conversations.dialogue.events import E
from conversations.records.registry import INVITE_DAYS, INVITE_LIFETIME, MAX_INVITE_DAYS, Physician

from . import keyboards, render
from .menus import remove_menu
from .render import esc
from .services import BotContext
from .turn import Turn

INVITE_TEXT = Plural(
    "Invitation for one physician (single use, valid {days} day; forward it privately):\n{link}\n"
    "The buttons make another link with that validity; /invites lists the open ones.",
    "Invitation for one physician (single use, valid {days} days; forward it privately):\n{link}\n"
    "The buttons make another link with that validity; /invites lists the open ones.")
# A physician's line of /physicians, as they came: by the allow-list (SCREENING_PHYSICIAN_IDS) or an invite.
PHYSICIAN_ALLOW_LIST = Plural("• {who} · {institution} · {link} · {referrals} referral · allow-list",
                              "• {who} · {institution} · {link} · {referrals} referrals · allow-list")
PHYSICIAN_INVITED = Plural("• {who} · {institution} · {link} · {referrals} referral · invite <code>{invite_id}</code>",
                           "• {who} · {institution} · {link} · {referrals} referrals · invite <code>{invite_id}</code>")


async def _make_invite(update: Update, context: BotContext, turn: Turn, days: int) -> None:
    s = context.services
    created: list[tuple[str, str]] = []

    def create(db: sqlite_utils.Database) -> None:
        ts = s.registry.now()
        invite_id, code = s.registry.create_invite(turn.user_id, ts=ts, days=days)
        created.append((invite_id, code))
        row = s.registry.invite(invite_id)
        turn.event(E.INVITE_CREATED, {"invite_id": invite_id, "code_hash": row["code_hash"],
                                      "expires_at": row["expires_at"], "days": days}, ts=ts)

    turn.do(create)
    await turn.end()
    (invite_id, code), = created
    link = esc(f"https://t.me/{context.bot.username}?start={code}")
    text = plural(INVITE_TEXT, days)
    await s.sender.send_direct(turn.chat_id, text.format(days=days, link=link),
                               audit_text=text.format(days=days, link=f"[invite {invite_id}]"),
                               markup=keyboards.invite_days(INVITE_DAYS))


async def invite(update: Update, context: BotContext) -> None:
    """/invite: a single-use deep link valid 7 days; /invite N: valid N days (1 to MAX_INVITE_DAYS); the
    link's buttons make another one valid 1, 7 or 30 days."""
    turn = Turn(update, context)
    args = context.args or []
    if not args:
        days = INVITE_LIFETIME.days
    elif len(args) == 1 and args[0].isascii() and args[0].isdigit() and 1 <= int(args[0][:4]) <= MAX_INVITE_DAYS:
        days = int(args[0])
    else:
        turn.say(esc(_(render.INVITE_USAGE).format(most=MAX_INVITE_DAYS)))
        await turn.end()
        return
    await _make_invite(update, context, turn, days)


def _who(p: Physician | None, uid: int) -> str:
    return f"<b>{esc(p.name)}</b>" if p is not None and p.name else f"<code>{uid}</code>"


async def physicians(update: Update, context: BotContext) -> None:
    """/physicians: every active physician, their institution, a link to their account, their referrals."""
    s = context.services
    turn = Turn(update, context)
    rows = s.registry.physicians(s.settings.physician_ids)
    if not rows:
        turn.say(esc(_(render.PHYSICIANS_NONE)))
    else:
        lines = [_(render.PHYSICIANS_HEAD).format(n=len(rows))]
        for p in rows:
            line = PHYSICIAN_ALLOW_LIST if p.via == "allow_list" else PHYSICIAN_INVITED
            lines.append(plural(line, p.referrals).format(
                who=f"<b>{esc(p.name)}</b>" if p.name else esc(_(render.PHYSICIAN_UNNAMED)),
                institution=esc(p.institution or _(render.PROFILE_NONE)), link=render.user_link(p.user_id),
                referrals=p.referrals, invite_id=esc(p.invite_id or "")))
        turn.say("\n".join(lines), keyboards.physicians([p.user_id for p in rows]))
    await turn.end()


async def invites(update: Update, context: BotContext) -> None:
    """/invites: the invites that can still be redeemed, each with a button that cancels it."""
    s = context.services
    turn = Turn(update, context)
    rows = s.registry.open_invites()
    if not rows:
        turn.say(esc(_(render.INVITES_NONE)))
    else:
        lines = [_(render.INVITES_HEAD).format(n=len(rows))]
        lines += [_(render.INVITE_LINE).format(invite_id=esc(r["invite_id"]), created=render.when(r["created_at"]),
                                            by=r["created_by"], expires=render.when(r["expires_at"])) for r in rows]
        turn.say("\n".join(lines), keyboards.invites([r["invite_id"] for r in rows]))
    await turn.end()


async def press(update: Update, context: BotContext) -> None:
    """A coordinator's directory button: revoke (asks first, then confirmed or kept), cancel an invite, or
    a new invite of the validity pressed."""
    s = context.services
    turn = Turn(update, context)
    query = update.callback_query
    p = keyboards.directory_press(query.data)
    if context.role != "coordinator" or p is None or p[0] == "pf":
        turn.toast = _(render.NOT_FOR_YOU)
        await turn.end()
        return
    action, arg = p
    if action == "iv":
        days = int(arg[:4])
        if days not in INVITE_DAYS:
            turn.toast = _(render.NOT_FOR_YOU)
            await turn.end()
            return
        await _make_invite(update, context, turn, days)
        return
    if action == "ix":
        def cancel(db: sqlite_utils.Database) -> None:
            ts = s.registry.now()
            if s.registry.cancel_invite(arg, turn.user_id, ts=ts):
                turn.event(E.INVITE_CANCELLED, {"invite_id": arg}, ts=ts)
                turn.say(_(render.INVITE_CANCELLED).format(invite_id=esc(arg)))
            else:
                turn.say(_(render.INVITE_NOT_OPEN).format(invite_id=esc(arg)))

        turn.do(cancel)
        await turn.end()
        return
    uid = int(arg)
    entry = s.registry.physician(uid, s.settings.physician_ids)
    who = _who(entry, uid)
    if action == "pv":
        if entry is None and not s.registry.is_physician(uid, s.settings.physician_ids):
            turn.say(_(render.NOT_A_PHYSICIAN).format(uid=uid))
        else:
            turn.say(_(render.REVOKE_ASK).format(who=who, link=render.user_link(uid)), keyboards.revoke_confirm(uid))
        await turn.end()
        return
    if action == "pn":
        if query.message is not None:
            turn.edit(query.message.message_id, _(render.REVOKE_KEPT).format(who=who))
        await turn.end()
        return
    revoked: list[int] = []

    def remove(db: sqlite_utils.Database) -> None:
        ts, existed = s.registry.now(), s.registry.has_row(uid)
        if s.registry.revoke(uid, turn.user_id, s.settings.physician_ids, ts=ts):
            turn.event(E.PHYSICIAN_REVOKED, {"physician_id": uid, "existed": existed}, ts=ts)
            note = _(render.REVOKED_ALLOW_LIST) if uid in s.settings.physician_ids else ""
            text = _(render.REVOKED).format(who=who) + note
            revoked.append(uid)
        else:
            text = _(render.NOT_A_PHYSICIAN).format(uid=uid)
        if query.message is not None:
            turn.edit(query.message.message_id, text)
        else:
            turn.say(text)

    turn.do(remove)
    await turn.end()
    if revoked:
        await remove_menu(context.bot, uid)
