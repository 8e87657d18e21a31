package core

import "unsafe"

// span is the byte range of a buffer, used to detect aliasing.
type span struct {
	name   string
	lo, hi uintptr
	alias  string // for an output: the input it may be exactly (in place)
}

func spanOf[E any](name string, s []E) span {
	if len(s) == 0 {
		return span{name: name}
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	return span{name: name, lo: lo, hi: lo + uintptr(len(s))*unsafe.Sizeof(s[0])}
}

func (a span) overlaps(b span) bool {
	return a.lo < b.hi && b.lo < a.hi
}

func (a span) same(b span) bool {
	return a.lo == b.lo && a.hi == b.hi
}

// checkOverlap rejects an output that overlaps an input or another output.
// An output may be exactly the same buffer (same start, same length) as the
// input named by its alias field.
func checkOverlap(outputs, inputs []span) error {
	for i, out := range outputs {
		for _, in := range inputs {
			if !out.overlaps(in) {
				continue
			}
			if out.alias == in.name && out.same(in) {
				continue
			}
			if out.alias == in.name {
				return overlapError("%s partially overlaps %s: it may only be the "+
					"same buffer (in place) or a disjoint one", out.name, in.name)
			}
			return overlapError("%s overlaps %s: outputs must not share memory with "+
				"inputs", out.name, in.name)
		}
		for _, other := range outputs[i+1:] {
			if out.overlaps(other) {
				return overlapError("%s overlaps %s: outputs must be disjoint",
					out.name, other.name)
			}
		}
	}
	return nil
}
