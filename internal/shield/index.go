package shield

import (
	"encoding/binary"
	"net/netip"
	"sort"
)

// index finds the most specific network of a set that contains an address.
// It keeps one map per prefix length present, keyed by the address masked
// to that length, so a lookup costs at most one map probe per distinct
// prefix length, however many networks there are. In front of the maps a
// summary says which lengths occur at all within each IPv4 /16 (a bit per
// length from 16 to 32) and which IPv6 /32s hold any network of /32 or
// longer, so the usual lookup, of an address no rule is near, costs one
// array read and no probe. An index is not changed after it is built; a
// rule change builds a new one.
type index struct {
	v4    []level4 // longest prefix first
	v6    []level6
	v4top *[1 << 16]uint32 // by the top 16 bits: bit n set when a /(16+n) network lies within
	v6top map[uint32]bool  // top 32 bits of the networks of /32 or longer
}

type level4 struct {
	bits int
	nets map[uint32]*entry
}

type u128 struct{ hi, lo uint64 }

type level6 struct {
	bits int
	nets map[u128]*entry
}

func mask4(a uint32, bits int) uint32 {
	if bits == 0 {
		return 0
	}
	return a & (^uint32(0) << (32 - bits))
}

func mask6(a u128, bits int) u128 {
	switch {
	case bits == 0:
		return u128{}
	case bits <= 64:
		return u128{a.hi & (^uint64(0) << (64 - bits)), 0}
	case bits == 128:
		return a
	}
	return u128{a.hi, a.lo & (^uint64(0) << (128 - bits))}
}

func as4(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func as6(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// add puts e under the network p, which must be masked and unmapped. A
// second entry for the same network replaces the first.
func (x *index) add(p netip.Prefix, e *entry) {
	bits := p.Bits()
	if p.Addr().Is4() {
		i := sort.Search(len(x.v4), func(i int) bool { return x.v4[i].bits <= bits })
		if i == len(x.v4) || x.v4[i].bits != bits {
			x.v4 = append(x.v4[:i], append([]level4{{bits, map[uint32]*entry{}}}, x.v4[i:]...)...)
		}
		k := as4(p.Addr())
		x.v4[i].nets[k] = e
		if bits >= 16 {
			if x.v4top == nil {
				x.v4top = new([1 << 16]uint32)
			}
			x.v4top[k>>16] |= 1 << (bits - 16)
		}
		return
	}
	i := sort.Search(len(x.v6), func(i int) bool { return x.v6[i].bits <= bits })
	if i == len(x.v6) || x.v6[i].bits != bits {
		x.v6 = append(x.v6[:i], append([]level6{{bits, map[u128]*entry{}}}, x.v6[i:]...)...)
	}
	k := as6(p.Addr())
	x.v6[i].nets[k] = e
	if bits >= 32 {
		if x.v6top == nil {
			x.v6top = map[uint32]bool{}
		}
		x.v6top[uint32(k.hi>>32)] = true
	}
}

// lookup returns the entry of the longest network containing a (unmapped)
// that is active at now (Unix microseconds), or nil. An expired entry is
// passed over, so a shorter network that still applies is found.
func (x *index) lookup(a netip.Addr, now int64) *entry {
	if a.Is4() {
		k := as4(a)
		var near uint32
		if x.v4top != nil {
			near = x.v4top[k>>16]
		}
		for _, l := range x.v4 {
			if l.bits >= 16 && near&(1<<(l.bits-16)) == 0 {
				continue
			}
			if e := l.nets[mask4(k, l.bits)]; e != nil && e.active(now) {
				return e
			}
		}
		return nil
	}
	if !a.Is6() {
		return nil
	}
	k := as6(a)
	near := x.v6top[uint32(k.hi>>32)]
	for _, l := range x.v6 {
		if l.bits >= 32 && !near {
			continue
		}
		if e := l.nets[mask6(k, l.bits)]; e != nil && e.active(now) {
			return e
		}
	}
	return nil
}

// len returns how many networks x holds.
func (x *index) len() int {
	n := 0
	for _, l := range x.v4 {
		n += len(l.nets)
	}
	for _, l := range x.v6 {
		n += len(l.nets)
	}
	return n
}
