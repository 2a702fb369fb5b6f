#!/usr/bin/env python3
"""ringkv nemesis: five real `ringkv serve` processes, each in its own network
namespace on a bridge, under real faults (iptables partitions, SIGSTOP pauses,
kill -9 and restart), with clients recording a history that a checker then
judges from the history alone.

  tests/nemesis/nemesis.py --binary build/release/bin/ringkv            # short run
  tests/nemesis/nemesis.py --binary ... --minutes 60 --seed 7           # soak

Needs root (namespaces, iptables). Everything it creates (namespaces, the
bridge, veth pairs, processes, its temporary directory) is removed on exit,
including on Ctrl-C; a run that was killed outright is cleaned up by the next
one (same --net). Exit status: 0 no violation, 1 violations, 2 harness error,
77 namespaces cannot be created here (no CAP_NET_ADMIN).
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checker  # noqa: E402
import workload  # noqa: E402

NODES = 5
STORES = {"sloppy": "sloppy", "strict": "strict"}  # name: quorum mode
HTTP_PORT = 8080
PEER_PORT = 7000


def log(message):
    print(f"[nemesis {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Unsupported(RuntimeError):
    """This machine cannot host the nemesis (namespaces, mounts or iptables)."""


def run(*command, check=True):
    result = subprocess.run(command, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip() or result.stdout.strip()}")
    return result


class Network:
    """A bridge in the root namespace, one namespace per node joined to it by
    a veth pair; the harness's clients reach the nodes through the bridge's
    own address. Partitions are iptables rules inside the nodes' namespaces."""

    def __init__(self, prefix, subnet):
        self.prefix = prefix
        self.subnet = subnet  # e.g. "10.213.7"
        self.bridge = f"{prefix}br"

    def namespace(self, index):
        return f"{self.prefix}n{index}"

    def address(self, index):
        return f"{self.subnet}.{index + 1}"

    def cleanup(self):
        for index in range(NODES):
            # Whatever still runs in it (a node of a run killed outright).
            pids = run("ip", "netns", "pids", self.namespace(index), check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            run("ip", "netns", "del", self.namespace(index), check=False)
            run("ip", "link", "del", f"{self.prefix}h{index}", check=False)
        run("ip", "link", "del", self.bridge, check=False)

    def create(self):
        self.cleanup()
        run("ip", "link", "add", self.bridge, "type", "bridge")
        run("ip", "addr", "add", f"{self.subnet}.254/24", "dev", self.bridge)
        run("ip", "link", "set", self.bridge, "up")
        for index in range(NODES):
            namespace, host_end = self.namespace(index), f"{self.prefix}h{index}"
            run("ip", "netns", "add", namespace)
            run("ip", "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns",
                namespace)
            run("ip", "link", "set", host_end, "master", self.bridge)
            run("ip", "link", "set", host_end, "up")
            inside = ("ip", "netns", "exec", namespace)
            run(*inside, "ip", "addr", "add", f"{self.address(index)}/24", "dev", "eth0")
            run(*inside, "ip", "link", "set", "eth0", "up")
            run(*inside, "ip", "link", "set", "lo", "up")
        # Partitions need iptables inside the namespaces (nf_tables): a
        # kernel without it cannot run this nemesis.
        try:
            self.drop(0, 1)
            self.heal()
        except RuntimeError as error:
            raise Unsupported(f"iptables does not work in a namespace here ({error})") from error

    def heal(self):
        for index in range(NODES):
            run("ip", "netns", "exec", self.namespace(index), "iptables", "-F", check=False)

    def drop(self, receiver, sender):
        """receiver stops hearing sender (one way)."""
        run("ip", "netns", "exec", self.namespace(receiver), "iptables", "-A", "INPUT", "-s",
            self.address(sender), "-j", "DROP")

    def cut(self, side_a, side_b):
        for a in side_a:
            for b in side_b:
                if a != b:
                    self.drop(a, b)
                    self.drop(b, a)


class Node:
    def __init__(self, index, network, binary, root, faketime_lib, certs):
        self.index = index
        # Peers speak mutual TLS as in production (`ringkv cert`); the
        # certificates live outside the data directory, which faults wipe.
        self.certs = certs
        self.id = f"n{index + 1}"
        self.network = network
        self.binary = binary
        # The data directory is on a small filesystem of its own (a tmpfs
        # mount) that the disk-full fault fills up.
        self.mount = os.path.join(root, self.id)
        self.data_dir = os.path.join(self.mount, "data")
        self.filler = os.path.join(self.mount, "filler")
        self.log_path = os.path.join(root, f"{self.id}.log")
        self.clock_file = os.path.join(root, f"{self.id}.faketime")
        self.faketime_lib = faketime_lib
        self.process = None
        self.paused = False
        # Node 1 founds the cluster; every later start (the others' first,
        # anyone's restart) names the other members, as an operator would: a
        # node restarted on an empty directory without --join founds a second
        # cluster, which ringkv detects and refuses (it fences itself).
        self.join = [] if index == 0 else [f"{network.address(0)}:{PEER_PORT}"]
        self.url = f"http://{network.address(index)}:{HTTP_PORT}"
        with open(self.clock_file, "w") as clock:
            clock.write("+0\n")

    def mount_disk(self, megabytes):
        os.makedirs(self.mount, exist_ok=True)
        run("mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", self.mount)

    def unmount_disk(self):
        run("umount", "-l", self.mount, check=False)

    def fill_disk(self):
        """Takes every free byte of the node's filesystem."""
        stats = os.statvfs(self.mount)
        free = stats.f_bavail * stats.f_frsize
        with open(self.filler, "wb") as filler:
            try:
                os.posix_fallocate(filler.fileno(), 0, max(free, 1))
            except OSError:
                pass  # what could be taken was
        return free

    def free_disk(self):
        try:
            os.remove(self.filler)
        except FileNotFoundError:
            pass

    def wipe(self):
        """kill -9, then an empty data directory (a lost disk)."""
        self.kill()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def start(self):
        address = self.network.address(self.index)
        command = ["ip", "netns", "exec", self.network.namespace(self.index), self.binary, "serve",
                   "--node-id", self.id, "--data-dir", self.data_dir,
                   "--listen-http", f"{address}:{HTTP_PORT}",
                   "--listen-peer", f"{address}:{PEER_PORT}",
                   "--request-timeout-ms", "2000", "--min-free-disk-mib", "32",
                   "--peer-ca", os.path.join(self.certs, "ca.crt"),
                   "--peer-cert", os.path.join(self.certs, f"{self.id}.crt"),
                   "--peer-key", os.path.join(self.certs, f"{self.id}.key"),
                   # The workload speaks plain HTTP on the namespaces' addresses.
                   "--insecure"]
        if self.join:
            command += ["--join", ",".join(self.join)]
        environment = dict(os.environ)
        if self.faketime_lib:
            # The wall clock only: the node's monotonic clock runs true.
            environment.update(LD_PRELOAD=self.faketime_lib, FAKETIME_TIMESTAMP_FILE=self.clock_file,
                               FAKETIME_CACHE_DURATION="1", FAKETIME_DONT_FAKE_MONOTONIC="1",
                               FAKETIME_DISABLE_SHM="1")
        with open(self.log_path, "a") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                            env=environment, start_new_session=True)
        self.paused = False

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def kill(self):
        if self.process is None:
            return
        if self.alive():
            os.kill(self.process.pid, signal.SIGCONT)
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None
        self.paused = False

    def stop_gracefully(self, timeout=20):
        if not self.alive():
            return
        if self.paused:
            self.resume()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def pause(self):
        if self.alive() and not self.paused:
            os.kill(self.process.pid, signal.SIGSTOP)
            self.paused = True

    def resume(self):
        if self.alive() and self.paused:
            os.kill(self.process.pid, signal.SIGCONT)
        self.paused = False

    def step_clock(self, seconds):
        with open(self.clock_file, "w") as clock:
            clock.write(f"{seconds:+d}\n")


def clean_earlier_runs():
    """Unmounts the disks a run killed outright (kill -9 of the harness) left
    behind: those of any directory whose harness is no longer running. (Its
    nodes die with their namespaces: Network.cleanup.)"""
    with open("/proc/mounts") as mounts:
        points = [line.split()[1] for line in mounts if "/ringkv-nemesis-" in line.split()[1]]
    for point in points:
        root = os.path.dirname(point)
        try:
            with open(os.path.join(root, "harness.pid")) as pid_file:
                os.kill(int(pid_file.read()), 0)
            continue  # that harness is alive
        except (OSError, ValueError):
            run("umount", "-l", point, check=False)


def wait_until(predicate, seconds, step=0.25):
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def cluster_view(node):
    try:
        status, _, body = workload.http(node.url, "GET", "/v1/cluster", timeout=2)
        return json.loads(body) if status == 200 else None
    except Exception:
        return None


def balanced(node, ids):
    view = cluster_view(node)
    if not view or not view.get("balanced") or view.get("target_version"):
        return False
    members = {member.get("id"): member for member in view.get("members", [])}
    return all(members.get(i, {}).get("ring_partitions", 0) > 0 for i in ids)


class Faults:
    """Each fault: (name, start(), stop()). start() injects it, stop() heals it."""

    def __init__(self, network, nodes, rng):
        self.network, self.nodes, self.rng = network, nodes, rng

    def shuffled(self):
        order = list(range(NODES))
        self.rng.shuffle(order)
        return order

    def make(self, name):
        order = self.shuffled()
        net, nodes = self.network, self.nodes
        heal = net.heal
        if name == "partition-majority":
            return (lambda: net.cut(order[:2], order[2:])), heal, f"{ids(nodes, order[:2])} | rest"
        if name == "partition-isolated":
            return (lambda: net.cut(order[:1], order[1:])), heal, f"{ids(nodes, order[:1])} alone"
        if name == "partition-bridge":
            # Two halves that both reach one node in the middle.
            middle, left, right = order[0], order[1:3], order[3:]
            return (lambda: net.cut(left, right)), heal, (
                f"{ids(nodes, left)} | {ids(nodes, right)}, both see {nodes[middle].id}")
        if name == "partition-one-way":
            deaf, heard = order[0], order[1:3]
            return (lambda: [net.drop(deaf, other) for other in heard]), heal, (
                f"{nodes[deaf].id} stops hearing {ids(nodes, heard)}")
        if name == "pause-one" or name == "pause-two":
            paused = order[:1] if name == "pause-one" else order[:2]
            return ((lambda: [nodes[i].pause() for i in paused]),
                    (lambda: [nodes[i].resume() for i in paused]), ids(nodes, paused))
        if name == "kill-restart":
            killed = order[0]
            return (lambda: nodes[killed].kill()), (lambda: nodes[killed].start()), nodes[killed].id
        if name == "disk-full":
            full = order[0]
            return ((lambda: nodes[full].fill_disk()), (lambda: nodes[full].free_disk()),
                    f"{nodes[full].id}'s data filesystem")
        if name == "wipe-restart":
            wiped = order[0]
            return ((lambda: nodes[wiped].wipe()), (lambda: nodes[wiped].start()),
                    f"{nodes[wiped].id} restarted on an empty data directory")
        if name == "clock-forward" or name == "clock-backward":
            # A running node reads its wall clock once, at start (NodeClock),
            # so a step bites at a restart: the node restarts with its clock
            # stepped, and again with it back to true at the heal (a clock
            # behind what the last run recorded).
            stepped = order[0]
            seconds = self.rng.randint(5, 120) * (1 if name == "clock-forward" else -1)

            def restart_with_clock(offset):
                nodes[stepped].step_clock(offset)
                nodes[stepped].kill()
                nodes[stepped].start()

            return ((lambda: restart_with_clock(seconds)), (lambda: restart_with_clock(0)),
                    f"{nodes[stepped].id} restarted with its wall clock {seconds:+d}s")
        raise ValueError(name)


FAULTS = ["partition-majority", "partition-isolated", "partition-bridge", "partition-one-way",
          "pause-one", "pause-two", "kill-restart", "clock-forward", "clock-backward", "disk-full",
          "wipe-restart"]


def ids(nodes, indexes):
    return "{" + ",".join(nodes[i].id for i in indexes) + "}"


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default="build/release/bin/ringkv")
    parser.add_argument("--minutes", type=float, default=0,
                        help="a soak of random faults this long (0: the short run, every fault "
                             "once and two at random)")
    parser.add_argument("--seed", type=int, default=None, help="the random schedule's seed")
    parser.add_argument("--faults", default=",".join(FAULTS), help="comma-separated fault names")
    parser.add_argument("--round-minutes", type=float, default=5,
                        help="a soak checks everything after each round this long")
    parser.add_argument("--fault-seconds", type=float, default=12)
    parser.add_argument("--heal-seconds", type=float, default=6)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--keys", type=int, default=12)
    parser.add_argument("--disk-mib", type=int, default=256, help="each node's data filesystem")
    parser.add_argument("--net", type=int, default=213, help="second octet of 10.N.x.0/24")
    parser.add_argument("--keep", action="store_true", help="keep the run's directory")
    parser.add_argument("--history", help="write the history here (JSON, one operation a line)")
    args = parser.parse_args()

    if os.geteuid() != 0:
        print("nemesis: needs root (network namespaces, iptables, mounts); skipped",
              file=sys.stderr)
        return 77
    for tool in ("ip", "iptables"):
        if shutil.which(tool) is None:
            print(f"nemesis: '{tool}' is missing: run scripts/setup.sh", file=sys.stderr)
            return 2
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        print(f"nemesis: no ringkv binary at {binary}: build it first", file=sys.stderr)
        return 2
    faketime_lib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
    if not os.path.exists(faketime_lib):
        faketime_lib = None
    faults_selected = [name for name in args.faults.split(",") if name]
    for name in faults_selected:
        if name not in FAULTS:
            print(f"nemesis: unknown fault '{name}' (known: {', '.join(FAULTS)})", file=sys.stderr)
            return 2
    if not faketime_lib:
        missing = [n for n in faults_selected if n.startswith("clock")]
        if missing:
            print("nemesis: libfaketime is missing (scripts/setup.sh) for "
                  + ", ".join(missing), file=sys.stderr)
            return 2

    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    args.seed_used = seed
    rng = random.Random(seed)
    log(f"seed {seed} (rerun with --seed {seed})")

    network = Network(f"rkv{args.net}", f"10.{args.net}.{(seed % 200) + 1}")
    clean_earlier_runs()
    root = tempfile.mkdtemp(prefix="ringkv-nemesis-")
    with open(os.path.join(root, "harness.pid"), "w") as pid_file:
        pid_file.write(str(os.getpid()))
    certs = os.path.join(root, "certs")
    run(binary, "cert", "ca", "--dir", certs)
    for index in range(NODES):
        run(binary, "cert", "node", "--dir", certs, "--id", f"n{index + 1}",
            "--host", network.address(index))
    nodes = [Node(index, network, binary, root, faketime_lib, certs) for index in range(NODES)]
    stopping = threading.Event()

    def interrupted(signum, _frame):
        stopping.set()
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    try:
        try:
            network.create()
            for node in nodes:
                node.mount_disk(args.disk_mib)
        except RuntimeError as error:
            if isinstance(error, Unsupported) or any(
                    text in str(error) for text in ("not permitted", "ermission denied")):
                print(f"nemesis: cannot create namespaces or mounts here ({error}); skipped",
                      file=sys.stderr)
                return 77
            raise
        return run_nemesis(args, rng, network, nodes, root, faults_selected)
    except KeyboardInterrupt:
        log("interrupted: cleaning up")
        return 2
    except Exception as error:  # a harness failure, not a finding: say so, clean up
        log(f"harness error: {type(error).__name__}: {error}")
        return 2
    finally:
        # A second Ctrl-C must not cut the cleanup short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for node in nodes:
            node.kill()
            node.unmount_disk()
        network.cleanup()
        if args.keep:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def run_nemesis(args, rng, network, nodes, root, faults_selected):
    log(f"5 nodes on {network.subnet}.0/24, data and logs in {root}")
    for node in nodes:
        node.start()
        if not wait_until(lambda: cluster_view(node) is not None, 30):
            log(f"{node.id} did not answer within 30 s; see {node.log_path}")
            return 2
    if not wait_until(lambda: balanced(nodes[0], [n.id for n in nodes]), 90):
        log(f"the nodes did not settle on one layout within 90 s; see {nodes[0].log_path}")
        return 2
    for node in nodes:
        node.join = [f"{network.address(other.index)}:{PEER_PORT}" for other in nodes
                     if other is not node]
    for store, quorum in STORES.items():
        status, _, body = workload.http(
            nodes[0].url, "PUT", f"/v1/stores/{store}",
            json.dumps({"n": 3, "r": 2, "w": 2, "quorum": quorum}).encode())
        if status not in (200, 201):
            log(f"cannot create the store '{store}': {status} {body[:200]!r}")
            return 2
    log("cluster up; stores 'sloppy' and 'strict', n=3 r=2 w=2; starting the workload")

    history = workload.History()
    faults = Faults(network, nodes, rng)
    # The short run: every fault once and two at random. A soak (--minutes):
    # random faults, in rounds of about --round-minutes; each round ends with
    # the clients stopped, a convergence wait and the checks.
    per_fault = args.fault_seconds + args.heal_seconds
    rounds = []
    if args.minutes <= 0:
        rounds.append(list(faults_selected) + [rng.choice(faults_selected) for _ in range(2)])
    else:
        total = max(1, int(args.minutes * 60 / per_fault))
        per_round = max(1, int(args.round_minutes * 60 / per_fault))
        while total > 0:
            rounds.append([rng.choice(faults_selected) for _ in range(min(per_round, total))])
            total -= per_round
    all_windows, worst, violations = [], 0.0, 0
    for number, schedule in enumerate(rounds, 1):
        windows, report = run_round(args, rng, network, nodes, faults, history, schedule,
                                    f"round {number}/{len(rounds)}", prefix=f"r{number}")
        all_windows += windows
        worst = max(worst, report.convergence)
        violations = max(violations, report.violations)
    if len(rounds) > 1:
        summary = checker.Report()
        checker.availability(summary, sorted(history.ops, key=lambda op: op.start), all_windows)
        print(f"==== the whole run: {len(rounds)} rounds, {len(history.ops)} operations", flush=True)
        for line in summary.lines:
            print(line, flush=True)
    print(f"slowest convergence after a round's last heal: {worst:.1f} s", flush=True)
    if args.history:
        with open(args.history, "w") as out:
            for op in history.ops:
                out.write(json.dumps(vars(op)) + "\n")
        with open(args.history + ".windows", "w") as out:
            json.dump(all_windows, out)
    for node in nodes:
        node.stop_gracefully()
    print(f"nemesis: {violations} violation(s), seed {args.seed_used}", flush=True)
    if violations:
        for node in nodes:
            print(f"--- last lines of {node.log_path}")
            with open(node.log_path, errors="replace") as lines:
                print("".join(lines.readlines()[-15:]))
    return 1 if violations else 0


def run_round(args, rng, network, nodes, faults, history, schedule, label, prefix):
    """Clients run through `schedule`'s faults; then they stop and the whole
    history so far is judged. Returns the round's fault windows and report."""
    clients = workload.start_clients(history, [n.url for n in nodes], list(STORES), args.clients,
                                     args.keys, seed=rng.randrange(1 << 31), prefix=prefix)
    windows = []
    began = time.monotonic()
    time.sleep(args.heal_seconds)
    healed = time.monotonic()  # the last fault's heal (none yet)
    windows.append(("none", began, healed, ""))
    for number, name in enumerate(schedule, 1):
        start, stop, detail = faults.make(name)
        log(f"{label}, fault {number}/{len(schedule)}: {name} {detail}")
        began = time.monotonic()
        start()
        time.sleep(args.fault_seconds * rng.uniform(0.6, 1.4))
        stop()
        network.heal()
        healed = time.monotonic()
        windows.append((name, began, healed, detail))
        time.sleep(args.heal_seconds)
        for node in nodes:
            if not node.alive():
                log(f"{node.id} exited on its own (see {node.log_path}); restarting it")
                windows.append(("crash:" + node.id, time.monotonic(), time.monotonic(), ""))
                node.start()
    if not workload.stop_clients(clients):
        raise RuntimeError("a client did not stop within 15 s of being told to")
    log(f"{label}: faults over; {len(history.ops)} operations recorded; waiting for convergence")
    report = checker.check(history, [n.url for n in nodes], STORES, args.keys, healed, windows)
    crashed = [w[0] for w in windows if w[0].startswith("crash:")]
    if crashed:
        report.violation(f"nodes exited on their own during the round: {crashed}")
    for line in report.lines:
        print(line, flush=True)
    print(f"{label}: {report.violations} violation(s)", flush=True)
    return windows, report

if __name__ == "__main__":
    sys.exit(main())
