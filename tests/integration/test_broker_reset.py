"""The shared vhost's reset between tests: it empties every queue, and refuses to hand a
test a queue that an earlier test still consumes."""

from __future__ import annotations

import pytest

from shared import amqp, topology
from shared.schemas import ResolveCampaign
from tests.conftest import Isolated
from tests.integration.conftest import Broker
from tests.integration.helpers import queue_count
from tests.support import broker as support

pytestmark = pytest.mark.timeout(30)


async def test_reset_empties_every_queue(isolated: Isolated, broker: Broker) -> None:
    # One message into every queue of the topology: work queues, retry tiers, dead letters.
    # (Not the 5 s tier: its message could move on to the work queue during the reset.)
    routes = {
        topology.RK_RESOLVE: topology.RESOLVE_QUEUE,
        topology.RK_OUTCOME: topology.OUTCOME_QUEUE,
    }
    for lane in topology.LANES:
        routes[lane.routing_key] = lane.queue
        for delay in topology.RETRY_DELAYS_S[1:]:
            routes[lane.retry_routing_key(delay)] = lane.retry_queue(delay)
    for key in routes:
        await amqp.publish(broker.exchange, key, ResolveCampaign(campaign_id=1))
    dlx = await broker.channel.get_exchange(topology.DEAD_LETTER_EXCHANGE)
    await dlx.publish(amqp.persistent_message(b"{}"), routing_key="x", mandatory=True)
    queues = [*routes.values(), topology.DEAD_LETTER_QUEUE]
    assert [await queue_count(broker.channel, name) for name in queues] == [1] * len(queues)

    await support.reset(isolated.amqp_url, declare=False)

    assert [await queue_count(broker.channel, name) for name in queues] == [0] * len(queues)


async def test_reset_fails_while_a_consumer_is_left(
    isolated: Isolated, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(support, "CONSUMERS_GONE_S", 0.2)
    queue = await topology.get_queue(broker.channel, topology.OUTCOME_QUEUE)

    async def ignore(message: object) -> None:
        return None

    tag = await queue.consume(ignore)
    try:
        with pytest.raises(AssertionError, match=r"no consumer left on herald\.outcomes"):
            await support.reset(isolated.amqp_url, declare=False)
    finally:
        await queue.cancel(tag)
