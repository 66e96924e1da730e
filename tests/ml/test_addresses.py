"""Which addresses a download may connect to: refused kinds, embedded IPv4, allowed networks."""

import ipaddress

import pytest

from mlapi.ml.addresses import refusal


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.255.255.1", "10.255.255.1 is a private address"),
        ("169.254.169.254", "169.254.169.254 is a cloud metadata address"),
        ("fd00:ec2::254", "fd00:ec2::254 is a cloud metadata address"),
        ("100.100.100.200", "100.100.100.200 is a cloud metadata address"),
        ("100.64.0.1", "100.64.0.1 is not a globally routable address"),
        ("224.0.0.1", "224.0.0.1 is a multicast address"),
        ("fe80::1", "fe80::1 is a link-local address"),
        ("64:ff9b::a00:1", "64:ff9b::a00:1 embeds 10.0.0.1, which is a private address"),
        ("2002:a9fe:a9fe::", "2002:a9fe:a9fe:: embeds 169.254.169.254, which is a cloud metadata"),
    ],
)
def test_address_policy_refuses_internal_addresses(address: str, reason: str) -> None:
    found = refusal(ipaddress.ip_address(address), [])

    assert found is not None
    assert found.startswith(reason)


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "64:ff9b::5db8:d70e", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
)
def test_address_policy_allows_global_addresses(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), []) is None


def test_address_policy_allows_listed_networks_also_when_embedded() -> None:
    allowed = [ipaddress.ip_network("10.0.0.0/8")]

    assert refusal(ipaddress.ip_address("10.1.2.3"), allowed) is None
    assert refusal(ipaddress.ip_address("::ffff:10.1.2.3"), allowed) is None
    assert refusal(ipaddress.ip_address("192.168.1.1"), allowed) is not None
