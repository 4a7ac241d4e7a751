package images

import (
	"fmt"
	"net/netip"
)

// blockedRange is a non-global address range the fetcher refuses to dial.
type blockedRange struct {
	prefix netip.Prefix
	reason string
}

func block(cidr, reason string) blockedRange {
	return blockedRange{prefix: netip.MustParsePrefix(cidr), reason: reason}
}

// blockedV4 lists the IPv4 ranges that are not globally reachable unicast
// (IANA IPv4 Special-Purpose Address Registry, RFC 6890 and successors).
var blockedV4 = []blockedRange{
	block("0.0.0.0/8", "this-network address"),
	block("10.0.0.0/8", "private address"),
	block("100.64.0.0/10", "carrier-grade NAT address"),
	block("127.0.0.0/8", "loopback address"),
	block("169.254.0.0/16", "link-local address"),
	block("172.16.0.0/12", "private address"),
	block("192.0.0.0/24", "IETF protocol assignment"),
	block("192.0.2.0/24", "documentation address"),
	block("192.88.99.0/24", "6to4 relay anycast address"),
	block("192.168.0.0/16", "private address"),
	block("198.18.0.0/15", "benchmarking address"),
	block("198.51.100.0/24", "documentation address"),
	block("203.0.113.0/24", "documentation address"),
	block("224.0.0.0/4", "multicast address"),
	block("240.0.0.0/4", "reserved address"), // includes 255.255.255.255
}

// blockedV6 lists non-global ranges inside 2000::/3; everything outside
// 2000::/3 is refused except the NAT64 well-known prefix, whose embedded
// IPv4 address is checked instead.
var blockedV6 = []blockedRange{
	block("2001::/23", "IETF protocol assignment"), // Teredo, benchmarking, ORCHID …
	block("2001:db8::/32", "documentation address"),
	block("3fff::/20", "documentation address"),
}

var (
	globalUnicastV6 = netip.MustParsePrefix("2000::/3")
	nat64WellKnown  = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour       = netip.MustParsePrefix("2002::/16")
	uniqueLocalV6   = netip.MustParsePrefix("fc00::/7")
	linkLocalV6     = netip.MustParsePrefix("fe80::/10")
	multicastV6     = netip.MustParsePrefix("ff00::/8")
)

// CheckAddr returns nil when ip is a globally routable unicast address the
// fetcher may connect to, and otherwise an error naming why it is refused.
// IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4
// (2002:aabb:ccdd::) forms are judged by the IPv4 address they carry.
func CheckAddr(ip netip.Addr) error {
	reason := blockReason(ip)
	if reason == "" {
		return nil
	}
	return fmt.Errorf("%s is not a public address (%s)", ip, reason)
}

func blockReason(ip netip.Addr) string {
	if !ip.IsValid() {
		return "invalid address"
	}
	if ip.Zone() != "" {
		return "scoped (zoned) address"
	}
	if ip.Is4In6() {
		if reason := blockReason(ip.Unmap()); reason != "" {
			return "IPv4-mapped " + reason
		}
		return ""
	}
	if ip.Is4() {
		if ip.IsUnspecified() {
			return "unspecified address"
		}
		for _, b := range blockedV4 {
			if b.prefix.Contains(ip) {
				return b.reason
			}
		}
		return ""
	}
	// IPv6.
	switch {
	case ip.IsUnspecified():
		return "unspecified address"
	case ip.IsLoopback():
		return "loopback address"
	case uniqueLocalV6.Contains(ip):
		return "unique-local address"
	case linkLocalV6.Contains(ip):
		return "link-local address"
	case multicastV6.Contains(ip):
		return "multicast address"
	case nat64WellKnown.Contains(ip):
		b := ip.As16()
		v4 := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		if reason := blockReason(v4); reason != "" {
			return "NAT64 form of a " + reason
		}
		return ""
	case !globalUnicastV6.Contains(ip):
		return "non-global IPv6 address"
	case sixToFour.Contains(ip):
		b := ip.As16()
		v4 := netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
		if reason := blockReason(v4); reason != "" {
			return "6to4 form of a " + reason
		}
		return ""
	}
	for _, b := range blockedV6 {
		if b.prefix.Contains(ip) {
			return b.reason
		}
	}
	return ""
}
