"""Which network addresses a download may connect to.

A download may reach only globally routable addresses, unless the caller allows a network
explicitly: never loopback, private, link-local, multicast, reserved or cloud metadata
addresses, nor IPv6 addresses that embed such an IPv4 address.
"""

import ipaddress
import socket
from collections.abc import Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Named apart from their ranges so that the message says what they are: AWS, GCP and Azure
# (link-local), AWS over IPv6 (unique local), Alibaba Cloud (shared address space).
_METADATA_ADDRESSES = frozenset(
    map(ipaddress.ip_address, ["169.254.169.254", "fd00:ec2::254", "100.100.100.200"])
)
# Well-known NAT64 prefix (RFC 6052): the last 32 bits are the IPv4 address reached.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def resolve(host: str, port: int) -> list[IPAddress]:
    """Look up every address of ``host`` (a name or a literal IP), in the resolver's order.

    Raises:
        OSError: If the name does not resolve.
    """
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [ipaddress.ip_address(sockaddr[0]) for *_, sockaddr in found]
    if not addresses:
        raise OSError(f"{host} has no address")
    return list(dict.fromkeys(addresses))


def refusal(address: IPAddress, allowed_networks: Sequence[IPNetwork]) -> str | None:
    """Say why a download may not connect to ``address``, or None if it may.

    Args:
        address: Where the connection would go.
        allowed_networks: Networks allowed whatever their kind, e.g. an internal mirror.

    Returns:
        A phrase such as ``"10.0.0.1 is a private address"``, or None.
    """
    embedded = _embedded_ipv4(address)
    if _is_allowed(address, allowed_networks) or (
        embedded is not None and _is_allowed(embedded, allowed_networks)
    ):
        return None
    if embedded is not None:
        kind = _forbidden_kind(embedded)
        if kind is not None:
            return f"{address} embeds {embedded}, which {kind}"
        if isinstance(address, ipaddress.IPv6Address) and address.sixtofour is None:
            return None  # mapped and NAT64 addresses lead where their IPv4 address does
    kind = _forbidden_kind(address)
    return None if kind is None else f"{address} {kind}"


def _is_allowed(address: IPAddress, allowed_networks: Sequence[IPNetwork]) -> bool:
    return any(address in network for network in allowed_networks)


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def _forbidden_kind(address: IPAddress) -> str | None:
    checks = [
        (address in _METADATA_ADDRESSES, "cloud metadata"),
        (address.is_loopback, "loopback"),
        (address.is_unspecified, "unspecified"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "site-local"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
    ]
    for forbidden, kind in checks:
        if forbidden:
            return f"is {'an' if kind[0] in 'aeiou' else 'a'} {kind} address"
    # Shared (100.64.0.0/10), documentation and benchmarking ranges, and the like.
    return None if address.is_global else "is not a globally routable address"
