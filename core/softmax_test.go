package core_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/softmaxce/softmaxce/core"
)

// softmaxShapes are the shapes of the softmax tests: rows, a class count
// past twice the number of partial sums plus a tail, a large vocabulary, and
// strided layouts.
var softmaxShapes = []core.Shape{
	{Outer: 1, Classes: 1, Inner: 1},
	{Outer: 1, Classes: 5, Inner: 1},
	{Outer: 7, Classes: 3, Inner: 1},
	{Outer: 5, Classes: 131, Inner: 1},
	{Outer: 4, Classes: 1000, Inner: 1},
	{Outer: 3, Classes: 7, Inner: 5},
	{Outer: 2, Classes: 70, Inner: 3},
	{Outer: 2, Classes: 1, Inner: 4},
}

// unaryFunc is Softmax or LogSoftmax with its reference.
type unaryFunc[T core.Float] struct {
	name string
	run  func(dst, x []T, s core.Shape) error
	ref  func(x []float64, s core.Shape) (y, scale []float64)
}

func unaryFuncs[T core.Float]() []unaryFunc[T] {
	return []unaryFunc[T]{
		{"Softmax", core.Softmax[T], refSoftmax},
		{"LogSoftmax", core.LogSoftmax[T], refLogSoftmax},
	}
}

// backwardFunc is SoftmaxBackward or LogSoftmaxBackward with its reference
// and the forward function whose output it takes.
type backwardFunc[T core.Float] struct {
	name    string
	run     func(dst, y, dy []T, s core.Shape) error
	ref     func(y, dy []float64, s core.Shape) (dx, scale []float64)
	forward func(x []float64, s core.Shape) (y, scale []float64)
}

func backwardFuncs[T core.Float]() []backwardFunc[T] {
	return []backwardFunc[T]{
		{"SoftmaxBackward", core.SoftmaxBackward[T], refSoftmaxBackward, refSoftmax},
		{"LogSoftmaxBackward", core.LogSoftmaxBackward[T], refLogSoftmaxBackward, refLogSoftmax},
	}
}

func TestSoftmaxMatchesReference(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		t.Run("f32", testSoftmaxReference[float32])
		t.Run("f64", testSoftmaxReference[float64])
	})
}

// testSoftmaxReference compares the forward and backward functions with the
// reference, out of place inside guard regions and in place.
func testSoftmaxReference[T core.Float](t *testing.T) {
	var zero T
	for si, s := range softmaxShapes {
		r := newRand(uint64(500 + si))
		x := randomLogits[T](r, s)
		if si%2 == 1 {
			// Wide rows: exp(x - max) spans its normal range and underflows.
			x = randomLogitsSpread[T](r, s, 30)
		}
		dy := convertFloats[T](randomValues(r, len(x)))
		saved := append([]T(nil), x...)

		for _, f := range unaryFuncs[T]() {
			call := fmt.Sprintf("%s(%s %s)", f.name, floatName(zero), shapeString(s))
			out := newGuarded[T](len(x))
			require.NoErrorf(t, f.run(out.slice(), x, s), "%s", call)
			want, scale := f.ref(toFloat64(x), s)
			assertWithinScale(t, call, "output", out.slice(), want, scale, tolerance[T]())
			out.checkGuards(t, call, "output")
			assertSameBits(t, call, "x after the call", x, saved)

			inPlace := append([]T(nil), x...)
			require.NoErrorf(t, f.run(inPlace, inPlace, s), "%s in place", call)
			assertSameBits(t, call+" in place", "output", inPlace, out.slice())
		}

		for _, f := range backwardFuncs[T]() {
			call := fmt.Sprintf("%s(%s %s)", f.name, floatName(zero), shapeString(s))
			y64, _ := f.forward(toFloat64(x), s)
			y := convertFloats[T](y64)
			savedY, savedDy := append([]T(nil), y...), append([]T(nil), dy...)

			out := newGuarded[T](len(x))
			require.NoErrorf(t, f.run(out.slice(), y, dy, s), "%s", call)
			want, scale := f.ref(toFloat64(y), toFloat64(dy), s)
			assertWithinScale(t, call, "dx", out.slice(), want, scale, tolerance[T]())
			out.checkGuards(t, call, "dx")
			assertSameBits(t, call, "y after the call", y, savedY)
			assertSameBits(t, call, "dy after the call", dy, savedDy)

			overY := append([]T(nil), y...)
			require.NoErrorf(t, f.run(overY, overY, dy, s), "%s with dx = y", call)
			assertSameBits(t, call+" with dx = y", "dx", overY, out.slice())
			overDy := append([]T(nil), dy...)
			require.NoErrorf(t, f.run(overDy, y, overDy, s), "%s with dx = dy", call)
			assertSameBits(t, call+" with dx = dy", "dx", overDy, out.slice())
		}
	}
}

func TestSoftmaxKDimEqualsTransposedBitwise(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		t.Run("f32", testSoftmaxKDimTransposed[float32])
		t.Run("f64", testSoftmaxKDimTransposed[float64])
	})
}

func testSoftmaxKDimTransposed[T core.Float](t *testing.T) {
	var zero T
	for si, s := range softmaxShapes {
		if s.Inner == 1 {
			continue
		}
		r := newRand(uint64(600 + si))
		rows := core.Shape{Outer: s.Outer * s.Inner, Classes: s.Classes, Inner: 1}
		x := randomLogits[T](r, s)
		dy := convertFloats[T](randomValues(r, len(x)))

		for _, f := range unaryFuncs[T]() {
			call := fmt.Sprintf("%s(%s %s)", f.name, floatName(zero), shapeString(s))
			out, rowOut := make([]T, len(x)), make([]T, len(x))
			require.NoError(t, f.run(out, x, s), call)
			require.NoError(t, f.run(rowOut, transposeToRows(x, s), rows), call)
			assertSameBits(t, call, "output transposed", transposeToRows(out, s), rowOut)
		}
		for _, f := range backwardFuncs[T]() {
			call := fmt.Sprintf("%s(%s %s)", f.name, floatName(zero), shapeString(s))
			y64, _ := f.forward(toFloat64(x), s)
			y := convertFloats[T](y64)
			out, rowOut := make([]T, len(x)), make([]T, len(x))
			require.NoError(t, f.run(out, y, dy, s), call)
			require.NoError(t, f.run(rowOut, transposeToRows(y, s), transposeToRows(dy, s), rows),
				call)
			assertSameBits(t, call, "dx transposed", transposeToRows(out, s), rowOut)
		}
	}
}

func TestSoftmaxSpecialCases(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		t.Run("f32", testSoftmaxSpecialCases[float32])
		t.Run("f64", testSoftmaxSpecialCases[float64])
	})
}

// testSoftmaxSpecialCases checks the documented special cases: a class axis
// that is all -Inf, or holds NaN or +Inf, is NaN along that axis only, and
// a -Inf logit among finite ones has probability 0 and log-probability -Inf.
func testSoftmaxSpecialCases[T core.Float](t *testing.T) {
	var zero T
	nan, inf := T(math.NaN()), T(math.Inf(1))
	good := []T{0.5, -1, 3}
	s := core.Shape{Outer: 3, Classes: 3, Inner: 1}
	for _, f := range unaryFuncs[T]() {
		want := make([]T, 3)
		require.NoError(t, f.run(want, good, core.Shape{Outer: 1, Classes: 3, Inner: 1}))
		for _, bad := range [][]T{{-inf, -inf, -inf}, {0, nan, 1}, {0, inf, 1}, {inf, inf, 0}} {
			call := fmt.Sprintf("%s(%s %v between finite rows)", f.name, floatName(zero), bad)
			x := append(append(append([]T(nil), good...), bad...), good...)
			out := filled(9, sentinel[T]())
			require.NoErrorf(t, f.run(out, x, s), "%s", call)
			for j := 3; j < 6; j++ {
				assert.Truef(t, math.IsNaN(float64(out[j])) && bits(out[j]) != bits(sentinel[T]()),
					"%s output[%d] = %v, want NaN", call, j, out[j])
			}
			assertSameBits(t, call, "row 0", out[0:3], want)
			assertSameBits(t, call, "row 2", out[6:9], want)
		}
	}

	x := []T{1, -inf, 2}
	row := core.Shape{Outer: 1, Classes: 3, Inner: 1}
	p, logp := make([]T, 3), make([]T, 3)
	require.NoError(t, core.Softmax(p, x, row))
	require.NoError(t, core.LogSoftmax(logp, x, row))
	assert.Equalf(t, T(0), p[1], "Softmax(%v)[1] = %v, want 0", x, p[1])
	assert.Truef(t, math.IsInf(float64(logp[1]), -1), "LogSoftmax(%v)[1] = %v, want -Inf", x,
		logp[1])
	e := 1 / (1 + math.Exp(1))
	assertWithinScale(t, fmt.Sprintf("Softmax(%v)", x), "output", []T{p[0], p[2]},
		[]float64{e, 1 - e}, []float64{1, 1}, tolerance[T]())

	// Huge equal logits: a uniform distribution, exactly.
	hugeValue := 3e38
	if _, ok := any(zero).(float64); ok {
		hugeValue = 1.7e308
	}
	huge := T(hugeValue)
	require.NoError(t, core.Softmax(p[:2], []T{huge, huge}, core.Shape{Outer: 1, Classes: 2,
		Inner: 1}))
	assertSameBits(t, fmt.Sprintf("Softmax(%s [%v, %v])", floatName(zero), huge, huge),
		"output", p[:2], []T{0.5, 0.5})
	require.NoError(t, core.LogSoftmax(logp[:2], []T{huge, huge}, core.Shape{Outer: 1,
		Classes: 2, Inner: 1}))
	assertSameBits(t, fmt.Sprintf("LogSoftmax(%s [%v, %v])", floatName(zero), huge, huge),
		"output", logp[:2], []T{T(-math.Ln2), T(-math.Ln2)})
}

func TestSoftmaxErrors(t *testing.T) {
	t.Run("f32", testSoftmaxErrors[float32])
	t.Run("f64", testSoftmaxErrors[float64])
}

// testSoftmaxErrors checks shape, length and overlap errors of the forward
// and backward functions, and that the output is untouched after each.
func testSoftmaxErrors[T core.Float](t *testing.T) {
	var zero T
	good := core.Shape{Outer: 2, Classes: 3, Inner: 1}
	shapeCases := []struct {
		shape    core.Shape
		contains string
	}{
		{core.Shape{Outer: 2, Classes: 0, Inner: 1}, "classes 0"},
		{core.Shape{Outer: 2, Classes: -3, Inner: 1}, "classes -3"},
		{core.Shape{Outer: -2, Classes: 3, Inner: 1}, "outer -2"},
		{core.Shape{Outer: 2, Classes: 3, Inner: -1}, "inner -1"},
		{core.Shape{Outer: 1 << 40, Classes: 3, Inner: 1 << 40}, "overflows"},
	}
	lengthCases := []struct {
		name            string
		x, dy, dst      int
		contains        string
		unaryApplicable bool
	}{
		{"x short", 5, 6, 6, "x has 5", true},
		{"x long", 7, 6, 6, "x has 7", true},
		{"output short", 6, 6, 5, "output has 5", true},
		{"dy short", 6, 5, 6, "dy has 5", false},
	}

	for _, f := range unaryFuncs[T]() {
		for _, tc := range shapeCases {
			call := fmt.Sprintf("%s(%s %s)", f.name, floatName(zero), shapeString(tc.shape))
			out := filled(6, sentinel[T]())
			err := f.run(out, make([]T, 6), tc.shape)
			assert.ErrorIsf(t, err, core.ErrInvalidShape, "%s error = %v", call, err)
			assertErrorContains(t, call, err, tc.contains)
			assertSameBits(t, call, "output", out, filled(6, sentinel[T]()))
		}
		for _, tc := range lengthCases {
			if !tc.unaryApplicable {
				continue
			}
			call := fmt.Sprintf("%s(%s, %s)", f.name, floatName(zero), tc.name)
			out := filled(tc.dst, sentinel[T]())
			err := f.run(out, make([]T, tc.x), good)
			assert.ErrorIsf(t, err, core.ErrInvalidShape, "%s error = %v", call, err)
			assertErrorContains(t, call, err, tc.contains)
			assertSameBits(t, call, "output", out, filled(tc.dst, sentinel[T]()))
		}

		// An output shifted by one element over x.
		call := fmt.Sprintf("%s(%s, output overlapping x)", f.name, floatName(zero))
		memory := convertFloats[T](randomValues(newRand(19), 7))
		saved := append([]T(nil), memory...)
		err := f.run(memory[1:7], memory[0:6], good)
		assert.ErrorIsf(t, err, core.ErrOverlap, "%s error = %v", call, err)
		assertErrorContains(t, call, err, "overlaps")
		assertSameBits(t, call, "memory", memory, saved)
	}

	for _, f := range backwardFuncs[T]() {
		for _, tc := range shapeCases {
			call := fmt.Sprintf("%s(%s %s)", f.name, floatName(zero), shapeString(tc.shape))
			out := filled(6, sentinel[T]())
			err := f.run(out, make([]T, 6), make([]T, 6), tc.shape)
			assert.ErrorIsf(t, err, core.ErrInvalidShape, "%s error = %v", call, err)
			assertErrorContains(t, call, err, tc.contains)
			assertSameBits(t, call, "dx", out, filled(6, sentinel[T]()))
		}
		for _, tc := range lengthCases {
			call := fmt.Sprintf("%s(%s, %s)", f.name, floatName(zero), tc.name)
			out := filled(tc.dst, sentinel[T]())
			// The unary cases' x is y here.
			err := f.run(out, make([]T, tc.x), make([]T, tc.dy), good)
			assert.ErrorIsf(t, err, core.ErrInvalidShape, "%s error = %v", call, err)
			want := tc.contains
			if tc.unaryApplicable && tc.name != "output short" {
				want = fmt.Sprintf("y has %d", tc.x)
			}
			assertErrorContains(t, call, err, want)
			assertSameBits(t, call, "dx", out, filled(tc.dst, sentinel[T]()))
		}

		for _, over := range []string{"y", "dy"} {
			call := fmt.Sprintf("%s(%s, dx overlapping %s)", f.name, floatName(zero), over)
			memory := convertFloats[T](randomValues(newRand(23), 13))
			saved := append([]T(nil), memory...)
			y, dy := memory[0:6], memory[7:13]
			var err error
			if over == "y" {
				err = f.run(memory[1:7], y, dy, good)
			} else {
				err = f.run(memory[6:12], y, dy, good)
			}
			assert.ErrorIsf(t, err, core.ErrOverlap, "%s error = %v", call, err)
			assertErrorContains(t, call, err, over)
			assertSameBits(t, call, "memory", memory, saved)
		}
	}
}

func assertErrorContains(t *testing.T, call string, err error, want string) {
	t.Helper()
	if assert.Errorf(t, err, "%s returned no error", call) {
		assert.Containsf(t, err.Error(), want, "%s error message", call)
	}
}
