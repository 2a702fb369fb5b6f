"""The nemesis workload: clients that read, write blindly, read-modify-write
with contexts (which makes siblings when they race) and delete, on a small key
space, each recording every operation it invokes and how it completed."""

import base64
import http.client as httplib
import json
import random
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse


def http(url, method, path, body=None, headers=None, timeout=3.0):
    """(status, headers, body) of one request on a fresh connection."""
    parsed = urlparse(url)
    connection = httplib.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@dataclass
class Op:
    store: str
    client: int
    node: str
    kind: str  # get, put (blind), rmw (put with a read's context), delete (with one)
    key: str
    start: float
    end: float = 0.0
    ok: bool = False        # answered with success
    answered: bool = False  # answered at all (a status from the node)
    # A write refused before anything was stored: a 4xx, or the strict
    # store's "the write was not stored". Other failures (timeouts, w not
    # reached: "it may or may not be stored") may have taken effect.
    refused: bool = False
    detail: str = ""
    value: str = ""         # what a put wrote
    seen: tuple = ()        # the values of the read whose context a write carried
    read: tuple = ()        # what a get returned (values; a deleted key reads as none)


@dataclass
class History:
    ops: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, op):
        with self.lock:
            self.ops.append(op)


def parse_read(status, headers, body):
    """(ok, values, context) of a GET answer."""
    context = headers.get("x-context", "")
    if status == 200:
        if headers.get("content-type", "").startswith("application/json"):
            document = json.loads(body)
            values = [base64.b64decode(s["value"]).decode() for s in document["siblings"]
                      if "value" in s]
            return True, tuple(sorted(values)), document.get("context", context)
        return True, (body.decode(),), context
    if status == 300:
        document = json.loads(body)
        values = [base64.b64decode(s["value"]).decode() for s in document["siblings"]
                  if "value" in s]
        return True, tuple(sorted(values)), document.get("context", context)
    if status == 404:
        return True, (), context
    return False, (), ""


class Client(threading.Thread):
    def __init__(self, number, history, url, node, stores, keys, seed, stop, prefix=""):
        super().__init__(daemon=True)
        self.prefix = prefix  # keeps values unique across rounds of clients
        self.number, self.history, self.url, self.node = number, history, url, node
        self.stores, self.keys, self.rng, self.stop = stores, keys, random.Random(seed), stop
        self.store = stores[0]
        self.sequence = 0

    def path(self, key):
        return f"/v1/stores/{self.store}/keys/{key}"

    def get(self, key):
        op = Op(self.store, self.number, self.node, "get", key, time.monotonic())
        context = None
        try:
            status, headers, body = http(self.url, "GET", self.path(key))
            op.answered = True
            op.ok, op.read, context = parse_read(status, headers, body)
            op.detail = str(status)
        except Exception as error:  # timeouts, refused connections
            op.detail = type(error).__name__
        op.end = time.monotonic()
        self.history.add(op)
        return op, context

    def write(self, kind, key, read=None, context=None):
        self.sequence += 1
        op = Op(self.store, self.number, self.node, kind, key, time.monotonic(),
                seen=read.read if read else ())
        headers = {"X-Context": context} if context else {}
        try:
            if kind == "delete":
                status, _, body = http(self.url, "DELETE", self.path(key), headers=headers)
            else:
                op.value = f"{self.prefix}c{self.number}-{self.sequence}"
                status, _, body = http(self.url, "PUT", self.path(key), op.value.encode(), headers)
            op.answered = True
            op.ok = status == 204
            op.refused = 400 <= status < 500 or b"the write was not stored" in body
            op.detail = str(status) if op.ok else f"{status} {body[:120]!r}"
        except Exception as error:
            op.detail = type(error).__name__
        op.end = time.monotonic()
        self.history.add(op)

    def run(self):
        while not self.stop.is_set():
            self.store = self.rng.choice(self.stores)
            key = f"k{self.rng.randrange(self.keys)}"
            choice = self.rng.random()
            if choice < 0.35:
                self.get(key)
            elif choice < 0.55:
                self.write("put", key)
            else:
                read, context = self.get(key)
                if read.ok:
                    self.write("rmw" if choice < 0.9 else "delete", key, read, context)
            time.sleep(self.rng.uniform(0.005, 0.03))


def start_clients(history, urls, stores, count, keys, seed, prefix=""):
    """Values written are "<prefix>c<client>-<sequence>": unique per prefix."""
    stop = threading.Event()
    rng = random.Random(seed)
    clients = [Client(number, history, urls[number % len(urls)], f"n{number % len(urls) + 1}",
                      stores, keys, rng.randrange(1 << 31), stop, prefix) for number in range(count)]
    for client in clients:
        client.start()
    return stop, clients


def stop_clients(started):
    """Stops the clients; false if one is still running (its history would go on growing)."""
    stop, clients = started
    stop.set()
    for client in clients:
        client.join(15)
    return not any(client.is_alive() for client in clients)
