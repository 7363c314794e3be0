"""JT/T 808 (道路运输车辆卫星定位系统终端通讯协议) device gateway: vehicle terminals over TCP.

    protocol.py   bytes ⇄ messages, pure Python (no Django): framing, escaping, check code,
                  2013/2019 headers, BCD, body codecs, a stream reader, sub-package reassembly
    registry.py   terminal number → Device, authentication codes (hashed), the ingest call
    server.py     the asyncio TCP server: sessions, replies, batching into ping_batch_ingest

See docs/JT808.md.
"""
