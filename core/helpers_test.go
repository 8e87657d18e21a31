package core_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/softmaxce/softmaxce/core"
)

// Tolerances of results against the float64 reference, relative to the
// reference's scale of each element (the size of the terms that form it,
// times the magnitude of the row's logits where rounding depends on it).
// The largest errors measured on these tests were 1.7 units of 2^-24 for
// float32 (1.0e-7, LogSoftmax) and 13 units of 2^-53 for float64 (1.4e-15,
// SoftmaxBackward over 1000 classes), so both tolerances leave a margin of
// about 10.
const (
	tolFloat32 = 1e-6
	tolFloat64 = 1.5e-14
)

// tolerance returns the tolerance of element type T.
func tolerance[T core.Float]() float64 {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return tolFloat32
	}
	return tolFloat64
}

// minNormal returns the smallest normal value of T.
func minNormal[T core.Float]() float64 {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return 0x1p-126
	}
	return 0x1p-1022
}

// typeName returns "f32/int32" and the like for failure messages.
func typeName[T core.Float, L core.Label]() string {
	var x T
	var y L
	return fmt.Sprintf("%s/%s", floatName(x), labelName(y))
}

func floatName[T core.Float](x T) string {
	if _, ok := any(x).(float32); ok {
		return "f32"
	}
	return "f64"
}

func labelName[L core.Label](y L) string {
	if _, ok := any(y).(int32); ok {
		return "int32"
	}
	return "int64"
}

// sentinel returns a quiet NaN with a payload no kernel produces. Outputs
// are filled with it before a call, so an element that was not written, or
// written on an error path, is found by comparing bits.
func sentinel[T core.Float]() T {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return T(math.Float32frombits(0x7fc0_5ce1))
	}
	return T(math.Float64frombits(0x7ff8_0000_5ce1_5ce1))
}

func bits[T core.Float](v T) uint64 {
	switch v := any(v).(type) {
	case float32:
		return uint64(math.Float32bits(v))
	case float64:
		return math.Float64bits(v)
	}
	panic("unreachable")
}

func filled[T core.Float](n int, v T) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func toFloat64[T core.Float](x []T) []float64 {
	if x == nil {
		return nil
	}
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func convertFloats[T core.Float](x []float64) []T {
	if x == nil {
		return nil
	}
	out := make([]T, len(x))
	for i, v := range x {
		out[i] = T(v)
	}
	return out
}

func toInt64[L core.Label](y []L) []int64 {
	out := make([]int64, len(y))
	for i, v := range y {
		out[i] = int64(v)
	}
	return out
}

func convertLabels[L core.Label](y []int64) []L {
	out := make([]L, len(y))
	for i, v := range y {
		out[i] = L(v)
	}
	return out
}

func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x50f7_3ace))
}

// randomLogits returns logits of shape s: each position gets an offset in
// [-20, 20) plus normal values of standard deviation 3, so rows are neither
// centred nor all of the same magnitude.
func randomLogits[T core.Float](r *rand.Rand, s core.Shape) []T {
	return randomLogitsSpread[T](r, s, 3)
}

// randomLogitsSpread is randomLogits with normal values of standard
// deviation spread.
func randomLogitsSpread[T core.Float](r *rand.Rand, s core.Shape, spread float64) []T {
	x := make([]T, s.Outer*s.Classes*s.Inner)
	for o := 0; o < s.Outer; o++ {
		for i := 0; i < s.Inner; i++ {
			offset := 40*r.Float64() - 20
			for c := 0; c < s.Classes; c++ {
				x[refIndex(s, o, c, i)] = T(offset + spread*r.NormFloat64())
			}
		}
	}
	return x
}

func randomLabels(r *rand.Rand, positions, classes int) []int64 {
	y := make([]int64, positions)
	for i := range y {
		y[i] = int64(r.IntN(classes))
	}
	return y
}

// randomWeights returns class weights in [0.25, 2.25), with class 1 (when
// there is one) weighted 0.
func randomWeights(r *rand.Rand, classes int) []float64 {
	w := make([]float64, classes)
	for c := range w {
		w[c] = 0.25 + 2*r.Float64()
	}
	if classes > 1 {
		w[1] = 0
	}
	return w
}

func randomValues(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = 3*r.Float64() - 1.5
	}
	return v
}

// assertSameBits checks that got and want are identical bit for bit, NaN
// payloads included. It is the strictest comparison.
func assertSameBits[T core.Float](t *testing.T, call, buffer string, got, want []T) bool {
	t.Helper()
	if !assert.Lenf(t, got, len(want), "%s %s length", call, buffer) {
		return false
	}
	bad, first := 0, -1
	for i := range got {
		if bits(got[i]) != bits(want[i]) {
			if first < 0 {
				first = i
			}
			bad++
		}
	}
	if bad == 0 {
		return true
	}
	return assert.Failf(t, "results differ in bits",
		"%s %s[%d] = %v (%#x), want %v (%#x); %d of %d elements differ",
		call, buffer, first, got[first], bits(got[first]), want[first], bits(want[first]),
		bad, len(got))
}

// assertWithinScale checks |got - want| <= tol*scale + floor for each
// element, with NaN matching NaN and infinities matching exactly. The floor
// is minNormal(T) times 1 + the largest scale: the kernels flush an
// exponential below the smallest normal number to 0, and the gradient
// multiplies it by up to that scale. It reports the element with the
// largest error relative to its allowance.
func assertWithinScale[T core.Float](t *testing.T, call, buffer string, got []T,
	want, scale []float64, tol float64) bool {
	t.Helper()
	if !assert.Lenf(t, got, len(want), "%s %s length", call, buffer) {
		return false
	}
	maxScale := 0.0
	for _, v := range scale {
		maxScale = max(maxScale, v)
	}
	floor := minNormal[T]() * (1 + maxScale)
	bad, worst, worstRatio := 0, -1, 0.0
	for i := range got {
		g, w := float64(got[i]), want[i]
		allowed := tol*scale[i] + floor
		var ratio float64
		switch {
		case math.IsNaN(w) || math.IsNaN(g):
			if math.IsNaN(w) == math.IsNaN(g) {
				continue
			}
			ratio = math.Inf(1)
		case math.IsInf(w, 0) || math.IsInf(g, 0):
			if g == w {
				continue
			}
			ratio = math.Inf(1)
		default:
			ratio = math.Abs(g-w) / allowed
			if ratio <= 1 {
				continue
			}
		}
		bad++
		if worst < 0 || ratio > worstRatio {
			worst, worstRatio = i, ratio
		}
	}
	if bad == 0 {
		return true
	}
	i := worst
	return assert.Failf(t, "result outside tolerance",
		"%s %s[%d] = %v, want %v (error %.3g, allowed %.3g = %g * scale %.3g + %.3g); "+
			"%d of %d elements outside tolerance",
		call, buffer, i, got[i], want[i], math.Abs(float64(got[i])-want[i]),
		tol*scale[i]+floor, tol, scale[i], floor, bad, len(got))
}

// guarded is a buffer with a region of n elements in its middle. Every
// element starts as the sentinel, so checkGuards finds a write to the
// elements around the region, the guards.
type guarded[T core.Float] struct {
	whole []T
	n     int
}

const guardLength = 19

func newGuarded[T core.Float](n int) guarded[T] {
	return guarded[T]{whole: filled(n+2*guardLength, sentinel[T]()), n: n}
}

// slice returns the region under test, with its capacity cut at its end so
// that even an append cannot reach the trailing guard.
func (g guarded[T]) slice() []T {
	return g.whole[guardLength : guardLength+g.n : guardLength+g.n]
}

func (g guarded[T]) checkGuards(t *testing.T, call, buffer string) bool {
	t.Helper()
	ok := true
	for i, v := range g.whole {
		if i >= guardLength && i < guardLength+g.n {
			continue
		}
		if bits(v) != bits(sentinel[T]()) {
			ok = assert.Failf(t, "write outside the output",
				"%s wrote %v into the guard at %s[%d] (output length %d)",
				call, v, buffer, i-guardLength, g.n)
			break
		}
	}
	return ok
}

func optionsString(opt core.Options) string {
	s := fmt.Sprintf("reduction=%v", opt.Reduction)
	if opt.Reduction == core.ReductionMean {
		s += fmt.Sprintf(" mean_by=%d", opt.MeanBy)
	}
	if opt.HasIgnoreIndex {
		s += fmt.Sprintf(" ignore_index=%d", opt.IgnoreIndex)
	}
	if opt.LabelSmoothing != 0 {
		s += fmt.Sprintf(" label_smoothing=%g", opt.LabelSmoothing)
	}
	if opt.ZLoss != 0 {
		s += fmt.Sprintf(" z_loss=%g", opt.ZLoss)
	}
	return s
}

func shapeString(s core.Shape) string {
	return fmt.Sprintf("%dx%dx%d", s.Outer, s.Classes, s.Inner)
}
