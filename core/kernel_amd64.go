//go:build !purego

package core

// Assembly row kernels (kernel32_amd64.s, kernel64_amd64.s). Each is
// equivalent to the pure-Go kernel of the same name in kernel.go, bit for
// bit except for NaN payloads, and handles one chunk of at most
// chunkElements elements. The streaming kernels do not fence their
// non-temporal stores (see rowScale).

//go:noescape
func maxAVX512F32(x []float32) float32

//go:noescape
func expSumAVX512F32(dst, x []float32, m float32, acc *[partials32]float32, pf uintptr, fresh bool)

//go:noescape
func scaleAVX512F32(dst, src []float32, a float32, pf uintptr, stream bool)

// maxAVX2F32 needs len(x) to be a multiple of 8.
//
//go:noescape
func maxAVX2F32(x []float32) float32

//go:noescape
func expSumAVX2F32(dst, x []float32, m float32, acc *[partials32]float32, pf uintptr, fresh bool)

//go:noescape
func scaleAVX2F32(dst, src []float32, a float32, pf uintptr, stream bool)

//go:noescape
func maxAVX512F64(x []float64) float64

//go:noescape
func expSumAVX512F64(dst, x []float64, m float64, acc *[partials64]float64, pf uintptr, fresh bool)

//go:noescape
func scaleAVX512F64(dst, src []float64, a float64, pf uintptr, stream bool)

// maxAVX2F64 needs len(x) to be a multiple of 4.
//
//go:noescape
func maxAVX2F64(x []float64) float64

//go:noescape
func expSumAVX2F64(dst, x []float64, m float64, acc *[partials64]float64, pf uintptr, fresh bool)

//go:noescape
func scaleAVX2F64(dst, src []float64, a float64, pf uintptr, stream bool)

//go:noescape
func combineAVX512F32(acc *[partials32]float32) float32

//go:noescape
func combineAVX2F32(acc *[partials32]float32) float32

//go:noescape
func combineAVX512F64(acc *[partials64]float64) float64

//go:noescape
func combineAVX2F64(acc *[partials64]float64) float64

func maxKernel32(x []float32) float32 {
	switch activeKernel {
	case kernelAVX512:
		return maxAVX512F32(x)
	case kernelAVX2:
		n := len(x) &^ 7
		return max(maxAVX2F32(x[:n]), maxGo32(x[n:]))
	}
	return maxGo32(x)
}

func maxKernel64(x []float64) float64 {
	switch activeKernel {
	case kernelAVX512:
		return maxAVX512F64(x)
	case kernelAVX2:
		n := len(x) &^ 3
		return max(maxAVX2F64(x[:n]), maxGo64(x[n:]))
	}
	return maxGo64(x)
}

func expSumKernel32(dst, x []float32, m float32, acc *[partials32]float32, pf uintptr, fresh bool) {
	switch activeKernel {
	case kernelAVX512:
		expSumAVX512F32(dst, x, m, acc, pf, fresh)
	case kernelAVX2:
		expSumAVX2F32(dst, x, m, acc, pf, fresh)
	default:
		expSumGo32(dst, x, m, acc, fresh)
	}
}

func expSumKernel64(dst, x []float64, m float64, acc *[partials64]float64, pf uintptr, fresh bool) {
	switch activeKernel {
	case kernelAVX512:
		expSumAVX512F64(dst, x, m, acc, pf, fresh)
	case kernelAVX2:
		expSumAVX2F64(dst, x, m, acc, pf, fresh)
	default:
		expSumGo64(dst, x, m, acc, fresh)
	}
}

// expSumStreamKernel32 runs the streaming variant of the active kernel;
// the pure-Go kernel scales and then computes the exponentials.
func expSumStreamKernel32(dst, x []float32, m float32, acc *[partials32]float32, pf uintptr,
	fresh bool, sdst, ssrc []float32, a float32) {
	switch activeKernel {
	case kernelAVX512:
		expSumStreamAVX512F32(dst, x, m, acc, pf, fresh, sdst, ssrc, a)
	case kernelAVX2:
		expSumStreamAVX2F32(dst, x, m, acc, pf, fresh, sdst, ssrc, a)
	default:
		scaleGo32(sdst, ssrc, a)
		expSumGo32(dst, x, m, acc, fresh)
	}
}

// expSumStreamKernel64 is expSumStreamKernel32 for float64.
func expSumStreamKernel64(dst, x []float64, m float64, acc *[partials64]float64, pf uintptr,
	fresh bool, sdst, ssrc []float64, a float64) {
	switch activeKernel {
	case kernelAVX512:
		expSumStreamAVX512F64(dst, x, m, acc, pf, fresh, sdst, ssrc, a)
	case kernelAVX2:
		expSumStreamAVX2F64(dst, x, m, acc, pf, fresh, sdst, ssrc, a)
	default:
		scaleGo64(sdst, ssrc, a)
		expSumGo64(dst, x, m, acc, fresh)
	}
}

func combineKernel32(acc *[partials32]float32) float32 {
	switch activeKernel {
	case kernelAVX512:
		return combineAVX512F32(acc)
	case kernelAVX2:
		return combineAVX2F32(acc)
	}
	return combineGo32(acc)
}

func combineKernel64(acc *[partials64]float64) float64 {
	switch activeKernel {
	case kernelAVX512:
		return combineAVX512F64(acc)
	case kernelAVX2:
		return combineAVX2F64(acc)
	}
	return combineGo64(acc)
}

func scaleKernel32(dst, src []float32, a float32, pf uintptr, stream bool) {
	switch activeKernel {
	case kernelAVX512:
		scaleAVX512F32(dst, src, a, pf, stream)
	case kernelAVX2:
		scaleAVX2F32(dst, src, a, pf, stream)
	default:
		scaleGo32(dst, src, a)
	}
}

func scaleKernel64(dst, src []float64, a float64, pf uintptr, stream bool) {
	switch activeKernel {
	case kernelAVX512:
		scaleAVX512F64(dst, src, a, pf, stream)
	case kernelAVX2:
		scaleAVX2F64(dst, src, a, pf, stream)
	default:
		scaleGo64(dst, src, a)
	}
}

// Constants of exp32 and exp64 for the assembly kernels, one per row of 8
// float32 or 4 float64 lanes (32 bytes, one AVX2 register). The AVX-512
// kernels broadcast lane 0. The row order is fixed by the C32_* and C64_*
// offsets in the assembly files.
var (
	exp32Consts = [...][8]float32{
		splat8(expLo32), splat8(log2e32), splat8(magic32), splat8(-ln2Hi32),
		splat8(-ln2Lo32), splat8(exp32C6), splat8(exp32C5), splat8(exp32C4),
		splat8(exp32C3), splat8(exp32C2), splat8(1), splat8(minNorm32),
	}
	exp64Consts = [...][4]float64{
		splat4(expLo64), splat4(log2e64), splat4(magic64), splat4(-ln2Hi64),
		splat4(-ln2Lo64), splat4(exp64C11), splat4(exp64C10), splat4(exp64C9),
		splat4(exp64C8), splat4(exp64C7), splat4(exp64C6), splat4(exp64C5),
		splat4(exp64C4), splat4(exp64C3), splat4(exp64C2), splat4(1),
		splat4(minNorm64),
	}
)

func splat8(c float32) [8]float32 { return [8]float32{c, c, c, c, c, c, c, c} }

func splat4(c float64) [4]float64 { return [4]float64{c, c, c, c} }

// Tail masks. tailMask16[k] has the low k bits set (an AVX-512 opmask for
// the first k lanes). Loading 8 int32 (4 int64) from tailMaskAVX2F32[8-k:]
// (tailMaskAVX2F64[4-k:]) gives an AVX2 mask for the first k lanes.
var (
	tailMask16 = [17]uint16{0, 1<<1 - 1, 1<<2 - 1, 1<<3 - 1, 1<<4 - 1, 1<<5 - 1,
		1<<6 - 1, 1<<7 - 1, 1<<8 - 1, 1<<9 - 1, 1<<10 - 1, 1<<11 - 1, 1<<12 - 1,
		1<<13 - 1, 1<<14 - 1, 1<<15 - 1, 1<<16 - 1}
	tailMaskAVX2F32 = [16]int32{-1, -1, -1, -1, -1, -1, -1, -1}
	tailMaskAVX2F64 = [8]int64{-1, -1, -1, -1}
)

//go:noescape
func expSumStreamAVX512F32(dst, x []float32, m float32, acc *[partials32]float32, pf uintptr,
	fresh bool, sdst, ssrc []float32, a float32)

//go:noescape
func expSumStreamAVX512F64(dst, x []float64, m float64, acc *[partials64]float64, pf uintptr,
	fresh bool, sdst, ssrc []float64, a float64)

//go:noescape
func expSumStreamAVX2F32(dst, x []float32, m float32, acc *[partials32]float32, pf uintptr,
	fresh bool, sdst, ssrc []float32, a float32)

//go:noescape
func expSumStreamAVX2F64(dst, x []float64, m float64, acc *[partials64]float64, pf uintptr,
	fresh bool, sdst, ssrc []float64, a float64)

//go:noescape
func storeNTF32(p *float32, v float32)

//go:noescape
func storeNTF64(p *float64, v float64)

func storeFence()

// storeStreamed stores v in g[i], with a non-temporal store where the vector
// kernels stream the rest of g: a plain store to a line just streamed out
// would read the line back from memory first.
func storeStreamed[T Float](g []T, i int, v T) {
	if activeKernel == kernelGo {
		g[i] = v
		return
	}
	switch gs := any(g).(type) {
	case []float32:
		storeNTF32(&gs[i], float32(v))
	case []float64:
		storeNTF64(&gs[i], float64(v))
	}
}
