"""Prints psample group 7's samples for ten seconds, receiving in asyncio's event loop.

    sudo PSAMPLE_LIBRARY=target/debug/libpsample.so python3 bindings/python/examples/asyncio_stream.py

(with something sampling into group 7, e.g. `tc filter add dev lo egress matchall action sample
rate 1 group 7`). bindings/python/tests/test_typing.py checks this file with `mypy --strict`.
"""

import asyncio

import psample


async def print_samples(sub: psample.AsyncSubscription) -> None:
    async for pkt in sub.stream():
        cookie = pkt.ovs_cookie()
        where = f" ovs domain {cookie.domain} point {cookie.point}" if cookie else ""
        print(f"group {pkt.group} seq {pkt.group_seq} oif {pkt.oifindex} {len(pkt.data)} bytes"
              f" 1-in-{pkt.effective_rate}{where}")


async def main() -> None:
    async with psample.subscribe_async(groups=[7]) as sub:
        try:
            await asyncio.wait_for(print_samples(sub), timeout=10)
        except asyncio.TimeoutError:  # cancelled the receive: the subscription is still usable
            print(sub.stats())


if __name__ == "__main__":
    asyncio.run(main())
