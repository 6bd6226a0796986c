"""Not a test: a program that uses every public call with its types, for `mypy --strict`
(tests/test_typing.py). Nothing here runs."""

import asyncio
from typing import List, Optional

import psample


def blocking(netns: int) -> List[int]:
    seqs: List[int] = []
    with psample.subscribe(groups=[7], nonblocking=True, rcvbuf=1 << 20, batch=8,
                           flags=psample.SubFlag.CONFIG_EVENTS | psample.SUB_ENOBUFS, netns_fd=netns) as sub:
        fd: int = sub.fileno()
        for pkt in sub:
            seqs.append(pkt.group_seq)
        batch: List[psample.Packet] = sub.recv()
        st: psample.Stats = sub.stats()
        pairs: List[psample.GroupStats] = sub.group_stats()
        sub.wakeup()
        seqs += [fd, len(batch), st.delivered] + [p.delivered + p.seq_lost for p in pairs]
    groups: List[psample.GroupInfo] = psample.list_groups()
    seqs += [g.refcount for g in groups]
    return seqs


async def with_asyncio() -> Optional[psample.OvsCookie]:
    async with psample.subscribe_async(groups=[7]) as sub:
        batch = await sub.recv()
        async for pkt in sub:
            tunnel: Optional[psample.Tunnel] = pkt.tunnel
            if tunnel is not None and pkt.kind == psample.Kind.SAMPLE:
                return pkt.ovs_cookie()
        task = asyncio.ensure_future(sub.recv())
        sub.wakeup()
        task.cancel()
        return batch[0].ovs_cookie()


def decoded(message: bytes) -> int:
    pkt = psample.decode(message)
    rate: int = pkt.effective_rate
    flags = psample.PacketFlag(pkt.flags)
    return rate + int(flags) + len(psample.version())
