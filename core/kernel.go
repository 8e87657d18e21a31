package core

import (
	"math"
	"unsafe"
)

// Row primitives. Each works on one contiguous row of logits. The pure-Go
// functions in this file are the reference: the AVX2 and AVX-512 kernels
// (kernel32_amd64.s, kernel64_amd64.s) return the same bits for every row,
// so results do not depend on the CPU. Only the payload of a NaN result may
// differ between paths, because the Go compiler may swap the operands of
// x+y and x*y and x86 returns the payload of the first NaN operand. A NaN
// stays a NaN on every path.
//
//   - rowMax is a maximum, which does not depend on the order of the
//     elements once -0 counts as less than +0.
//   - rowExpSum computes each exp(x[j] - m) with exp32 or exp64 (exp.go),
//     whose operations every kernel repeats, and adds element j to partial
//     sum j % n (n = partials32 or partials64). A vector path with the same
//     layout (4 AVX-512 or 8 AVX2 registers of accumulators) reproduces the
//     sums bit for bit, and a tail shorter than a vector acts as if padded
//     with zeros. The partials are combined by a fixed pairwise tree.
//   - rowScale multiplies elementwise.
//
// A cross-entropy row takes three passes (max, exp-sum, scale), and the
// second and third read the row from L2 or L3 while it fits. The passes
// prefetch a row about 8 KiB ahead, or the start of it when it is long
// (nextRow in plan.go, chunkPrefetch). A large gradient is streamed past the
// caches one row late, during the next row's exp pass (rowExpSumStream, with
// streamGradient and pendingRow in plan.go and sparse.go).
//
// BenchmarkFusedSparse against BenchmarkFusedCopy, one thread, AVX-512, on a
// shared 2-core Xeon with 2 MiB of L2 per core: float32 4096x32000 took 73
// ms. Go's copy of the same bytes took 78 ms, and numpy's copy, which
// streams its stores, 47 ms.
//
// NOTE: an online max and sum over L1-sized chunks reads a row from memory
// twice instead of three times, but computes each exponential twice. On a
// 2-core AMD EPYC (Zen 5, 1 MiB of L2 per core, 32 MiB of L3) the
// exponentials cost about as much as the copy: 0.17 ns against 0.18 ns per
// float32 element. There the online version was slower than the three
// passes for every row length from 32000 to 8388608 float32. 64 MiB of
// logits in rows of 524288 took 8.9-9.4 ms against 6.3-6.6 ms, and 256 MiB
// in rows of 8388608 took 48.6 ms against 46.3 ms. So long rows take the
// three passes too.
const (
	partials32 = 64
	partials64 = 32
)

// chunkElements bounds the elements handed to one assembly call, which the
// Go scheduler cannot preempt. It is a multiple of partials32 and
// partials64, so the partial-sum layout continues across chunks.
const chunkElements = 1 << 16

// rowMax returns the largest element of x, ignoring NaN, or -Inf when x holds
// only NaN and -Inf. A NaN still reaches the result through rowExpSum. When
// the maximum is zero it is +0 if x holds a +0, else -0.
func rowMax[T Float](x []T) T {
	switch xs := any(x).(type) {
	case []float32:
		return T(max32(xs))
	case []float64:
		return T(max64(xs))
	}
	panic("core: unreachable element type")
}

// rowExpSum returns sum_j exp(x[j] - m) and, when dst is not nil, stores each
// exp(x[j] - m) in dst[j]. dst may be x itself. m must be at least every
// element of x (rowMax), so that each argument is <= 0 or NaN. The vector
// kernels prefetch the bytes of min(len(x), chunkElements)/2 elements from
// pf on the way (see nextRow and chunkPrefetch). pf is only a hint, so any
// address is safe.
func rowExpSum[T Float](dst, x []T, m T, pf uintptr) float64 {
	switch xs := any(x).(type) {
	case []float32:
		d, _ := any(dst).([]float32)
		return float64(expSum32(d, xs, float32(m), pf))
	case []float64:
		d, _ := any(dst).([]float64)
		return expSum64(d, xs, float64(m), pf)
	}
	panic("core: unreachable element type")
}

// rowExpSumStream is rowExpSum that, in the same pass, does what
// rowScale(sdst, ssrc, a, _, true) does: the streamed stores of one row's
// gradient then overlap the arithmetic of the next row. It prefetches at
// twice the rate of rowExpSum, min(len(x), chunkElements) elements' worth
// of bytes from pf, for there is no later pass over x to prefetch the rest.
// sdst and ssrc have the length of x. Like rowScale with stream set, it
// leaves its streamed stores unfenced.
func rowExpSumStream[T Float](dst, x []T, m T, pf uintptr, sdst, ssrc []T, a T) float64 {
	switch xs := any(x).(type) {
	case []float32:
		d, _ := any(dst).([]float32)
		return float64(expSumStream32(d, xs, float32(m), pf, any(sdst).([]float32),
			any(ssrc).([]float32), float32(a)))
	case []float64:
		d, _ := any(dst).([]float64)
		return expSumStream64(d, xs, float64(m), pf, any(sdst).([]float64),
			any(ssrc).([]float64), float64(a))
	}
	panic("core: unreachable element type")
}

// rowScale stores src[j]*a in dst[j]; dst may be src itself. The vector
// kernels prefetch like rowExpSum, and with stream set they write dst with
// non-temporal stores. These do not read dst's lines into the cache first,
// and do not keep them there. stream needs dst aligned to its element size.
// Streamed stores are not fenced: the caller must run storeFence on the same
// OS thread (with the goroutine locked to it) before another thread reads
// dst, as sparsePlan.blocks does.
func rowScale[T Float](dst, src []T, a T, pf uintptr, stream bool) {
	switch d := any(dst).(type) {
	case []float32:
		scale32(d, any(src).([]float32), float32(a), pf, stream)
	case []float64:
		scale64(d, any(src).([]float64), float64(a), pf, stream)
	}
}

// chunkPrefetch returns the prefetch address for the chunk of x at off: pf
// for the first chunk, and the chunk itself (already being read) for the
// others. So a pass prefetches at most chunkElements/2 elements of the next
// row (chunkElements for rowExpSumStream). Of a long next row only the
// start is prefetched, and the hardware prefetcher continues from there.
func chunkPrefetch[T Float](pf uintptr, off int, x []T) uintptr {
	if off == 0 {
		return pf
	}
	return rowAddr(x[off:])
}

// rowAddr returns the address of x's first element, or 0 for an empty x. As
// the pf argument of rowExpSum and rowScale it prefetches the row being
// worked on, which is already in the cache.
func rowAddr[T Float](x []T) uintptr {
	return uintptr(unsafe.Pointer(unsafe.SliceData(x)))
}

func max32(x []float32) float32 {
	m := float32(math.Inf(-1))
	for rest := x; len(rest) > 0; {
		n := min(len(rest), chunkElements)
		m = max(m, maxKernel32(rest[:n]))
		rest = rest[n:]
	}
	if m == 0 {
		// The kernels keep either of two equal zeros, depending on the order.
		if hasPositiveZero32(x) {
			return 0
		}
		return float32(math.Copysign(0, -1))
	}
	return m
}

func max64(x []float64) float64 {
	m := math.Inf(-1)
	for rest := x; len(rest) > 0; {
		n := min(len(rest), chunkElements)
		m = max(m, maxKernel64(rest[:n]))
		rest = rest[n:]
	}
	if m == 0 {
		// The kernels keep either of two equal zeros, depending on the order.
		if hasPositiveZero64(x) {
			return 0
		}
		return math.Copysign(0, -1)
	}
	return m
}

func hasPositiveZero32(x []float32) bool {
	for _, v := range x {
		if math.Float32bits(v) == 0 {
			return true
		}
	}
	return false
}

func hasPositiveZero64(x []float64) bool {
	for _, v := range x {
		if math.Float64bits(v) == 0 {
			return true
		}
	}
	return false
}

func expSum32(dst, x []float32, m float32, pf uintptr) float32 {
	if dst != nil {
		dst = dst[:len(x)] // the kernels write len(x) elements
	}
	var acc [partials32]float32
	for off := 0; off < len(x); off += chunkElements {
		end := min(off+chunkElements, len(x))
		var d []float32
		if dst != nil {
			d = dst[off:end]
		}
		expSumKernel32(d, x[off:end], m, &acc, chunkPrefetch(pf, off, x), off == 0)
	}
	return combineKernel32(&acc)
}

func expSum64(dst, x []float64, m float64, pf uintptr) float64 {
	if dst != nil {
		dst = dst[:len(x)] // the kernels write len(x) elements
	}
	var acc [partials64]float64
	for off := 0; off < len(x); off += chunkElements {
		end := min(off+chunkElements, len(x))
		var d []float64
		if dst != nil {
			d = dst[off:end]
		}
		expSumKernel64(d, x[off:end], m, &acc, chunkPrefetch(pf, off, x), off == 0)
	}
	return combineKernel64(&acc)
}

func expSumStream32(dst, x []float32, m float32, pf uintptr, sdst, ssrc []float32,
	a float32) float32 {
	if dst != nil {
		dst = dst[:len(x)]
	}
	sdst, ssrc = sdst[:len(x)], ssrc[:len(x)]
	var acc [partials32]float32
	for off := 0; off < len(x); off += chunkElements {
		end := min(off+chunkElements, len(x))
		var d []float32
		if dst != nil {
			d = dst[off:end]
		}
		expSumStreamKernel32(d, x[off:end], m, &acc, chunkPrefetch(pf, off, x), off == 0,
			sdst[off:end], ssrc[off:end], a)
	}
	return combineKernel32(&acc)
}

func expSumStream64(dst, x []float64, m float64, pf uintptr, sdst, ssrc []float64,
	a float64) float64 {
	if dst != nil {
		dst = dst[:len(x)]
	}
	sdst, ssrc = sdst[:len(x)], ssrc[:len(x)]
	var acc [partials64]float64
	for off := 0; off < len(x); off += chunkElements {
		end := min(off+chunkElements, len(x))
		var d []float64
		if dst != nil {
			d = dst[off:end]
		}
		expSumStreamKernel64(d, x[off:end], m, &acc, chunkPrefetch(pf, off, x), off == 0,
			sdst[off:end], ssrc[off:end], a)
	}
	return combineKernel64(&acc)
}

func scale32(dst, src []float32, a float32, pf uintptr, stream bool) {
	src = src[:len(dst)]
	for off := 0; off < len(dst); off += chunkElements {
		end := min(off+chunkElements, len(dst))
		scaleKernel32(dst[off:end], src[off:end], a, chunkPrefetch(pf, off, src), stream)
	}
}

func scale64(dst, src []float64, a float64, pf uintptr, stream bool) {
	src = src[:len(dst)]
	for off := 0; off < len(dst); off += chunkElements {
		end := min(off+chunkElements, len(dst))
		scaleKernel64(dst[off:end], src[off:end], a, chunkPrefetch(pf, off, src), stream)
	}
}

// Pure-Go kernels: the reference for the assembly ones. The expSum kernels
// add to acc, which holds the partial sums of the elements before x. With
// fresh set they start from zero partial sums instead and do not read acc,
// because loading a freshly zeroed array right after the stores stalls.

func maxGo32(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	return m
}

func maxGo64(x []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	return m
}

func expSumGo32(dst, x []float32, m float32, acc *[partials32]float32, fresh bool) {
	if fresh {
		*acc = [partials32]float32{}
	}
	if dst == nil {
		for j, v := range x {
			acc[j%partials32] += exp32(v - m)
		}
		return
	}
	dst = dst[:len(x)]
	for j, v := range x {
		e := exp32(v - m)
		acc[j%partials32] += e
		dst[j] = e
	}
}

func expSumGo64(dst, x []float64, m float64, acc *[partials64]float64, fresh bool) {
	if fresh {
		*acc = [partials64]float64{}
	}
	if dst == nil {
		for j, v := range x {
			acc[j%partials64] += exp64(v - m)
		}
		return
	}
	dst = dst[:len(x)]
	for j, v := range x {
		e := exp64(v - m)
		acc[j%partials64] += e
		dst[j] = e
	}
}

func scaleGo32(dst, src []float32, a float32) {
	src = src[:len(dst)]
	for j, v := range src {
		dst[j] = v * a
	}
}

func scaleGo64(dst, src []float64, a float64) {
	src = src[:len(dst)]
	for j, v := range src {
		dst[j] = v * a
	}
}

// combineGo32 adds the partials in a fixed tree: partial k with partial
// k + n/2 for k < n/2, halving n until one value is left.
func combineGo32(acc *[partials32]float32) float32 {
	for n := partials32 / 2; n >= 1; n /= 2 {
		for k := range n {
			acc[k] += acc[k+n]
		}
	}
	return acc[0]
}

func combineGo64(acc *[partials64]float64) float64 {
	for n := partials64 / 2; n >= 1; n /= 2 {
		for k := range n {
			acc[k] += acc[k+n]
		}
	}
	return acc[0]
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
