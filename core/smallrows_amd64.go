//go:build !purego

package core

// Assembly batch kernels for short rows (smallrows_amd64.s). Each handles
// at most chunkElements elements, because the Go scheduler cannot preempt
// an assembly call.

// rowStatsAVX512F32 is rowStatsLoop for float32 rows of 1 <= c <= 64
// classes. It returns the number of rows done: len(ys), or the index of the
// first row whose label is outside [0, c).
//
//go:noescape
func rowStatsAVX512F32(dst, x []float32, c int, ys []int32, m []float32, s, rest []float64,
	split []bool) (done int)

// rowStatsAVX512F64 is rowStatsAVX512F32 for float64 rows of 1 <= c <= 32
// classes.
//
//go:noescape
func rowStatsAVX512F64(dst, x []float64, c int, ys []int32, m []float64, s, rest []float64,
	split []bool) (done int)

//go:noescape
func scaleRowsAVX512F32(dst, src []float32, c int, f []float32)

//go:noescape
func scaleRowsAVX512F64(dst, src []float64, c int, f []float64)

// NOTE: there is no AVX2 batch kernel, so with AVX2 the batch functions run
// the row primitives one row at a time, no faster than a loop over rows.

func rowStatsKernel32(dst, x []float32, c int, ys []int32, m []float32, s, rest []float64,
	split []bool) int {
	if activeKernel == kernelAVX512 {
		return rowStatsAVX512F32(dst, x, c, ys, m, s, rest, split)
	}
	return rowStatsLoop(dst, x, c, ys, m, s, rest, split)
}

func rowStatsKernel64(dst, x []float64, c int, ys []int32, m []float64, s, rest []float64,
	split []bool) int {
	if activeKernel == kernelAVX512 {
		return rowStatsAVX512F64(dst, x, c, ys, m, s, rest, split)
	}
	return rowStatsLoop(dst, x, c, ys, m, s, rest, split)
}

func scaleRowsKernel32(dst, src []float32, c int, f []float32) {
	if activeKernel == kernelAVX512 {
		scaleRowsAVX512F32(dst, src, c, f)
		return
	}
	scaleRowsLoop(dst, src, c, f)
}

func scaleRowsKernel64(dst, src []float64, c int, f []float64) {
	if activeKernel == kernelAVX512 {
		scaleRowsAVX512F64(dst, src, c, f)
		return
	}
	scaleRowsLoop(dst, src, c, f)
}
