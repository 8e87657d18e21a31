package core

import (
	"fmt"
	"math"
)

// Batch kernels for short rows. With a few classes per row, the calls of
// the row primitives (max, exp-sum, combine, scale) cost more than their
// arithmetic, so these kernels take many rows of c classes at once. They
// return the same bits as the row primitives applied one row at a time
// (rowStatsLoop, scaleRowsLoop), on every kernel.

// smallRowMax32 and smallRowMax64 are the largest class counts of the batch
// kernels: one row fits in 4 AVX-512 registers, and each element has a
// partial sum of its own (partials32, partials64).
const (
	smallRowMax32 = 64
	smallRowMax64 = 32
)

// rowStats32 computes, for each row r = x[r*c:(r+1)*c] with label
// y = ys[r], what the sparse cross-entropy needs of the row:
//
//	m[r] = rowMax(row)
//	if row[y] != m[r] or m[r] is ±Inf:
//		s[r] = rowExpSum(row), rest[r] = 0, split[r] = false
//	else:
//		rest[r] = rowExpSum(row[:y]) + rowExpSum(row[y+1:])
//		s[r] = 1 + rest[r], split[r] = true
//
// Each rowExpSum starts fresh partial sums, so the part after y is laid out
// from partial 0. When dst is not nil it receives exp(row[j] - m[r]) for
// every element. dst is nil, x itself, or a separate buffer of len(x).
//
// rows = len(ys), x has rows*c elements, 1 <= c <= smallRowMax32, and m, s,
// rest and split have at least rows elements. rowStats32 panics on other
// lengths and on a label outside [0, c), possibly after writing the rows
// before that label.
func rowStats32(dst, x []float32, c int, ys []int32, m []float32, s, rest []float64,
	split []bool) {
	rows := checkSmallRows("rowStats32", c, smallRowMax32, len(ys), len(x), dst != nil,
		len(dst), len(m), len(s), len(rest), len(split))
	per := chunkElements / c
	for lo := 0; lo < rows; lo += per {
		hi := min(lo+per, rows)
		var d []float32
		if dst != nil {
			d = dst[lo*c : hi*c]
		}
		done := rowStatsKernel32(d, x[lo*c:hi*c], c, ys[lo:hi], m[lo:hi], s[lo:hi],
			rest[lo:hi], split[lo:hi])
		if done < hi-lo {
			panic(labelPanic("rowStats32", lo+done, int64(ys[lo+done]), c))
		}
	}
}

// rowStats64 is rowStats32 for float64 rows of 1 <= c <= smallRowMax64
// classes.
func rowStats64(dst, x []float64, c int, ys []int32, m []float64, s, rest []float64,
	split []bool) {
	rows := checkSmallRows("rowStats64", c, smallRowMax64, len(ys), len(x), dst != nil,
		len(dst), len(m), len(s), len(rest), len(split))
	per := chunkElements / c
	for lo := 0; lo < rows; lo += per {
		hi := min(lo+per, rows)
		var d []float64
		if dst != nil {
			d = dst[lo*c : hi*c]
		}
		done := rowStatsKernel64(d, x[lo*c:hi*c], c, ys[lo:hi], m[lo:hi], s[lo:hi],
			rest[lo:hi], split[lo:hi])
		if done < hi-lo {
			panic(labelPanic("rowStats64", lo+done, int64(ys[lo+done]), c))
		}
	}
}

// scaleRows32 stores src[r*c+j] * f[r] in dst[r*c+j] for rows = len(f);
// dst may be src itself. dst and src have rows*c elements and
// 1 <= c <= smallRowMax32, or scaleRows32 panics.
func scaleRows32(dst, src []float32, c int, f []float32) {
	checkScaleRows("scaleRows32", c, smallRowMax32, len(f), len(dst), len(src))
	per := chunkElements / c
	for lo := 0; lo < len(f); lo += per {
		hi := min(lo+per, len(f))
		scaleRowsKernel32(dst[lo*c:hi*c], src[lo*c:hi*c], c, f[lo:hi])
	}
}

// scaleRows64 is scaleRows32 for float64 rows of 1 <= c <= smallRowMax64
// classes.
func scaleRows64(dst, src []float64, c int, f []float64) {
	checkScaleRows("scaleRows64", c, smallRowMax64, len(f), len(dst), len(src))
	per := chunkElements / c
	for lo := 0; lo < len(f); lo += per {
		hi := min(lo+per, len(f))
		scaleRowsKernel64(dst[lo*c:hi*c], src[lo*c:hi*c], c, f[lo:hi])
	}
}

// checkSmallRows panics unless the arguments of rowStats32 or rowStats64
// fit together, and returns the number of rows.
func checkSmallRows(name string, c, maxC, rows, xLen int, hasDst bool, dstLen int,
	outLens ...int) int {
	if c < 1 || c > maxC {
		panic(fmt.Sprintf("core: %s: c = %d classes, want 1 to %d", name, c, maxC))
	}
	if xLen != rows*c {
		panic(fmt.Sprintf("core: %s: x has %d elements, want rows %d * c %d = %d",
			name, xLen, rows, c, rows*c))
	}
	if hasDst && dstLen != xLen {
		panic(fmt.Sprintf("core: %s: dst has %d elements, want %d like x (or nil)",
			name, dstLen, xLen))
	}
	for _, n := range outLens {
		if n < rows {
			panic(fmt.Sprintf("core: %s: an output has %d elements, want at least rows %d",
				name, n, rows))
		}
	}
	return rows
}

func checkScaleRows(name string, c, maxC, rows, dstLen, srcLen int) {
	if c < 1 || c > maxC {
		panic(fmt.Sprintf("core: %s: c = %d classes, want 1 to %d", name, c, maxC))
	}
	if dstLen != rows*c || srcLen != rows*c {
		panic(fmt.Sprintf("core: %s: dst has %d and src %d elements, want rows %d * c %d = %d",
			name, dstLen, srcLen, rows, c, rows*c))
	}
}

func labelPanic(name string, row int, label int64, c int) string {
	return fmt.Sprintf("core: %s: label %d of row %d is outside [0, %d)", name, label, row, c)
}

// rowStatsLoop is rowStats32 and rowStats64 one row at a time with the row
// primitives of kernel.go, which makes it the reference when activeKernel is
// kernelGo. It returns the number of rows done: len(ys), or the index of the
// first row whose label is outside [0, c).
func rowStatsLoop[T Float](dst, x []T, c int, ys []int32, m []T, s, rest []float64,
	split []bool) int {
	for r, label := range ys {
		y := int(label)
		if y < 0 || y >= c {
			return r
		}
		row := x[r*c : (r+1)*c]
		var d []T
		if dst != nil {
			d = dst[r*c : (r+1)*c]
		}
		pf := rowAddr(row)

		mr := rowMax(row)
		m[r] = mr
		if row[y] != mr || math.IsInf(float64(mr), 0) {
			s[r], rest[r], split[r] = rowExpSum(d, row, mr, pf), 0, false
			continue
		}

		// Each of the three sums stores only over the elements it has read,
		// so d may be row itself.
		var before, atLabel, after []T
		if d != nil {
			before, atLabel, after = d[:y], d[y:y+1], d[y+1:]
		}
		rest[r] = rowExpSum(before, row[:y], mr, pf) + rowExpSum(after, row[y+1:], mr, pf)
		rowExpSum(atLabel, row[y:y+1], mr, pf)
		s[r], split[r] = 1+rest[r], true
	}
	return len(ys)
}

// scaleRowsLoop is scaleRows32 and scaleRows64 one row at a time with
// rowScale, the reference when activeKernel is kernelGo.
func scaleRowsLoop[T Float](dst, src []T, c int, f []T) {
	for r, a := range f {
		row := src[r*c : (r+1)*c]
		rowScale(dst[r*c:(r+1)*c], row, a, rowAddr(row), false)
	}
}
