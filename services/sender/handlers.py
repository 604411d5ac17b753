"""The sender's job flow, the same for every channel, one micro-batch at a time: claim the
batch in one query, deliver each message, publish the batch's outcomes as one confirmed
event, then ack every job."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aio_pika.abc import AbstractExchange, AbstractIncomingMessage, AbstractRobustChannel
from pydantic import ValidationError

from services.sender import domain
from services.sender.batching import Batcher
from services.sender.drivers import BatchingDriver, Delivery, Driver, Job
from shared import amqp, ledger, topology
from shared.db import Pool
from shared.process_logging import mask_email, mask_phone
from shared.schemas import MAX_OUTCOMES_PER_EVENT, DeliveryJob, Outcome, Outcomes, SmsJob
from shared.sms_answer import classify_exception
from shared.verdicts import Classification

log = logging.getLogger(__name__)

TEST_LANES = (topology.SMS_TEST, topology.EMAIL_TEST)
# Batches of one lane handled at once: one being delivered while the next is claimed.
BATCHES_IN_FLIGHT = 2
# Events stay well under the logger's limit and RabbitMQ's message size, whatever the batch.
OUTCOMES_PER_EVENT = min(1_000, MAX_OUTCOMES_PER_EVENT)

Item = tuple[Job, AbstractIncomingMessage]


@dataclass(slots=True)
class _Decided:
    """What a batch has decided for its jobs: outcomes to publish, jobs to park."""

    outcomes: list[Outcome] = field(default_factory=list)
    retries: list[tuple[Job, int]] = field(default_factory=list)
    releases: list[ledger.Release] = field(default_factory=list)  # claims of the retries


class Sender:
    """Handles jobs of every lane with the driver of the lane's channel."""

    def __init__(
        self,
        pool: Pool,
        amqp_channel: AbstractRobustChannel,
        exchange: AbstractExchange,
        drivers: dict[str, Driver],
        *,
        lease_clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.pool = pool
        self.amqp_channel = amqp_channel
        self.exchange = exchange
        self.drivers = drivers
        # Claims' leases run on the database's clock unless a test hands in its own.
        self.lease_clock = lease_clock
        self._batchers: dict[topology.JobLane, Batcher[Item]] = {}

    def _lease_now(self) -> datetime | None:
        return self.lease_clock() if self.lease_clock is not None else None

    def __repr__(self) -> str:
        lanes = ", ".join(f"{lane.queue}: {b!r}" for lane, b in self._batchers.items())
        return f"<Sender drivers={sorted(self.drivers)} lanes={{{lanes}}}>"

    async def on_job(self, lane: topology.JobLane, message: AbstractIncomingMessage) -> None:
        """Handle one delivery; it is acked only once its outcome or retry is confirmed."""
        model = SmsJob if lane.channel == "sms" else DeliveryJob
        try:
            job: Job = model.model_validate_json(message.body)
        except ValidationError as exc:
            kind = "SMS" if model is SmsJob else "delivery"
            await amqp.dead_letter(
                self.amqp_channel, message, f"invalid {kind} job ({lane.queue}): {exc}"
            )
            return
        if not await self._batcher(lane).submit((job, message)):
            # The process is stopping: the job goes back to the queue, untouched.
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)

    def _batcher(self, lane: topology.JobLane) -> Batcher[Item]:
        batcher = self._batchers.get(lane)
        if batcher is None:
            driver = self.drivers[lane.channel]
            # A batch claims at most what the driver sends at once (its connections, or one
            # send_batch), so a cancel or pause catches everything still in the queue.
            batcher = Batcher(
                lambda items: self._handle_batch(lane, items),
                max_size=lambda: driver.batch_limit,
                concurrency=BATCHES_IN_FLIGHT,
            )
            self._batchers[lane] = batcher
        return batcher

    async def close(self, seconds: float) -> None:
        """Start no more batches, hand back the jobs waiting for one, and wait up to
        ``seconds`` for the running batches."""
        await asyncio.gather(*(b.close(seconds) for b in self._batchers.values()))

    async def _handle_batch(self, lane: topology.JobLane, items: list[Item]) -> None:
        decided = _Decided()
        try:
            # Claims, then calls: it raises only before any call (the claim's database
            # trouble); each call's own failures become retries or outcomes.
            await self._decide(lane, [job for job, _ in items], decided)
            # Released before their retries are published, so a retry finds its row new.
            await self._release(decided)
        except Exception as exc:
            # Park each job in the first retry tier as a new message, so an outage does not
            # count towards the delivery limit meant for poison.
            log.warning("a batch of %d jobs failed (%s); retrying later", len(items), exc)
            await self._park(lane, items)
            return
        try:
            await self._publish(lane, decided)
        except Exception as exc:
            # The gateway has these messages but the logger may never hear of them: record
            # the outcomes here, so that no copy of these jobs is sent again.
            log.warning(
                "outcome event not confirmed (%s); writing %d outcomes directly",
                exc,
                len(decided.outcomes),
            )
            if not await self._record_directly(decided):
                await self._hand_back(items)
                return
            retrying = {job.message_id for job, _ in decided.retries}
            await self._park(lane, [(job, m) for job, m in items if job.message_id in retrying])
            items = [(job, m) for job, m in items if job.message_id not in retrying]
        for _, message in items:
            with contextlib.suppress(Exception):  # a lost channel redelivers; the claim dedupes
                await message.ack()

    async def _release(self, decided: _Decided) -> None:
        if not decided.releases:
            return
        try:
            await ledger.release_many(self.pool, decided.releases)
        except Exception as exc:
            # The database is away: the claims' leases run out by themselves.
            log.warning("cannot hand back %d claims (%s)", len(decided.releases), exc)

    async def _record_directly(self, decided: _Decided) -> bool:
        try:
            if decided.outcomes:
                await ledger.apply_outcomes(self.pool, decided.outcomes)
        except Exception as exc:
            # Neither broker nor database: the claims' leases hold the rows until they lapse.
            log.warning("cannot record %d outcomes either (%s)", len(decided.outcomes), exc)
            return False
        return True

    async def _decide(self, lane: topology.JobLane, jobs: list[Job], decided: _Decided) -> None:
        now = datetime.now(UTC)
        driver = self.drivers[lane.channel]
        live: list[Job] = []
        for job in jobs:
            if job.expires_at <= now:
                decided.outcomes.append(_outcome(job, "expired", error="not sent before expiry"))
            elif not driver.usable():
                # Sending was switched off after this job was delivered: wait in a retry tier.
                decided.retries.append((job, topology.RETRY_DELAYS_S[0]))
            else:
                live.append(job)
        if not live:
            return
        claims = await ledger.claim_many(
            self.pool, [job.message_id for job in live], driver.lease, now=self._lease_now()
        )
        claimed: dict[int, tuple[Job, ledger.Claim]] = {}
        for job in live:
            claim = claims[job.message_id]
            if claim.result == "claimed":
                # A duplicate job in the same batch is dropped: its row was claimed once.
                claimed.setdefault(job.message_id, (job, claim))
            elif claim.result == "busy":
                decided.retries.append((job, topology.RETRY_DELAYS_S[0]))
            # final, missing or held: already done (a redelivery, a duplicate job), or its
            # campaign is paused (the resume republishes it): no call.
        sends = []
        batching = _batching(driver)
        if batching is not None and lane not in TEST_LANES:
            # Only first attempts: a message is in one batch at most (see shared.sms_batch).
            first = {i: pair for i, pair in claimed.items() if pair[1].attempts == 1}
            if len(first) > 1:
                sends.append(self._send_batch(list(first.values()), batching, now, decided))
                claimed = {i: pair for i, pair in claimed.items() if i not in first}
        sends += [
            self._send(lane, job, claim, driver, now, decided) for job, claim in claimed.values()
        ]
        await asyncio.gather(*sends)

    async def _send(
        self,
        lane: topology.JobLane,
        job: Job,
        claim: ledger.Claim,
        driver: Driver,
        now: datetime,
        decided: _Decided,
    ) -> None:
        if lane in TEST_LANES:
            # A test send never queues behind the mass jobs this process holds.
            delivery = await self._attempt(driver, job)
        else:
            async with driver.capacity:
                if not await self._still_ours(job, claim, driver):
                    return
                delivery = await self._attempt(driver, job)
        await self._conclude(job, claim, driver, delivery, now, decided)

    async def _still_ours(self, job: Job, claim: ledger.Claim, driver: Driver) -> bool:
        if _batching(driver) is None:
            return True
        # With batches on, up to batch_size claims may have waited for a few connections:
        # renew the claim right before the call, or leave the message to whoever took it
        # over once the lease lapsed.
        try:
            return await ledger.renew(
                self.pool, job.message_id, claim.attempts, driver.lease, now=self._lease_now()
            )
        except Exception as exc:
            log.warning("message %s: cannot renew its claim (%s); sent anyway", job.message_id, exc)
            return True

    async def _send_batch(
        self,
        jobs: list[tuple[Job, ledger.Claim]],
        driver: BatchingDriver,
        now: datetime,
        decided: _Decided,
    ) -> None:
        try:
            deliveries = await driver.deliver_batch([job for job, _ in jobs])
        except Exception as exc:
            # A bug, not an answer: each message is retried on its own, like a refused batch.
            verdict = Classification("retry", f"batch failed: {exc}", None, None)
            deliveries = [Delivery(verdict) for _ in jobs]
        for (job, claim), delivery in zip(jobs, deliveries, strict=True):
            verdict = domain.for_batch_member(delivery.verdict)
            delivery = Delivery(verdict, delivery.request, delivery.answer)
            await self._conclude(job, claim, driver, delivery, now, decided)

    async def _conclude(
        self,
        job: Job,
        claim: ledger.Claim,
        driver: Driver,
        delivery: Delivery,
        now: datetime,
        decided: _Decided,
    ) -> None:
        try:
            verdict = delivery.verdict
            action = domain.decide(
                verdict, attempt=claim.attempts, now=now, expires_at=job.expires_at
            )
            reason = driver.redact(action.reason) if action.reason else None
            if action.kind == "retry":
                delay = action.delay_s
                if verdict.verdict == "gateway_paused":
                    if driver.usable():  # once, not once per message of a batch
                        await driver.paused_by(delivery, now)
                    delay = topology.RETRY_DELAYS_S[0]  # the pause, not the tier, holds it back
                release = ledger.Release(
                    job.message_id, claim.attempts, reason or "", delivery.answer
                )
                decided.releases.append(release)
                decided.retries.append((job.model_copy(update={"attempt": claim.attempts}), delay))
                return
        except Exception as exc:
            # Pausing the gateway failed (the database is away): the claim's lease runs out
            # by itself.
            log.warning("message %s: handling failed (%s); retrying later", job.message_id, exc)
            decided.retries.append((job, topology.RETRY_DELAYS_S[0]))
            return
        decided.outcomes.append(
            _outcome(
                job,
                action.kind,
                error=reason,
                request=delivery.request,
                answer=delivery.answer,
                batch_id=verdict.batch_id,
                attempt=claim.attempts,
            )
        )
        if action.kind != "sent":
            masked = mask_phone(job.to) if isinstance(job, SmsJob) else mask_email(job.to)
            log.info("message %s to %s: %s", job.message_id, masked, reason)

    async def _attempt(self, driver: Driver, job: Job) -> Delivery:
        try:
            return await driver.deliver(job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            verdict = (
                domain.classify_smtp(exc) if driver.channel == "email" else classify_exception(exc)
            )
            return Delivery(verdict)

    async def _publish(self, lane: topology.JobLane, decided: _Decided) -> None:
        # Confirmed publishes (each awaits the broker's ack) before any job is acked.
        publishes = [self._retry(lane, job, delay) for job, delay in decided.retries]
        outcomes = decided.outcomes
        for start in range(0, len(outcomes), OUTCOMES_PER_EVENT):
            event = Outcomes(outcomes=outcomes[start : start + OUTCOMES_PER_EVENT])
            publishes.append(amqp.publish(self.exchange, topology.RK_OUTCOME, event))
        await asyncio.gather(*publishes)

    async def _retry(self, lane: topology.JobLane, job: Job, delay_s: int) -> None:
        await self.exchange.publish(
            amqp.json_message(job), routing_key=lane.retry_routing_key(delay_s), mandatory=True
        )

    async def _park(self, lane: topology.JobLane, items: list[Item]) -> None:
        """Each job to the first retry tier; those that even that fails for go back."""
        failed: list[Item] = []
        for job, message in items:
            try:
                await self._retry(lane, job, topology.RETRY_DELAYS_S[0])
            except Exception:
                failed.append((job, message))
                continue
            with contextlib.suppress(Exception):
                await message.ack()
        if failed:
            await asyncio.sleep(1)  # once: an outage should not spin through redeliveries
            await self._hand_back(failed)

    async def _hand_back(self, items: list[Item]) -> None:
        for _, message in items:
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)


def _batching(driver: Driver) -> BatchingDriver | None:
    """The driver, when it sends BulkSMS batches now (settings change while running)."""
    return driver if isinstance(driver, BatchingDriver) and driver.batch_size > 1 else None


def _outcome(
    job: Job,
    status: domain.ActionKind,
    *,
    error: str | None = None,
    request: str | None = None,
    answer: str | None = None,
    batch_id: str | None = None,
    attempt: int = 0,
) -> Outcome:
    assert status != "retry"
    return Outcome(
        message_id=job.message_id,
        campaign_id=job.campaign_id,
        channel=job.channel if isinstance(job, DeliveryJob) else "sms",
        status=status,
        error=error,
        gateway_request=request,
        gateway_answer=answer,
        batch_id=batch_id,
        attempt=attempt,
        at=datetime.now(UTC),
    )
