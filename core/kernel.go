package core

import "math"

// Row primitives. Each works on one contiguous row of logits. These pure-Go
// loops are the reference implementation: faster paths must return the same
// values, so they keep the same order of operations.
//
// Sums of exponentials use a fixed number of partial sums: element j of a row
// is added to partial j % n (n = partials32 or partials64), and the partials
// are combined by a fixed pairwise tree. A vector path with the same layout
// (for example 4 AVX-512 or 8 AVX2 float32 accumulators for 64 partials)
// reproduces the result bit for bit.
const (
	partials32 = 64
	partials64 = 32
)

// rowMax returns the largest element of x, ignoring NaN, or -Inf when x holds
// only NaN and -Inf. A NaN still reaches the result through rowExpSum.
func rowMax[T Float](x []T) T {
	m := T(math.Inf(-1))
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	return m
}

// rowExpSum returns sum_j exp(x[j] - m) and, when dst is not nil, stores each
// exp(x[j] - m) in dst[j]. dst may be x itself.
func rowExpSum[T Float](dst, x []T, m T) float64 {
	switch xs := any(x).(type) {
	case []float32:
		d, _ := any(dst).([]float32)
		return float64(expSum32(d, xs, float32(m)))
	case []float64:
		d, _ := any(dst).([]float64)
		return expSum64(d, xs, float64(m))
	}
	panic("core: unreachable element type")
}

func expSum32(dst, x []float32, m float32) float32 {
	var acc [partials32]float32
	for j, v := range x {
		e := exp32(v - m)
		acc[j%partials32] += e
		if dst != nil {
			dst[j] = e
		}
	}
	return combine32(&acc)
}

func expSum64(dst, x []float64, m float64) float64 {
	var acc [partials64]float64
	for j, v := range x {
		e := math.Exp(v - m)
		acc[j%partials64] += e
		if dst != nil {
			dst[j] = e
		}
	}
	return combine64(&acc)
}

// exp32 returns exp(v) rounded to float32.
func exp32(v float32) float32 {
	return float32(math.Exp(float64(v)))
}

// combine32 adds the partials in a fixed tree: half k with half k + n/2,
// halving n until one value is left.
func combine32(acc *[partials32]float32) float32 {
	for n := partials32 / 2; n >= 1; n /= 2 {
		for k := range n {
			acc[k] += acc[k+n]
		}
	}
	return acc[0]
}

func combine64(acc *[partials64]float64) float64 {
	for n := partials64 / 2; n >= 1; n /= 2 {
		for k := range n {
			acc[k] += acc[k+n]
		}
	}
	return acc[0]
}

// rowScale multiplies every element of dst by a.
func rowScale[T Float](dst []T, a T) {
	for j := range dst {
		dst[j] *= a
	}
}

// compensatedSum is a Neumaier running sum in float64. Once the sum is not
// finite it stops compensating, so Inf and NaN propagate as in a plain sum.
type compensatedSum struct {
	sum, c float64
}

func (k *compensatedSum) add(v float64) {
	t := k.sum + v
	if t-t != 0 {
		k.sum, k.c = t, 0
		return
	}
	if math.Abs(k.sum) >= math.Abs(v) {
		k.c += (k.sum - t) + v
	} else {
		k.c += (v - t) + k.sum
	}
	k.sum = t
}

func (k *compensatedSum) value() float64 {
	if k.sum-k.sum != 0 {
		return k.sum
	}
	return k.sum + k.c
}
