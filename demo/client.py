"""A small client of Herald's API and of the sandbox's control API."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp


class Api:
    """JSON over HTTP with the bearer token; every call returns (status, body)."""

    def __init__(self, base_url: str, token: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.session = aiohttp.ClientSession(headers=headers)

    async def request(
        self, method: str, path: str, json: Any = None, **kwargs: Any
    ) -> tuple[int, Any]:
        async with self.session.request(
            method, self.base_url + path, json=json, **kwargs
        ) as response:
            text = await response.text()
            try:
                body: Any = await response.json(content_type=None) if text else None
            except ValueError:
                body = text
            return response.status, body

    async def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        return await self.request("GET", path, **kwargs)

    async def put(self, path: str, json: Any = None, **kwargs: Any) -> tuple[int, Any]:
        return await self.request("PUT", path, json, **kwargs)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> tuple[int, Any]:
        return await self.request("POST", path, json, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        return await self.request("DELETE", path, **kwargs)

    async def wait_campaign(
        self,
        campaign_id: int,
        within: float = 60,
        final: tuple[str, ...] = ("sent", "sent_with_error", "cancelled"),
    ) -> dict[str, Any]:
        """Poll a campaign until it reaches a final status."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            status, campaign = await self.get(f"/campaigns/{campaign_id}")
            assert status == 200, campaign
            if campaign["status"] in final:
                return dict(campaign)
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"campaign {campaign_id} still {campaign['status']}: {campaign}")
            await asyncio.sleep(0.2)

    async def close(self) -> None:
        await self.session.close()


def sandbox_sms_config(sandbox_url: str, **overrides: Any) -> dict[str, Any]:
    """A BulkSMS EAPI gateway configuration pointing at the sandbox."""
    config = {
        "enabled": True,
        "url": f"{sandbox_url}/eapi/submission/send_sms/2/2.0",
        "method": "POST",
        "content_type": "form",
        "payload": (
            "username=herald&password=sandbox-secret&message=%MESSAGE%&msisdn=%TO_DIGITS%"
            "&concat_text_sms_max_parts=4&stop_dup_id=%ID%"
        ),
        "success_text": "0|IN_PROGRESS|",
        "max_connections": 32,
        "timeout_seconds": 10,
    }
    config.update(overrides)
    return config
