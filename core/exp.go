package core

import "math"

// Exponentials for rowExpSum. exp32 and exp64 are the reference for the
// assembly kernels. Every vector path runs the same operations in the same
// order (clamp, range reduction, polynomial, 2^n rebuild, flush), with a
// fused multiply-add wherever fma32 or math.FMA appears here, so each path
// returns the same bits for every input.
//
// Method: n = round(v*log2(e)) and r = v - n*ln(2) (two fused steps with
// ln(2) split into a high and a low part, the first step exact), so that
// |r| <= ln(2)/2. exp(r) is a polynomial in Horner form, 1 + r + r^2*q(r),
// with q a Chebyshev fit to (exp(r) - 1 - r)/r^2 on [-0.3473, 0.3473]. 2^n is
// built from the bits of the rounding step: adding 1.5*2^23 + 127 (float64:
// 1.5*2^52 + 1023) puts 127 + n in the low mantissa bits, and a left shift
// moves them into the exponent field. A result below the smallest normal
// number is flushed to +0, so no subnormal reaches the sums (Go cannot set
// the flush-to-zero bits of MXCSR).
//
// Accuracy: within 2 ulp of exp(v), except results flushed to +0 near the
// underflow bound, as checked on every float32 v in [-88, 0] and on a dense
// random sample of float64 v in [-710, 0] against a 160-bit reference. The
// largest errors measured are 0.94 ulp (float32) and 0.86 ulp (float64).
// The arguments are v = x - max, so v <= 0 or NaN. NaN propagates and -Inf
// gives +0. A positive v is outside the fitted range and gives an
// inaccurate result, though the same bits on every path.

const (
	log2e32   = 0x1.715476p+0
	ln2Hi32   = 0x1.62e43p-1
	ln2Lo32   = -0x1.05c61p-29
	magic32   = 0x1.8p23 + 127
	expLo32   = -88.0 // n >= -127 below here, and 2^-127 builds as +0
	minNorm32 = 0x1p-126

	exp32C6 = 0x1.6d11fep-10
	exp32C5 = 0x1.120c62p-7
	exp32C4 = 0x1.555518p-5
	exp32C3 = 0x1.5554dcp-3
	exp32C2 = 0x1p-1
)

const (
	log2e64   = 0x1.71547652b82fep+0
	ln2Hi64   = 0x1.62e42fefa39efp-1
	ln2Lo64   = 0x1.abc9e3b39803fp-56
	magic64   = 0x1.8p52 + 1023
	expLo64   = -709.0 // n >= -1023 below here, and 2^-1023 builds as +0
	minNorm64 = 0x1p-1022

	exp64C11 = 0x1.af39789bfd689p-26
	exp64C10 = 0x1.28922d8c8d4fbp-22
	exp64C9  = 0x1.71de0d573888bp-19
	exp64C8  = 0x1.a019b87f7a6e9p-16
	exp64C7  = 0x1.a01a01a7da98dp-13
	exp64C6  = 0x1.6c16c178b0646p-10
	exp64C5  = 0x1.1111111110996p-7
	exp64C4  = 0x1.5555555553d05p-5
	exp64C3  = 0x1.5555555555556p-3
	exp64C2  = 0x1.0000000000001p-1
)

// exp32 returns exp(v) for v <= 0, as described at the top of this file.
// Each fused multiply-add is written as round32(math.FMA(...)), the
// expansion of fma32, so that it inlines.
func exp32(v float32) float32 {
	if v != v {
		return v
	}

	// clamp: -Inf becomes expLo32
	if expLo32 > v {
		v = expLo32
	}

	// reduce
	t := round32(math.FMA(float64(v), log2e32, magic32), v, log2e32, magic32)
	n := t - magic32
	r := round32(math.FMA(float64(n), -ln2Hi32, float64(v)), n, -ln2Hi32, v)
	r = round32(math.FMA(float64(n), -ln2Lo32, float64(r)), n, -ln2Lo32, r)

	// compute
	p := float32(exp32C6)
	for _, c := range [...]float32{exp32C5, exp32C4, exp32C3, exp32C2, 1, 1} {
		p = round32(math.FMA(float64(p), float64(r), float64(c)), p, r, c)
	}

	// scale by 2^n and flush what falls below the smallest normal number
	s := math.Float32frombits(math.Float32bits(t) << 23)
	e := float32(p * s)
	if e < minNorm32 {
		return 0
	}
	return e
}

// exp64 returns exp(v) for v <= 0, as described at the top of this file.
func exp64(v float64) float64 {
	if v != v {
		return v
	}

	// clamp
	if expLo64 > v {
		v = expLo64
	}

	// reduce
	t := math.FMA(v, log2e64, magic64)
	n := t - magic64
	r := math.FMA(n, -ln2Hi64, v)
	r = math.FMA(n, -ln2Lo64, r)

	// compute
	p := math.FMA(exp64C11, r, exp64C10)
	p = math.FMA(p, r, exp64C9)
	p = math.FMA(p, r, exp64C8)
	p = math.FMA(p, r, exp64C7)
	p = math.FMA(p, r, exp64C6)
	p = math.FMA(p, r, exp64C5)
	p = math.FMA(p, r, exp64C4)
	p = math.FMA(p, r, exp64C3)
	p = math.FMA(p, r, exp64C2)
	p = math.FMA(p, r, 1)
	e := math.FMA(p, r, 1)

	// scale and flush
	s := math.Float64frombits(math.Float64bits(t) << 52)
	e = float64(e * s)
	if e < minNorm64 {
		return 0
	}
	return e
}

// fma32 returns a*b + c rounded once to float32, like the VFMADD
// instructions, when the result is zero, exact or not subnormal (all that
// exp32 needs).
func fma32(a, b, c float32) float32 {
	return round32(math.FMA(float64(a), float64(b), float64(c)), a, b, c)
}

// round32 rounds s = math.FMA(a, b, c) in float64 to float32, giving a*b + c
// rounded once to float32.
//
// s is one rounding away from the exact value (a*b is exact in float64).
// Rounding s to float32 is a second rounding. It differs from rounding the
// exact value only when s lies exactly halfway between two float32 values
// but the exact value does not, so then s is first moved one float64 step
// towards the exact value. The halfway test (the 29 bits that float32 drops
// are 1000...0) holds for results in float32's normal range.
func round32(s float64, a, b, c float32) float32 {
	if math.Float64bits(s)&(1<<29-1) == 1<<28 {
		s = breakTie(a, b, c, s)
	}
	return float32(s)
}

// breakTie returns s = a*b + c rounded to float64, a float32 halfway point,
// moved one float64 step towards the exact value of a*b + c (unchanged when
// s is exact). The sign of the rounding error comes from Knuth's two-sum.
func breakTie(a, b, c float32, s float64) float64 {
	p := float64(a) * float64(b)
	bb := s - p
	err := (p - (s - bb)) + (float64(c) - bb)
	switch {
	case err > 0:
		return math.Nextafter(s, math.Inf(1))
	case err < 0:
		return math.Nextafter(s, math.Inf(-1))
	}
	return s
}
