package core

import "sync"

// blockElements is the approximate number of elements per block of
// positions. Blocks are the unit of work and of loss accumulation: partial
// sums are formed per block and then added in block order, so a reduced loss
// depends on the shape only, never on how blocks are scheduled.
const blockElements = 1 << 16

// blockPositions returns the number of positions per block for c classes.
func blockPositions(c int) int {
	return max(1, blockElements/c)
}

// gather copies the class axis of position (o, i) of x into dst, for inner > 1.
func gather[T Float](dst, x []T, s Shape, o, i int) {
	base := o*s.Classes*s.Inner + i
	for c := range dst {
		dst[c] = x[base+c*s.Inner]
	}
}

// scatter is the inverse of gather.
func scatter[T Float](dst, src []T, s Shape, o, i int) {
	base := o*s.Classes*s.Inner + i
	for c, v := range src {
		dst[base+c*s.Inner] = v
	}
}

// zeroPosition sets the class axis of position p of dst to zero.
func zeroPosition[T Float](dst []T, s Shape, p int) {
	if s.Inner == 1 {
		clear(dst[p*s.Classes : (p+1)*s.Classes])
		return
	}
	o, i := p/s.Inner, p%s.Inner
	base := o*s.Classes*s.Inner + i
	for c := range s.Classes {
		dst[base+c*s.Inner] = 0
	}
}

var (
	scratch32 sync.Pool
	scratch64 sync.Pool
)

// getScratch returns a buffer of n elements from a pool; release it with
// putScratch. Only strided layouts (inner > 1) need one.
func getScratch[T Float](n int) *[]T {
	var pool *sync.Pool
	var zero T
	switch any(zero).(type) {
	case float32:
		pool = &scratch32
	default:
		pool = &scratch64
	}
	if p, ok := pool.Get().(*[]T); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	b := make([]T, n)
	return &b
}

func putScratch[T Float](p *[]T) {
	var zero T
	switch any(zero).(type) {
	case float32:
		scratch32.Put(p)
	default:
		scratch64.Put(p)
	}
}
