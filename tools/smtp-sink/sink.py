"""A local SMTP sink for tests: accepts every message and writes it to a directory.

Each accepted message becomes one file <dir>/<epoch-ns>-<n>.eml holding the raw message, preceded
by two header lines the sink adds: `X-Sink-Mail-From:` and `X-Sink-Rcpt-To:` (the envelope). Tests
read the directory; nothing is ever relayed.

    python sink.py --host 127.0.0.1 --port 2525 --dir /tmp/mails
"""

import argparse
import asyncio
import itertools
import os
import signal
import time

from aiosmtpd.controller import Controller


class DirectoryHandler:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count()

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time_ns()}-{next(self.counter)}.eml"
        tmp = os.path.join(self.directory, "." + name)
        with open(tmp, "wb") as f:
            f.write(f"X-Sink-Mail-From: {envelope.mail_from}\r\n".encode())
            f.write(f"X-Sink-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n".encode())
            f.write(envelope.original_content or envelope.content)
        # Rename when complete, so a reader never sees half a message.
        os.replace(tmp, os.path.join(self.directory, name))
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    controller = Controller(DirectoryHandler(args.dir), hostname=args.host, port=args.port)
    controller.start()
    print(f"smtp sink on {args.host}:{args.port} writing to {args.dir}", flush=True)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        loop.run_until_complete(stop.wait())
    finally:
        controller.stop()
        loop.close()


if __name__ == "__main__":
    main()
