"""The one guard against server-side request forgery: outgoing connections go to public
addresses only, unless explicitly allowed.

Used by the server's webhooks (``dagr.monitoring.webhooks``) and by the agent's HTTP and SFTP
sources (``allow_internal: true`` in a source's options lets a connector reach a private or
loopback address — a provider's own database host on its LAN, the tests' loopback server).

A host name is resolved once (``resolve``) and refused if ANY address it resolves to is not a
public unicast address: private, loopback, link-local, shared (CGN), multicast, reserved,
unspecified, documentation ranges, and IPv6 addresses that embed such an IPv4 address
(IPv4-mapped ``::ffff:…``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo). Callers then
connect to the checked address, never to the name again, so a second DNS answer (DNS
rebinding) cannot redirect them; ``https_pool`` does that while TLS still verifies the
certificate for the host name.
"""

from __future__ import annotations

import ipaddress
import socket

import urllib3

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class AddressError(Exception):
    """A host that cannot be resolved (``code = "unresolvable"``) or resolves to an internal
    address (``code = "internal"``)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def address_is_public(ip: IPAddress) -> bool:
    """True for a globally reachable unicast address (and for an IPv6 address only if any IPv4
    address it embeds is one too)."""
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded: list[ipaddress.IPv4Address] = []
        if ip.ipv4_mapped is not None:
            embedded.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            embedded.append(ip.sixtofour)
        if ip.teredo is not None:
            embedded.extend(ip.teredo)
        if any(ip in net for net in _NAT64):
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        return all(address_is_public(v4) for v4 in embedded)
    return True


def resolve(host: str, port: int) -> tuple[str, ...]:
    """Every address ``host`` resolves to (IPv6 zone ids dropped), in resolver order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise AddressError(f"the host name {host!r} cannot be resolved", "unresolvable") from None
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise AddressError(f"the host name {host!r} cannot be resolved", "unresolvable")
    return tuple(addresses)


def checked_addresses(host: str, port: int, *, allow_internal: bool = False) -> tuple[str, ...]:
    """The addresses of ``host``, all checked; ``AddressError`` if one is internal and
    ``allow_internal`` is false."""
    addresses = resolve(host, port)
    if not allow_internal:
        for address in addresses:
            if not address_is_public(ipaddress.ip_address(address)):
                raise AddressError(
                    f"{host!r} leads to a private, loopback or otherwise internal network "
                    "address, which is not allowed (allow_internal: true allows it)",
                    "internal",
                )
    return addresses


def connection_pool(
    *,
    scheme: str,
    host: str,
    port: int,
    address: str,
    timeout: urllib3.Timeout,
    maxsize: int = 1,
) -> urllib3.HTTPConnectionPool:
    """A pool that connects to the checked ``address`` and, for https, verifies the
    certificate for ``host`` (SNI and host name check)."""
    if scheme == "https":
        return urllib3.HTTPSConnectionPool(
            host=address,
            port=port,
            timeout=timeout,
            retries=False,
            maxsize=maxsize,
            cert_reqs="CERT_REQUIRED",
            server_hostname=host,
            assert_hostname=host,
        )
    return urllib3.HTTPConnectionPool(
        host=address, port=port, timeout=timeout, retries=False, maxsize=maxsize
    )
