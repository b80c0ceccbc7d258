"""An aiosmtpd handler for the mail tests: each message's bytes exactly as received, as N.eml,
with its envelope beside it as N.json (docs/research/owner-alerts.md, section 2).

Run: PYTHONPATH=$NMC_AIOSMTPD_PATH:tests/smtp python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c rawdrop.RawDrop DIR
"""
import json
import os
import pathlib
import time
import uuid


class RawDrop:
    def __init__(self, d):
        self.dir = pathlib.Path(d)
        self.dir.mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_cli(cls, parser, *args):
        return cls(args[0]) if len(args) == 1 else parser.error("RawDrop DIR")

    async def handle_DATA(self, server, session, envelope):
        n = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
        (self.dir / f"{n}.json").write_text(json.dumps({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth": bool(session.authenticated),
        }))
        (self.dir / f"{n}.tmp").write_bytes(envelope.original_content)  # the bytes as received
        os.replace(self.dir / f"{n}.tmp", self.dir / f"{n}.eml")  # appears atomically, after the .json
        return "250 Message accepted for delivery"
