"""The python-telegram-bot Application: services opened in post_init, handlers by role, sending through
the rate limiter and the outbox."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable
from datetime import datetime

from telegram import Update
from telegram._utils.types import ODVInput
from telegram.error import NetworkError
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.settings import Settings
from conversations.records.db import write

from . import (
    access,
    anchoring,
    coordinator,
    decisions,
    directory,
    keyboards,
    languages,
    menus,
    physician,
    registration,
    reminders,
)
from .inbox import DurableQueue
from .services import BotApplication, BotContext, Services

log = logging.getLogger(__name__)

DELIVERY_INTERVAL = 2.0  # seconds between outbox rounds (each reply also triggers one at once)
# Updates handled at once. One at a time, a coordinator's /export (a file upload) or a send waiting out a
# time-out would hold up every physician. Safe because a handler commits its step before it first waits:
# steps still apply in the order the updates arrived, and sends stay in order per chat (one sender).
CONCURRENT_UPDATES = 16


def build_application(settings: Settings, *, request: BaseRequest | None = None,
                      get_updates_request: BaseRequest | None = None,
                      rate_limiter: BaseRateLimiter | None = None,
                      clock: Callable[[], datetime] | None = None) -> BotApplication:
    """The application for ``settings``; ``request`` objects replace HTTP (tests record with them)."""
    assert settings.token is not None, "TELEGRAM_BOT_TOKEN is required"
    queue = DurableQueue(store_at_once=settings.use_webhook)  # the webhook answers 200 once put returns
    polling = StoringRequest(get_updates_request or HTTPXRequest(connection_pool_size=1))

    async def post_init(app: BotApplication) -> None:
        services: Services = app.bot_data
        services.open(settings, app.bot, clock)
        queue.inbox = services.inbox
        polling.before = services.settle
        await set_commands(app, settings, services)
        replayed = services.inbox.pending()
        for raw in replayed:  # stored before a crash, not processed: handled before anything new
            await app.update_queue.put(Update.de_json(raw, app.bot))
        if replayed:
            log.info("%d stored update(s) queued again after a restart", len(replayed))
        if app.job_queue is not None:
            app.job_queue.run_repeating(_deliver, interval=DELIVERY_INTERVAL, first=0.1, name="outbox")
            app.job_queue.run_repeating(anchoring.daily, interval=anchoring.INTERVAL, first=5.0, name="anchor")
            every = reminders.interval(settings)
            app.job_queue.run_repeating(reminders.job, interval=every, first=min(every, 5.0), name="reminders")

    async def post_shutdown(app: BotApplication) -> None:
        app.bot_data.close()

    builder = (
        ApplicationBuilder()
        .token(settings.token.get_secret_value())
        .base_url(settings.api_url)
        .context_types(ContextTypes(context=BotContext, bot_data=Services))
        .update_queue(queue)
        .concurrent_updates(CONCURRENT_UPDATES)
        .rate_limiter(rate_limiter or AIORateLimiter(max_retries=0))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if request is not None:
        builder = builder.request(request)
    builder = builder.get_updates_request(polling)
    app: BotApplication = builder.build()
    add_handlers(app, settings)
    return app


class StoringRequest(BaseRequest):
    """The getUpdates transport: before Telegram is told what arrived (each getUpdates confirms the
    updates before its offset), the updates taken in are settled (see inbox.py)."""

    def __init__(self, inner: BaseRequest) -> None:
        self.inner = inner
        self.before: Callable[[], Awaitable[None]] | None = None

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
                         write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
                         connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
                         pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        if self.before is not None and url.endswith("/getUpdates"):
            await self.before()
        return await self.inner.do_request(url, method, request_data, read_timeout, write_timeout,
                                           connect_timeout, pool_timeout)


def add_handlers(app: BotApplication, settings: Settings) -> None:
    coord = filters.User(user_id=settings.coordinator_ids)
    phys = ~coord
    app.add_handler(TypeHandler(Update, languages.set_for_update), group=-3)  # each update in its user's language
    app.add_handler(TypeHandler(Update, access.gate), group=-2)
    app.add_handler(TypeHandler(Update, access.withhold), group=-1)
    app.add_handlers([
        # everyone past the gate
        MessageHandler(filters.UpdateType.EDITED_MESSAGE, physician.edited),
        MessageHandler(filters.ATTACHMENT, physician.attachment),
        # coordinators
        CommandHandler(("start", "help"), coordinator.start, filters=coord),
        CommandHandler("invite", directory.invite, filters=coord),
        CommandHandler("invites", directory.invites, filters=coord),
        CommandHandler("physicians", directory.physicians, filters=coord),
        CommandHandler("revoke", coordinator.revoke, filters=coord),
        CommandHandler("referrals", coordinator.referrals, filters=coord),
        CommandHandler("export", coordinator.export, filters=coord),
        CommandHandler("report", coordinator.report, filters=coord),
        CommandHandler("reassess", coordinator.reassess_referrals, filters=coord),
        CommandHandler("language", languages.command),  # everyone past the gate
        CallbackQueryHandler(languages.press, pattern=rf"^{keyboards.LANGUAGE_PREFIX}:"),
        MessageHandler(coord & filters.TEXT & ~filters.COMMAND, decisions.note),
        MessageHandler(coord, coordinator.other),
        CallbackQueryHandler(decisions.ask, pattern=r"^d:"),
        CallbackQueryHandler(decisions.confirm, pattern=r"^dc:"),
        CallbackQueryHandler(decisions.undo, pattern=r"^du:"),
        CallbackQueryHandler(directory.press, pattern=r"^(pv|py|pn|ix|iv):"),
        CallbackQueryHandler(registration.press, pattern=r"^pf:"),
        CallbackQueryHandler(coordinator.view, pattern=r"^v:"),
        # physicians
        CommandHandler("start", physician.start, filters=phys),
        CommandHandler("help", physician.help_, filters=phys),
        CommandHandler("profile", registration.profile, filters=phys),
        CommandHandler("screen", physician.screen, filters=phys),
        CommandHandler("status", physician.status, filters=phys),
        CommandHandler("back", physician.back, filters=phys),
        CommandHandler("skip", physician.skip, filters=phys),
        CommandHandler("cancel", physician.cancel, filters=phys),
        CommandHandler("summary", physician.summary, filters=phys),
        CommandHandler("change", physician.change, filters=phys),
        CommandHandler("amend", physician.amend, filters=phys),
        MessageHandler(phys & filters.TEXT & ~filters.COMMAND, physician.answer),
        CallbackQueryHandler(reminders.press, pattern=rf"^{reminders.PREFIX}:"),
        CallbackQueryHandler(decisions.reopen, pattern=r"^ri:"),
        CallbackQueryHandler(physician.press),
        TypeHandler(Update, physician.unknown),
    ])
    app.add_error_handler(on_error)


async def set_commands(app: BotApplication, settings: Settings, services: Services) -> None:
    """The command menus, per role (menus.py): none for strangers, each physician's and coordinator's in
    their own chat. Best effort: a failure is logged, never fatal."""
    physicians = [uid for uid in services.registry.active_ids(settings.physician_ids)
                  if uid not in settings.coordinator_ids]
    await menus.set_all(app.bot, physicians, sorted(settings.coordinator_ids), services.languages.all())


async def _deliver(context: BotContext) -> None:
    await context.services.sender.deliver_due()


async def on_error(update: object, context: BotContext) -> None:
    """Log where it failed (never the update's content), mark the update done so that it is not replayed
    forever, and tell the user that their message was not applied."""
    exc = context.error
    if update is None and isinstance(exc, NetworkError):  # getUpdates failed (5xx, network): polling retries
        log.warning("getUpdates failed (%s: %s); polling retries with back-off", type(exc).__name__, exc)
        return
    frames = "".join(traceback.format_tb(exc.__traceback__)) if exc else ""
    uid = update.update_id if isinstance(update, Update) else None
    log.error("update %s failed: %s\n%s", uid, type(exc).__name__, frames)
    if not isinstance(update, Update) or not context.services.is_open:
        return
    s = context.services
    try:
        if s.inbox.is_processed(update.update_id):
            return
        with write(s.store.db) as db:
            s.inbox.mark_processed(db, update, result=f"error: {type(exc).__name__}")
            if update.effective_chat is not None:
                s.outbox.enqueue(f"u{update.update_id}.error", update.effective_chat.id,
                                 "Sorry, something went wrong and your last message was not applied. "
                                 "Please send it again, or use /status.")
        s.inbox.done(update.update_id)
        await s.sender.deliver_due()
    except Exception as inner:  # the error handler must not raise
        log.error("error handling for update %s failed too: %s", uid, type(inner).__name__)
