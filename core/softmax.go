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
	forEachRow(dst, x, shape, func(y, x []T) {
		s := rowExpSum(y, x, rowMax(x))
		rowScale(y, T(1/s))
	})
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
	forEachRow(dst, x, shape, func(y, x []T) {
		m := rowMax(x)
		logS := T(math.Log(rowExpSum(nil, x, m)))
		for j, v := range x {
			y[j] = (v - m) - logS
		}
	})
	return nil
}

// SoftmaxBackward sets dst to y * (dy - sum_c dy_c*y_c) along the class axis,
// the gradient through y = Softmax(x). dst may be y or dy itself.
func SoftmaxBackward[T Float](dst, y, dy []T, shape Shape) error {
	if err := checkBinary(dst, y, dy, shape, "y", "dy"); err != nil {
		return err
	}
	forEachRow2(dst, y, dy, shape, func(dx, y, dy []T) {
		var dot compensatedSum
		for j := range y {
			dot.add(float64(dy[j]) * float64(y[j]))
		}
		d := dot.value()
		for j := range y {
			dx[j] = T(float64(y[j]) * (float64(dy[j]) - d))
		}
	})
	return nil
}

// LogSoftmaxBackward sets dst to dy - exp(y) * sum_c dy_c along the class
// axis, the gradient through y = LogSoftmax(x). dst may be y or dy itself.
func LogSoftmaxBackward[T Float](dst, y, dy []T, shape Shape) error {
	if err := checkBinary(dst, y, dy, shape, "y", "dy"); err != nil {
		return err
	}
	forEachRow2(dst, y, dy, shape, func(dx, y, dy []T) {
		var total compensatedSum
		for _, v := range dy {
			total.add(float64(v))
		}
		t := total.value()
		for j := range y {
			dx[j] = T(float64(dy[j]) - math.Exp(float64(y[j]))*t)
		}
	})
	return nil
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

// forEachRow calls f on each position's class axis of dst and x, gathering
// strided layouts into contiguous scratch rows.
func forEachRow[T Float](dst, x []T, s Shape, f func(y, x []T)) {
	c := s.Classes
	if s.Inner == 1 {
		for o := range s.Outer {
			f(dst[o*c:(o+1)*c], x[o*c:(o+1)*c])
		}
		return
	}
	scratch := getScratch[T](c)
	defer putScratch(scratch)
	row := *scratch
	for o := range s.Outer {
		for i := range s.Inner {
			gather(row, x, s, o, i)
			f(row, row)
			scatter(dst, row, s, o, i)
		}
	}
}

// forEachRow2 is forEachRow with two inputs.
func forEachRow2[T Float](dst, a, b []T, s Shape, f func(dst, a, b []T)) {
	c := s.Classes
	if s.Inner == 1 {
		for o := range s.Outer {
			r := dst[o*c : (o+1)*c]
			f(r, a[o*c:(o+1)*c], b[o*c:(o+1)*c])
		}
		return
	}
	scratch := getScratch[T](3 * c)
	defer putScratch(scratch)
	ra, rb, rd := (*scratch)[:c], (*scratch)[c:2*c], (*scratch)[2*c:]
	for o := range s.Outer {
		for i := range s.Inner {
			gather(ra, a, s, o, i)
			gather(rb, b, s, o, i)
			f(rd, ra, rb)
			scatter(dst, rd, s, o, i)
		}
	}
}
