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

// rowStatsAVX2F32 is rowStatsAVX512F32 for AVX2 and FMA.
//
//go:noescape
func rowStatsAVX2F32(dst, x []float32, c int, ys []int32, m []float32, s, rest []float64,
	split []bool) (done int)

// rowStatsAVX2F64 is rowStatsAVX512F64 for AVX2 and FMA.
//
//go:noescape
func rowStatsAVX2F64(dst, x []float64, c int, ys []int32, m []float64, s, rest []float64,
	split []bool) (done int)

//go:noescape
func scaleRowsAVX2F32(dst, src []float32, c int, f []float32)

//go:noescape
func scaleRowsAVX2F64(dst, src []float64, c int, f []float64)

// rowLaneMask32 and rowLaneMask64 are the lane masks of the AVX2 batch
// kernels: 64 int32 (32 int64) of -1 followed by as many zeros. The 8
// vectors of 32 bytes from rowLaneMask32[64-k:] (rowLaneMask64[32-k:])
// select the lanes [0, k) of a float32 (float64) row, for 0 <= k <= 64 (32).
var (
	rowLaneMask32 = func() (t [128]int32) {
		for i := range smallRowMax32 {
			t[i] = -1
		}
		return t
	}()
	rowLaneMask64 = func() (t [64]int64) {
		for i := range smallRowMax64 {
			t[i] = -1
		}
		return t
	}()
)

func rowStatsKernel32(dst, x []float32, c int, ys []int32, m []float32, s, rest []float64,
	split []bool) int {
	switch activeKernel {
	case kernelAVX512:
		return rowStatsAVX512F32(dst, x, c, ys, m, s, rest, split)
	case kernelAVX2:
		return rowStatsAVX2F32(dst, x, c, ys, m, s, rest, split)
	}
	return rowStatsLoop(dst, x, c, ys, m, s, rest, split)
}

func rowStatsKernel64(dst, x []float64, c int, ys []int32, m []float64, s, rest []float64,
	split []bool) int {
	switch activeKernel {
	case kernelAVX512:
		return rowStatsAVX512F64(dst, x, c, ys, m, s, rest, split)
	case kernelAVX2:
		return rowStatsAVX2F64(dst, x, c, ys, m, s, rest, split)
	}
	return rowStatsLoop(dst, x, c, ys, m, s, rest, split)
}

func scaleRowsKernel32(dst, src []float32, c int, f []float32) {
	switch activeKernel {
	case kernelAVX512:
		scaleRowsAVX512F32(dst, src, c, f)
		return
	case kernelAVX2:
		scaleRowsAVX2F32(dst, src, c, f)
		return
	}
	scaleRowsLoop(dst, src, c, f)
}

func scaleRowsKernel64(dst, src []float64, c int, f []float64) {
	switch activeKernel {
	case kernelAVX512:
		scaleRowsAVX512F64(dst, src, c, f)
		return
	case kernelAVX2:
		scaleRowsAVX2F64(dst, src, c, f)
		return
	}
	scaleRowsLoop(dst, src, c, f)
}
