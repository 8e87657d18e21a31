package core

import "math"

// Softmax sets dst to exp(x - m) / sum_c exp(x_c - m) along the class axis
// of shape, with m the maximum over that axis. dst may be x itself.
//
// Special cases are:
//
//	class axis all -Inf   NaN along that axis
//	NaN or +Inf present   NaN along that axis
func Softmax[T Float](dst, x []T, shape Shape) error {
	if err := checkUnary(dst, x, shape); err != nil {
		return err
	}
	forEachRow(rowSoftmax, dst, x, nil, shape)
	return nil
}

// LogSoftmax sets dst to (x - m) - log(sum_c exp(x_c - m)) along the class
// axis of shape. dst may be x itself.
//
// Special cases are:
//
//	x_c = -Inf, others finite   -Inf at c
//	class axis all -Inf         NaN along that axis
//	NaN or +Inf present         NaN along that axis
func LogSoftmax[T Float](dst, x []T, shape Shape) error {
	if err := checkUnary(dst, x, shape); err != nil {
		return err
	}
	forEachRow(rowLogSoftmax, dst, x, nil, shape)
	return nil
}

// SoftmaxBackward sets dst to y * (dy - sum_c dy_c*y_c) along the class axis,
// the gradient through y = Softmax(x). dst may be y or dy itself.
func SoftmaxBackward[T Float](dst, y, dy []T, shape Shape) error {
	if err := checkBinary(dst, y, dy, shape, "y", "dy"); err != nil {
		return err
	}
	forEachRow(rowSoftmaxBackward, dst, y, dy, shape)
	return nil
}

// LogSoftmaxBackward sets dst to dy - exp(y) * sum_c dy_c along the class
// axis, the gradient through y = LogSoftmax(x). dst may be y or dy itself.
func LogSoftmaxBackward[T Float](dst, y, dy []T, shape Shape) error {
	if err := checkBinary(dst, y, dy, shape, "y", "dy"); err != nil {
		return err
	}
	forEachRow(rowLogSoftmaxBackward, dst, y, dy, shape)
	return nil
}

// rowOp names the row function of Softmax, LogSoftmax or their backward
// functions. forEachRow takes it instead of a func value: a closure in a
// generic function captures its type dictionary, and one shared with the
// worker goroutines would be allocated on every call.
type rowOp int

const (
	rowSoftmax rowOp = iota
	rowLogSoftmax
	rowSoftmaxBackward
	rowLogSoftmaxBackward
)

// applyRow runs op on one contiguous row: y = op(x) for the forward
// functions, dx = op(y, dy) for the backward ones. The output may be an
// input itself.
func applyRow[T Float](op rowOp, out, a, b []T) {
	switch op {
	case rowSoftmax:
		softmaxRow(out, a)
	case rowLogSoftmax:
		logSoftmaxRow(out, a)
	case rowSoftmaxBackward:
		softmaxBackwardRow(out, a, b)
	case rowLogSoftmaxBackward:
		logSoftmaxBackwardRow(out, a, b)
	}
}

func softmaxRow[T Float](y, x []T) {
	s := rowExpSum(y, x, rowMax(x), rowAddr(x))
	rowScale(y, y, T(1/s), rowAddr(x), false)
}

func logSoftmaxRow[T Float](y, x []T) {
	m := rowMax(x)
	logS := T(math.Log(rowExpSum(nil, x, m, rowAddr(x))))
	for j, v := range x {
		y[j] = (v - m) - logS
	}
}

func softmaxBackwardRow[T Float](dx, y, dy []T) {
	var dot compensatedSum
	for j := range y {
		dot.add(float64(dy[j]) * float64(y[j]))
	}
	d := dot.value()
	for j := range y {
		dx[j] = T(float64(y[j]) * (float64(dy[j]) - d))
	}
}

func logSoftmaxBackwardRow[T Float](dx, y, dy []T) {
	var total compensatedSum
	for _, v := range dy {
		total.add(float64(v))
	}
	t := total.value()
	// For log-softmax output, y <= 0 and exp(y) <= 1, so the compensated
	// sum's error stays within the size of the dy terms. A y above 0 (not
	// a log-softmax value) multiplies that error, and an infinite one turns
	// a sum that should be 1 but came out 0 into NaN: the sum is then exact.
	for _, v := range y {
		if v > 0 {
			t = exactSum(dy)
			break
		}
	}
	for j := range y {
		dx[j] = T(float64(dy[j]) - math.Exp(float64(y[j]))*t)
	}
}

func checkUnary[T Float](dst, x []T, shape Shape) error {
	_, elements, err := shape.check()
	if err != nil {
		return err
	}
	if len(x) != elements {
		return shapeError("x has %d elements, want outer %d * classes %d * inner %d = %d",
			len(x), shape.Outer, shape.Classes, shape.Inner, elements)
	}
	if len(dst) != elements {
		return shapeError("output has %d elements, want %d like x", len(dst), elements)
	}
	out := spanOf("output", dst)
	out.alias = "x"
	return checkOverlap([]span{out}, []span{spanOf("x", x)})
}

func checkBinary[T Float](dst, a, b []T, shape Shape, nameA, nameB string) error {
	_, elements, err := shape.check()
	if err != nil {
		return err
	}
	for _, in := range []struct {
		name string
		n    int
	}{{nameA, len(a)}, {nameB, len(b)}, {"output", len(dst)}} {
		if in.n != elements {
			return shapeError("%s has %d elements, want outer %d * classes %d * inner %d = %d",
				in.name, in.n, shape.Outer, shape.Classes, shape.Inner, elements)
		}
	}
	out := spanOf("output", dst)
	spanA, spanB := spanOf(nameA, a), spanOf(nameB, b)
	// The output may be either input exactly: check it against each alone.
	out.alias = nameA
	if err := checkOverlap([]span{out}, []span{spanA}); err != nil {
		return err
	}
	out.alias = nameB
	return checkOverlap([]span{out}, []span{spanB})
}

// forEachRow runs op on each position's class axis of dst, a and b (nil
// for the forward functions), gathering strided layouts into contiguous
// scratch rows. Positions run on up to NumThreads threads.
func forEachRow[T Float](op rowOp, dst, a, b []T, s Shape) {
	runRows(op, dst, a, b, s)
}

// exactSum returns the sum of x rounded once to float64, or the plain sum
// when x holds an infinity or NaN or the sum overflows. It keeps the
// running sum as a list of nonoverlapping partial sums that add up to it
// exactly (Shewchuk's method, as Python's math.fsum). Each partial is below
// half an ulp of the next, and float64 values span about 2100 bits, so about
// 40 partials suffice. Past 64 it returns the plain sum.
func exactSum[T Float](x []T) float64 {
	plain := 0.0
	for _, v := range x {
		plain += float64(v)
	}
	if plain-plain != 0 { // an infinity or NaN, or an overflow
		return plain
	}

	var partials [64]float64
	n := 0
	for _, v := range x {
		f := float64(v)
		i := 0
		for _, p := range partials[:n] {
			if math.Abs(f) < math.Abs(p) {
				f, p = p, f
			}
			hi := f + p
			if math.IsInf(hi, 0) {
				return plain // an intermediate overflow
			}
			lo := p - (hi - f)
			if lo != 0 {
				partials[i] = lo
				i++
			}
			f = hi
		}
		if i == len(partials) {
			return plain
		}
		partials[i] = f
		n = i + 1
	}
	if n == 0 {
		return 0
	}

	// Add the partials from the largest down until the rest is below half
	// an ulp of the total, then correct a tie that the rest breaks.
	n--
	hi, lo := partials[n], 0.0
	for n > 0 {
		x, y := hi, partials[n-1]
		n--
		hi = x + y
		lo = y - (hi - x)
		if lo != 0 {
			break
		}
	}
	if n > 0 && (lo < 0 && partials[n-1] < 0 || lo > 0 && partials[n-1] > 0) {
		y := 2 * lo
		if x := hi + y; x-hi == y {
			hi = x
		}
	}
	return hi
}
