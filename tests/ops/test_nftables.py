"""The one-way link in nftables (ops/nftables/): `nft -c` accepts both rule sets, and,
read rule by rule, they let casework open connections to intake's sync port and nothing
else cross between the two hosts: intake can answer, never call."""

from __future__ import annotations

import ipaddress
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ops.tools import program

OPS = Path(__file__).resolve().parent.parent.parent / "ops"
CAP_NET_ADMIN = 12


def _may_administer_the_network() -> bool:
    status = Path("/proc/self/status").read_text()
    found = re.search(r"^CapEff:\s*([0-9a-f]+)$", status, re.MULTILINE)
    return found is not None and bool(int(found[1], 16) >> CAP_NET_ADMIN & 1)


def nft_check(path: Path) -> subprocess.CompletedProcess[str]:
    nft = program("nft")
    if not _may_administer_the_network():
        # `nft -c` asks the kernel to check the rules over netlink, which needs
        # CAP_NET_ADMIN even though nothing is applied; a container without it cannot
        # check at all (the policy test below still reads the rules).
        pytest.skip("nft -c needs CAP_NET_ADMIN, which this process does not have")
    return subprocess.run([nft, "-c", "-f", str(path)], capture_output=True, text=True,
                          timeout=30)


@pytest.mark.parametrize("host", ["intake", "casework"])
def test_nft_accepts_the_rules(host: str) -> None:
    checked = nft_check(OPS / "nftables" / f"{host}.nft")
    assert checked.returncode == 0, checked.stderr


def test_the_check_refuses_a_broken_rule(tmp_path: Path) -> None:
    broken = tmp_path / "broken.nft"
    broken.write_text((OPS / "nftables" / "intake.nft").read_text().replace(
        "tcp dport $sync_port ct state new accept", "tcp dport $sync_port ct state new acept"))
    assert nft_check(broken).returncode != 0


# --- the policy, read from the rules -------------------------------------------------------


@dataclass(frozen=True)
class Packet:
    source: str
    destination: str
    port: int  # the destination port
    state: str = "new"  # conntrack: new, established
    source_port: int = 40000


@dataclass
class Chain:
    policy: str
    rules: list[str]


def chains(host: str) -> dict[str, Chain]:
    """The file's chains (input, forward, output), $names replaced by their defines."""
    text = re.sub(r"#.*$", "", (OPS / "nftables" / f"{host}.nft").read_text(),
                  flags=re.MULTILINE)
    for name, value in re.findall(r"^define (\w+) = (\S+)$", text, flags=re.MULTILINE):
        text = text.replace(f"${name}", value)
    found = {}
    for name, body in re.findall(r"chain (\w+) \{(.*?)\n    \}", text, flags=re.DOTALL):
        lines = [line.strip() for line in body.splitlines() if line.strip()]
        hook = re.fullmatch(r"type filter hook (\w+) priority filter; policy (\w+);", lines[0])
        assert hook is not None and hook[1] == name, lines[0]
        found[name] = Chain(hook[2], lines[1:])
    return found


def _matches(rule: str, packet: Packet, local: str) -> bool:
    """Whether ``rule`` matches a TCP ``packet`` (rules for ICMP never do)."""
    tokens = rule.split()[:-1]
    if tokens[:1] in (["icmp"], ["icmpv6"]):
        return False
    # "ip saddr X", "tcp dport X", "ct state X", "iif X": a match and its value.
    words = iter(tokens)
    checks = {}
    for word in words:
        if word in ("ip", "tcp", "ct"):
            word = f"{word} {next(words)}"
        checks[word] = next(words)
    for what, value in checks.items():
        if what == "iif":
            if (value.strip('"') == "lo") != (local == "lo"):
                return False
        elif what in ("ip saddr", "ip daddr"):
            address = packet.source if what == "ip saddr" else packet.destination
            if ipaddress.ip_address(address) not in ipaddress.ip_network(value):
                return False
        elif what in ("tcp dport", "tcp sport"):
            port = packet.port if what == "tcp dport" else packet.source_port
            if str(port) != value:
                return False
        elif what == "ct state":
            if packet.state not in value.split(","):
                return False
        else:
            raise AssertionError(f"the test does not read {what!r} in {rule!r}")
    return True


def verdict(host: str, chain: str, packet: Packet) -> str:
    """What the host's chain does with ``packet``: the first matching rule, else the
    chain's policy."""
    rules = chains(host)[chain]
    for rule in rules.rules:
        if _matches(rule, packet, local="eth"):
            return rule.split()[-1]
    return rules.policy


def defines(host: str) -> dict[str, str]:
    text = (OPS / "nftables" / f"{host}.nft").read_text()
    return dict(re.findall(r"^define (\w+) = (\S+)$", text, flags=re.MULTILINE))


INTAKE = defines("casework")["intake_host"]
CASEWORK = defines("intake")["casework_host"]
SYNC = int(defines("intake")["sync_port"])
STRANGER = "198.51.100.7"


def test_both_hosts_agree_with_each_other_and_with_nginx() -> None:
    assert int(defines("casework")["sync_port"]) == SYNC
    sync_site = (OPS / "nginx" / "sync.conf").read_text()
    assert f"listen {INTAKE}:{SYNC} ssl;" in sync_site


def test_every_chain_drops_what_no_rule_allows() -> None:
    for host in ("intake", "casework"):
        found = chains(host)
        assert found["input"].policy == "drop" and found["forward"].policy == "drop"
        assert found["forward"].rules == []


def test_casework_may_open_the_sync_port_on_intake_and_nothing_else() -> None:
    opening = Packet(CASEWORK, INTAKE, SYNC)
    assert verdict("casework", "output", opening) == "accept"
    assert verdict("intake", "input", opening) == "accept"
    for port in (22, 80, 443, 5432, 6379, 8080, 9050):
        other = Packet(CASEWORK, INTAKE, port)
        assert verdict("intake", "input", other) == "drop", port
        assert verdict("casework", "output", other) == "drop", port
    # The answers on that connection flow back.
    answer = Packet(INTAKE, CASEWORK, 40000, state="established", source_port=SYNC)
    assert verdict("intake", "output", answer) == "accept"
    assert verdict("casework", "input", answer) == "accept"


def test_intake_can_open_no_connection_to_casework() -> None:
    for port in (22, 443, 5432, 6379, SYNC):
        call = Packet(INTAKE, CASEWORK, port)
        assert verdict("intake", "output", call) == "drop", port
        assert verdict("casework", "input", call) == "drop", port
    # Not even by dressing a packet up as part of a connection, on any other port.
    forged = Packet(INTAKE, CASEWORK, 443, state="established", source_port=22)
    assert verdict("intake", "output", forged) == "drop"
    assert verdict("casework", "input", forged) == "drop"


def test_no_one_else_reaches_the_sync_port() -> None:
    assert verdict("intake", "input", Packet(STRANGER, INTAKE, SYNC)) == "drop"
    assert verdict("intake", "input", Packet(STRANGER, INTAKE, 8080)) == "drop"
