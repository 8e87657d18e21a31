//go:build !amd64 || purego

package core

// Without assembly the batch kernels for short rows run the pure-Go row
// primitives one row at a time.

func rowStatsKernel32(dst, x []float32, c int, ys []int32, m []float32, s, rest []float64,
	split []bool) int {
	return rowStatsLoop(dst, x, c, ys, m, s, rest, split)
}

func rowStatsKernel64(dst, x []float64, c int, ys []int32, m []float64, s, rest []float64,
	split []bool) int {
	return rowStatsLoop(dst, x, c, ys, m, s, rest, split)
}

func scaleRowsKernel32(dst, src []float32, c int, f []float32) {
	scaleRowsLoop(dst, src, c, f)
}

func scaleRowsKernel64(dst, src []float64, c int, f []float64) {
	scaleRowsLoop(dst, src, c, f)
}
